package sqlite

import (
	"sync"
	"sync/atomic"
)

// kept is a bounded map of answers read at some versions (the list cache's
// pages, the get cache's key pairs): an answer is served again only at the
// versions it was read at. Each answer weighs some rows, at most maxOne
// to be kept; once the next one would take the total past maxRows, the map
// starts over empty, which bounds memory without the bookkeeping of an
// eviction order.
type kept[K comparable, V any] struct {
	maxOne, maxRows int
	// weigh gives an answer's rows; dup a copy the caller may change.
	weigh func(V) int
	dup   func(V) V

	mu   sync.Mutex
	m    map[K]keptEntry[V]
	rows int
	// hits and misses count lookups, for tests and measurements; stamped
	// the hits that needed no probe (walstamp.go).
	hits, misses, stamped atomic.Int64
}

// keptEntry is one kept answer, the versions it was read at and the WAL
// stamp read before them (zero: none).
type keptEntry[V any] struct {
	at    listVersions
	stamp walStamp
	v     V
}

// get returns a copy of the answer kept for k when it was read at at.
func (c *kept[K, V]) get(k K, at listVersions) (V, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || e.at != at {
		c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.hits.Add(1)
	return c.dup(e.v), true
}

// lookup returns a copy of the answer kept for k when nothing has
// committed since it was kept or last checked (its stamp is now, read
// before this lookup), or when probe, which reads the versions it depends
// on, finds them unchanged; the answer is then stamped now. With nothing
// kept there are no versions to compare: a miss, without the probe.
func (c *kept[K, V]) lookup(k K, now walStamp, probe func() (listVersions, error)) (V, bool, error) {
	var zero V
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		return zero, false, nil
	}
	if now != (walStamp{}) && e.stamp == now {
		c.hits.Add(1)
		c.stamped.Add(1)
		return c.dup(e.v), true, nil
	}
	at, err := probe()
	if err != nil {
		return zero, false, err
	}
	v, ok := c.get(k, at)
	if ok {
		c.restamp(k, at, now)
	}
	return v, ok, nil
}

// restamp stamps the answer kept for k now, if it is still one read at at:
// at held in a probe made after now was read.
func (c *kept[K, V]) restamp(k K, at listVersions, now walStamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.at == at {
		e.stamp = now
		c.m[k] = e
	}
}

// drop forgets what is kept for k: an answer that may no longer be kept
// (a key pair gone, or now with an escrowed private key) would otherwise
// cost a probe at every lookup.
func (c *kept[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.rows -= c.weigh(old.v)
		delete(c.m, k)
	}
}

// put keeps a copy of v for k, read at at after stamp was read, in place
// of what was kept.
func (c *kept[K, V]) put(k K, at listVersions, stamp walStamp, v V) {
	w := c.weigh(v)
	if w > c.maxOne {
		return
	}
	v = c.dup(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.rows -= c.weigh(old.v)
	} else if c.rows+w > c.maxRows || c.m == nil {
		c.m = map[K]keptEntry[V]{}
		c.rows = 0
	}
	c.m[k] = keptEntry[V]{at: at, stamp: stamp, v: v}
	c.rows += w
}
