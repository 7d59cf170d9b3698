package aksk

import (
	"container/heap"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// DefaultReplayCacheSize is the default Config.ReplayCacheSize: at about
// 150 bytes a signature, 100,000 of them take some 15 MB, and they cover
// more than 100 changing requests a second for the whole 15-minute window.
const DefaultReplayCacheSize = 100_000

// pruneEvery is how often, at most, a Verifier asks its ledger to forget
// expired signatures; pruning rides on a request, so an idle service does
// none.
const pruneEvery = time.Minute

// replayReason is the refusal of a signature seen before.
const replayReason = "this signed request was already received: a signature is accepted once; to repeat the request, sign it again (a later X-Sdk-Date gives a new signature)"

// safeMethod reports whether a request with this method changes nothing,
// so that a replay of it gains nothing and is not worth remembering.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// replayGuard refuses a signature it has seen before its window closed. Its
// memory answers repeats on this instance without a database round trip;
// the ledger, when there is one, is the authority shared by every instance.
type replayGuard struct {
	ledger    identity.SignatureLedger
	mu        sync.Mutex
	seen      map[string]time.Time // signature -> end of its window
	order     expiryHeap
	size      int
	lastPrune atomic.Int64 // Unix nanoseconds of the last ledger prune
}

func newReplayGuard(ledger identity.SignatureLedger, size int) *replayGuard {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	return &replayGuard{ledger: ledger, seen: map[string]time.Time{}, size: size}
}

// check records sig, valid until expires, and refuses it with an
// *identity.AuthError when it was recorded before. A failing ledger is a
// server error: the request is not let through unchecked.
func (g *replayGuard) check(ctx context.Context, sig string, expires, now time.Time) error {
	if !g.remember(sig, expires, now) {
		return &identity.AuthError{Reason: replayReason, Replayed: true}
	}
	if g.ledger == nil {
		return nil
	}
	fresh, err := g.ledger.RecordSignature(ctx, sig, expires, now)
	if err != nil {
		// The request fails unanswered; an identical retry must not be
		// refused as its replay.
		g.forget(sig)
		return fmt.Errorf("aksk: recording the request's signature: %w", err)
	}
	if !fresh {
		return &identity.AuthError{Reason: replayReason, Replayed: true}
	}
	g.prune(ctx, now)
	return nil
}

// remember records sig in memory and reports whether it was new there.
func (g *replayGuard) remember(sig string, expires, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.order) > 0 && g.order[0].expires.Before(now) {
		g.drop(heap.Pop(&g.order).(expiry))
	}
	if end, ok := g.seen[sig]; ok && !end.Before(now) {
		return false
	}
	// Full: forget the signature whose window closes first. With a ledger
	// it still refuses that signature's replay; without one this is the
	// documented limit of memory alone.
	for len(g.order) >= g.size {
		g.drop(heap.Pop(&g.order).(expiry))
	}
	g.seen[sig] = expires
	heap.Push(&g.order, expiry{sig: sig, expires: expires})
	return true
}

// drop forgets e's signature unless it was recorded again with another
// expiry since.
func (g *replayGuard) drop(e expiry) {
	if end, ok := g.seen[e.sig]; ok && end.Equal(e.expires) {
		delete(g.seen, e.sig)
	}
}

// forget removes sig from memory; its heap entry is dropped when it
// expires.
func (g *replayGuard) forget(sig string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.seen, sig)
}

// prune asks the ledger to forget expired signatures, at most once every
// pruneEvery across concurrent requests. A failure is not the request's:
// the next prune retries.
func (g *replayGuard) prune(ctx context.Context, now time.Time) {
	last := g.lastPrune.Load()
	if now.UnixNano()-last < int64(pruneEvery) || !g.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_ = g.ledger.PruneSignatures(ctx, now)
}

// expiry is a remembered signature and the end of its window.
type expiry struct {
	sig     string
	expires time.Time
}

// expiryHeap orders remembered signatures by the end of their window.
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
