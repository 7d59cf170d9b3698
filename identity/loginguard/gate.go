package loginguard

import (
	"context"
	"errors"
	"sync"
)

// errQueueFull is the gate's answer when every slot is busy and the queue
// holds only waiters at least as deserving as the newcomer.
var errQueueFull = errors.New("loginguard: queue full")

// gate lets slots callers run at once and keeps at most queue more
// waiting. Waiters are served lowest rank first (the source's recent
// failures), then in arrival order; when the queue is full, a newcomer
// with a lower rank than the worst waiter takes its place and the worst
// waiter is refused. A source with no failures therefore never waits
// behind a flood from sources that have many.
type gate struct {
	mu      sync.Mutex
	free    int
	queue   int
	seq     uint64
	waiting []*waiter
}

type waiter struct {
	rank int
	seq  uint64
	done chan struct{}
	// admitted is set, under the gate's lock, before done is closed; a
	// closed done without it means the waiter was pushed out.
	admitted bool
}

func newGate(slots, queue int) *gate { return &gate{free: slots, queue: queue} }

// enter waits for a slot; the caller must call leave once it is done.
func (g *gate) enter(ctx context.Context, rank int) error {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	if len(g.waiting) >= g.queue {
		wi := g.worst()
		if wi < 0 || g.waiting[wi].rank <= rank {
			g.mu.Unlock()
			return errQueueFull
		}
		w := g.waiting[wi]
		g.remove(wi)
		close(w.done)
	}
	g.seq++
	w := &waiter{rank: rank, seq: g.seq, done: make(chan struct{})}
	g.waiting = append(g.waiting, w)
	g.mu.Unlock()

	select {
	case <-w.done:
		if w.admitted {
			return nil
		}
		return errQueueFull
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if w.admitted {
			// Admitted while giving up: pass the slot on.
			g.leaveLocked()
			return ctx.Err()
		}
		for i, o := range g.waiting {
			if o == w {
				g.remove(i)
				break
			}
		}
		return ctx.Err()
	}
}

// leave frees a slot, handing it to the best waiter.
func (g *gate) leave() {
	g.mu.Lock()
	g.leaveLocked()
	g.mu.Unlock()
}

func (g *gate) leaveLocked() {
	if len(g.waiting) == 0 {
		g.free++
		return
	}
	bi := 0
	for i, w := range g.waiting {
		if w.rank < g.waiting[bi].rank || (w.rank == g.waiting[bi].rank && w.seq < g.waiting[bi].seq) {
			bi = i
		}
	}
	w := g.waiting[bi]
	g.remove(bi)
	w.admitted = true
	close(w.done)
}

// worst returns the index of the waiter to push out first: highest rank,
// latest arrival; -1 when none waits.
func (g *gate) worst() int {
	wi := -1
	for i, w := range g.waiting {
		if wi < 0 || w.rank > g.waiting[wi].rank || (w.rank == g.waiting[wi].rank && w.seq > g.waiting[wi].seq) {
			wi = i
		}
	}
	return wi
}

func (g *gate) remove(i int) {
	g.waiting[i] = g.waiting[len(g.waiting)-1]
	g.waiting = g.waiting[:len(g.waiting)-1]
}
