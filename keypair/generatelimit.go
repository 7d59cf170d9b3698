package keypair

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/sshkey"
)

// DefaultGenerateWait is how long a key generation waits for a free slot
// before its request is refused as busy: long enough to ride out a burst,
// short enough that a client is told to come back rather than left hanging.
const DefaultGenerateWait = time.Second

// busyRetryAfter is what a refused generation tells the caller to wait: a
// 2048-bit RSA key takes tens of milliseconds, so a slot is usually free
// again well within it.
const busyRetryAfter = time.Second

// GenerateLimit bounds how many key generations run at once. RSA
// generation keeps a CPU busy for tens of milliseconds, so without a bound a
// few clients generating in a loop take every CPU and slow every other
// request down; with one, they queue here and the rest of the service keeps
// its CPUs. Request-driven generation waits for a slot (Generator); the
// key pool's background refill only takes one that is free while no
// request waits (TryAcquire), so it never delays a request by more than
// the one generation it already started.
type GenerateLimit struct {
	slots   chan struct{}
	wait    time.Duration
	waiting atomic.Int64
}

// NewGenerateLimit returns a limit of n generations at once (n < 1 counts
// as 1); a request that finds every slot taken waits up to wait for one.
func NewGenerateLimit(n int, wait time.Duration) *GenerateLimit {
	return &GenerateLimit{slots: make(chan struct{}, max(n, 1)), wait: max(wait, 0)}
}

// Running returns how many generations hold a slot now.
func (l *GenerateLimit) Running() int { return len(l.slots) }

// Waiting returns how many requests wait for a slot now.
func (l *GenerateLimit) Waiting() int { return int(l.waiting.Load()) }

// Capacity returns how many generations may run at once.
func (l *GenerateLimit) Capacity() int { return cap(l.slots) }

// TryAcquire implements sshkey.Slots: a slot, at once, only when one is
// free and no request is waiting for one.
func (l *GenerateLimit) TryAcquire() (release func(), ok bool) {
	if l.waiting.Load() > 0 {
		return nil, false
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	default:
		return nil, false
	}
}

// acquire takes a slot for a request, to be given back by calling release.
func (l *GenerateLimit) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-l.slots }
	select {
	case l.slots <- struct{}{}:
		return release, nil
	default:
	}
	if l.wait == 0 {
		return nil, Busy(busyRetryAfter)
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, Busy(busyRetryAfter)
	case <-ctx.Done():
		return nil, fmt.Errorf("keypair: waiting to generate a key: %w", context.Cause(ctx))
	}
}

// Generator returns a Generator that runs next's calls under the limit. A
// call that finds every slot taken waits for one, then fails with Busy;
// one whose context ends first fails with the context's error.
func (l *GenerateLimit) Generator(next Generator) Generator {
	if next == nil {
		next = directGenerator{}
	}
	return &limitedGenerator{next: next, limit: l}
}

// limitedGenerator is a Generator under a GenerateLimit.
type limitedGenerator struct {
	next  Generator
	limit *GenerateLimit
}

// LimitGenerator returns a Generator that runs at most n calls of next at
// once (n < 1 counts as 1), each waiting up to wait for a slot: a
// GenerateLimit of its own.
func LimitGenerator(next Generator, n int, wait time.Duration) Generator {
	return NewGenerateLimit(n, wait).Generator(next)
}

// GenerateSSH implements Generator.
func (g *limitedGenerator) GenerateSSH(ctx context.Context) (*sshkey.Generated, error) {
	release, err := g.limit.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return g.next.GenerateSSH(ctx)
}

// GenerateX509 implements Generator.
func (g *limitedGenerator) GenerateX509(ctx context.Context, userID string) (*sshkey.Generated, error) {
	release, err := g.limit.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return g.next.GenerateX509(ctx, userID)
}

// KeyPool hands out RSA key pairs generated ahead of demand (sshkey.Pool).
type KeyPool interface {
	// Take returns a key pair no other caller gets, or false when the
	// pool has none.
	Take() (*sshkey.Generated, bool)
}

// pooledGenerator answers ssh-type generation from a pool first and from
// next, its bounded generation, when the pool is empty.
type pooledGenerator struct {
	Generator
	pool KeyPool
}

// GenerateSSH implements Generator.
func (g pooledGenerator) GenerateSSH(ctx context.Context) (*sshkey.Generated, error) {
	if k, ok := g.pool.Take(); ok {
		return k, nil
	}
	return g.Generator.GenerateSSH(ctx)
}
