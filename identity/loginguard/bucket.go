package loginguard

import (
	"container/list"
	"math"
	"time"
)

// buckets is a table of token buckets, one per key, holding at most max
// keys: the least recently touched key is forgotten first. A forgotten key
// is the same as a full bucket, so eviction can only ever be generous,
// never lock anyone out.
type buckets struct {
	burst float64 // tokens a full bucket holds
	rate  float64 // tokens added per second
	max   int
	lru   *list.List // of *entry, most recent at the front
	keys  map[string]*list.Element
}

type entry struct {
	key    string
	tokens float64
	at     time.Time
}

// newBuckets returns a table of buckets holding perMinute tokens, refilled
// at perMinute a minute, or nil (no limit) when perMinute < 0.
func newBuckets(perMinute, max int) *buckets {
	if perMinute < 0 {
		return nil
	}
	return &buckets{burst: float64(perMinute), rate: float64(perMinute) / 60, max: max,
		lru: list.New(), keys: make(map[string]*list.Element)}
}

// suspicionMemory is how many failures a source's suspicion counts at
// most, and suspicionForgive how long it takes to forget one.
const (
	suspicionMemory  = 100
	suspicionForgive = 10 * time.Minute
)

// newSuspicion returns a table counting each source's failures, forgetting
// one every suspicionForgive: slow enough that a flood's sources stay
// suspects between the failures their limit lets through.
func newSuspicion(max int) *buckets {
	return &buckets{burst: suspicionMemory, rate: 1 / suspicionForgive.Seconds(), max: max,
		lru: list.New(), keys: make(map[string]*list.Element)}
}

// deficit returns how many tokens key's bucket lacks, rounded up.
func (b *buckets) deficit(key string, now time.Time) int {
	return int(math.Ceil(b.burst - b.level(key, now) - 1e-9))
}

// level returns the tokens key's bucket holds at now, without creating it.
func (b *buckets) level(key string, now time.Time) float64 {
	el, ok := b.keys[key]
	if !ok {
		return b.burst
	}
	e := el.Value.(*entry)
	return min(b.burst, e.tokens+now.Sub(e.at).Seconds()*b.rate)
}

// wait returns how long until key's bucket holds a whole token; 0 when it
// does now.
func (b *buckets) wait(key string, now time.Time) time.Duration {
	lvl := b.level(key, now)
	if lvl >= 1 {
		return 0
	}
	if b.rate == 0 {
		return time.Hour
	}
	return time.Duration(math.Ceil((1 - lvl) / b.rate * float64(time.Second)))
}

// add changes key's bucket by delta tokens (negative to take), never above
// a full bucket; a full bucket is dropped, since absent means full.
func (b *buckets) add(key string, delta float64, now time.Time) {
	lvl := min(b.burst, b.level(key, now)+delta)
	el, ok := b.keys[key]
	if lvl >= b.burst {
		if ok {
			b.lru.Remove(el)
			delete(b.keys, key)
		}
		return
	}
	if ok {
		e := el.Value.(*entry)
		e.tokens, e.at = lvl, now
		b.lru.MoveToFront(el)
		return
	}
	b.keys[key] = b.lru.PushFront(&entry{key: key, tokens: lvl, at: now})
	for b.lru.Len() > b.max {
		old := b.lru.Back()
		b.lru.Remove(old)
		delete(b.keys, old.Value.(*entry).key)
	}
}

// len returns how many keys the table holds.
func (b *buckets) len() int { return b.lru.Len() }

// recent is a bounded set of keys, least recently added forgotten first.
type recent struct {
	max  int
	lru  *list.List // of string
	keys map[string]*list.Element
}

func newRecent(max int) *recent {
	return &recent{max: max, lru: list.New(), keys: make(map[string]*list.Element)}
}

func (r *recent) has(key string) bool { _, ok := r.keys[key]; return ok }

func (r *recent) add(key string) {
	if el, ok := r.keys[key]; ok {
		r.lru.MoveToFront(el)
		return
	}
	r.keys[key] = r.lru.PushFront(key)
	for r.lru.Len() > r.max {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.keys, old.Value.(string))
	}
}
