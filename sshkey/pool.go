package sshkey

import (
	"context"
	"sync/atomic"
	"time"
)

// DefaultPoolSize is how many pre-generated RSA keys a pool holds unless
// configured otherwise: enough to absorb a burst of a few dozen
// generations at the latency of a show.
const DefaultPoolSize = 64

// Slots is the bound on concurrent key generations that a pool shares with
// request-driven generation, so refilling never runs more generations at
// once than the service allows.
type Slots interface {
	// TryAcquire takes a generation slot only when one is free and no
	// request is waiting for one; release gives it back.
	TryAcquire() (release func(), ok bool)
}

// PoolConfig is what a Pool is made of.
type PoolConfig struct {
	// Size is the most keys the pool holds; 0 (or less) disables it.
	Size int
	// Bits is the RSA modulus size; 2048 when 0.
	Bits int
	// Comment ends each public key line (NovaComment for Nova's keys).
	Comment string
	// Slots bounds refilling; nil lets the pool generate one key at a
	// time without asking anyone.
	Slots Slots
	// Retry is how long refilling waits when Slots has no slot for it;
	// 20 ms when 0.
	Retry time.Duration
	// Quiet is how long after the last take refilling waits before it
	// generates: a burst served from the pool then has the CPUs to itself
	// instead of sharing them with the refill. 100 ms when 0; negative
	// for none.
	Quiet time.Duration
}

// Pool holds RSA keys generated ahead of demand, so that a burst of
// generate requests is answered at once instead of queueing behind the
// CPU. Keys live only in memory, each is handed out once, and its private
// bytes are zeroed in the pool when taken. One goroutine (Run) refills it
// in the background, at low priority and only while no request waits to
// generate a key itself.
type Pool struct {
	cfg      PoolConfig
	keys     chan *rsaKey
	taken    chan struct{} // wakes Run when a key was taken
	lastTake atomic.Int64  // UnixNano of the last take
}

// NewPool returns an empty pool; Run fills it.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Bits == 0 {
		cfg.Bits = 2048
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 20 * time.Millisecond
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = 100 * time.Millisecond
	}
	return &Pool{cfg: cfg, keys: make(chan *rsaKey, max(cfg.Size, 0)), taken: make(chan struct{}, 1)}
}

// Take returns a pre-generated key pair that no other caller gets, or
// false when the pool is empty (or disabled).
func (p *Pool) Take() (*Generated, bool) {
	if p == nil {
		return nil, false
	}
	select {
	case k := <-p.keys:
		p.lastTake.Store(time.Now().UnixNano())
		select {
		case p.taken <- struct{}{}:
		default:
		}
		return k.take(), true
	default:
		return nil, false
	}
}

// Len returns how many keys the pool holds now.
func (p *Pool) Len() int {
	if p == nil {
		return 0
	}
	return len(p.keys)
}

// Cap returns the most keys the pool holds.
func (p *Pool) Cap() int {
	if p == nil {
		return 0
	}
	return cap(p.keys)
}

// Run fills the pool and keeps it full until ctx is done. It is the only
// goroutine that generates for the pool, so refilling takes at most one
// generation slot; it takes one only when Slots has it free with no
// request waiting, not within Quiet of the last take, and its OS thread
// runs at a lower scheduling priority (where the platform allows), so
// request-driven generation and bursts served from the pool come first.
// A disabled pool returns at once.
func (p *Pool) Run(ctx context.Context) error {
	if p == nil || cap(p.keys) == 0 {
		return nil
	}
	lowerPriority()
	defer p.drain()
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	for {
		if len(p.keys) == cap(p.keys) {
			select {
			case <-ctx.Done():
				return nil
			case <-p.taken:
				continue
			}
		}
		if wait := p.cfg.Quiet - time.Since(time.Unix(0, p.lastTake.Load())); wait > 0 {
			retry.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-retry.C:
			}
			continue
		}
		release := func() {}
		if p.cfg.Slots != nil {
			var ok bool
			if release, ok = p.cfg.Slots.TryAcquire(); !ok {
				retry.Reset(p.cfg.Retry)
				select {
				case <-ctx.Done():
					return nil
				case <-retry.C:
				}
				continue
			}
		}
		k, err := generateRSA(p.cfg.Bits, p.cfg.Comment)
		release()
		if err != nil {
			return err
		}
		select {
		case p.keys <- k: // Run is the only sender, so there is room
		default:
			clear(k.private)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drain zeroes and drops the keys left when Run stops, so none outlives
// the pool's use.
func (p *Pool) drain() {
	for {
		select {
		case k := <-p.keys:
			clear(k.private)
		default:
			return
		}
	}
}
