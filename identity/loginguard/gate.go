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
// waiting. A caller's rank is the failures its source is still paying off
// (-1 for a source the user logged in from before); a caller with a rank
// above 0 is a suspect. Suspects may hold all slots but one, so a clean
// login never waits for a suspect's check to finish, and no suspect starts
// while a clean login runs. Waiters are served
// lowest rank first, then in arrival order; when the queue is full, a
// newcomer with a lower rank than the worst waiter takes its place and the
// worst waiter is refused.
type gate struct {
	mu          sync.Mutex
	free        int
	suspects    int // suspects running
	clean       int // others running
	maxSuspects int
	queue       int
	seq         uint64
	waiting     []*waiter
}

type waiter struct {
	rank int
	seq  uint64
	done chan struct{}
	// admitted is set, under the gate's lock, before done is closed; a
	// closed done without it means the waiter was pushed out.
	admitted bool
}

func newGate(slots, queue int) *gate {
	return &gate{free: slots, maxSuspects: max(1, slots-1), queue: queue}
}

// admissible reports whether a caller of rank may take a slot now. A
// suspect waits while a clean login runs, so that the clean one has the
// CPU to itself once any suspect already running is done.
func (g *gate) admissible(rank int) bool {
	return g.free > 0 && (rank <= 0 || (g.suspects < g.maxSuspects && g.clean == 0))
}

func (g *gate) take(rank int) {
	g.free--
	if rank > 0 {
		g.suspects++
	} else {
		g.clean++
	}
}

// enter waits for a slot; the caller must call leave with the same rank
// once it is done. Every waiter that could run is always running (see
// dispatch), so an admissible newcomer goes ahead of the queue.
func (g *gate) enter(ctx context.Context, rank int) error {
	g.mu.Lock()
	if g.admissible(rank) {
		g.take(rank)
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
			g.leaveLocked(rank)
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

// leave frees the slot a caller of rank held.
func (g *gate) leave(rank int) {
	g.mu.Lock()
	g.leaveLocked(rank)
	g.mu.Unlock()
}

func (g *gate) leaveLocked(rank int) {
	g.free++
	if rank > 0 {
		g.suspects--
	} else {
		g.clean--
	}
	g.dispatch()
}

// dispatch admits the best waiters that may run, as long as there are.
func (g *gate) dispatch() {
	for {
		bi := -1
		for i, w := range g.waiting {
			if !g.admissible(w.rank) {
				continue
			}
			if bi < 0 || w.rank < g.waiting[bi].rank || (w.rank == g.waiting[bi].rank && w.seq < g.waiting[bi].seq) {
				bi = i
			}
		}
		if bi < 0 {
			return
		}
		w := g.waiting[bi]
		g.remove(bi)
		g.take(w.rank)
		w.admitted = true
		close(w.done)
	}
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
