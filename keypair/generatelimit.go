package keypair

import (
	"context"
	"fmt"
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

// limitedGenerator lets a bounded number of generations run at once. RSA
// generation keeps a CPU busy for tens of milliseconds, so without a bound a
// few clients generating in a loop take every CPU and slow every other
// request down; with one, they queue here and the rest of the service keeps
// its CPUs.
type limitedGenerator struct {
	next  Generator
	slots chan struct{}
	wait  time.Duration
}

// LimitGenerator returns a Generator that runs at most n calls of next at
// once (n < 1 counts as 1). A call that finds every slot taken waits up to
// wait for one, then fails with Busy; one whose context ends first fails
// with the context's error.
func LimitGenerator(next Generator, n int, wait time.Duration) Generator {
	if next == nil {
		next = directGenerator{}
	}
	return &limitedGenerator{next: next, slots: make(chan struct{}, max(n, 1)), wait: max(wait, 0)}
}

// acquire takes a slot, to be given back by calling release.
func (g *limitedGenerator) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	if g.wait == 0 {
		return nil, Busy(busyRetryAfter)
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, Busy(busyRetryAfter)
	case <-ctx.Done():
		return nil, fmt.Errorf("keypair: waiting to generate a key: %w", context.Cause(ctx))
	}
}

// GenerateSSH implements Generator.
func (g *limitedGenerator) GenerateSSH(ctx context.Context) (*sshkey.Generated, error) {
	release, err := g.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return g.next.GenerateSSH(ctx)
}

// GenerateX509 implements Generator.
func (g *limitedGenerator) GenerateX509(ctx context.Context, userID string) (*sshkey.Generated, error) {
	release, err := g.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return g.next.GenerateX509(ctx, userID)
}
