package sshkey

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBits keeps the pool tests quick; the pool's code does not depend on
// the key size.
const testBits = 1024

// countingSlots is a Slots with n slots that counts how many are held at
// once, and refuses every slot while closed is set.
type countingSlots struct {
	mu      sync.Mutex
	n, held int
	most    int
	closed  atomic.Bool
}

func (s *countingSlots) TryAcquire() (func(), bool) {
	if s.closed.Load() {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == s.n {
		return nil, false
	}
	s.held++
	s.most = max(s.most, s.held)
	return func() { s.mu.Lock(); s.held--; s.mu.Unlock() }, true
}

// runPool starts p's refilling for the length of the test.
func runPool(t *testing.T, p *Pool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitLen waits until p holds n keys. It bounds the wait only so that a
// broken pool fails instead of hanging; it asserts no speed.
func waitLen(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for p.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("pool holds %d keys, want %d", p.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolHandsOutEachKeyOnce(t *testing.T) {
	const size = 8
	p := NewPool(PoolConfig{Size: size, Bits: testBits, Comment: NovaComment})
	runPool(t, p)
	waitLen(t, p, size)

	// Many callers at once, while Run refills behind them.
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 * size {
		wg.Go(func() {
			g, ok := p.Take()
			if !ok {
				return
			}
			if _, err := ParseAuthorizedKey(g.PublicKey); err != nil {
				t.Errorf("pooled public key: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[g.PrivateKey] || seen[g.PublicKey] {
				t.Errorf("a key was handed out twice")
			}
			seen[g.PrivateKey], seen[g.PublicKey] = true, true
		})
	}
	wg.Wait()
	if len(seen) < 2*size {
		t.Errorf("%d keys handed out, want at least the %d the full pool held", len(seen)/2, size)
	}
}

func TestPoolDepthIsBounded(t *testing.T) {
	for _, size := range []int{1, 3} {
		p := NewPool(PoolConfig{Size: size, Bits: testBits})
		if p.Cap() != size {
			t.Fatalf("Cap = %d, want %d", p.Cap(), size)
		}
		runPool(t, p)
		waitLen(t, p, size)
		// Run keeps running; a few more generations' time must not
		// overfill it (a channel of capacity size cannot hold more, and
		// Run must not block or fail trying).
		time.Sleep(50 * time.Millisecond)
		if p.Len() != size {
			t.Errorf("size %d: pool holds %d keys", size, p.Len())
		}
	}
}

func TestPoolRefillsAfterTakes(t *testing.T) {
	const size = 4
	slots := &countingSlots{n: 2}
	p := NewPool(PoolConfig{Size: size, Bits: testBits, Slots: slots, Retry: time.Millisecond})
	runPool(t, p)
	for round := range 3 {
		waitLen(t, p, size)
		for i := range size {
			if _, ok := p.Take(); !ok {
				t.Fatalf("round %d: take %d of a full pool failed", round, i)
			}
		}
	}
	waitLen(t, p, size)
	slots.mu.Lock()
	defer slots.mu.Unlock()
	if slots.most != 1 {
		t.Errorf("refilling held %d generation slots at once, want 1 (one goroutine)", slots.most)
	}
}

func TestPoolYieldsWhenNoSlotIsFree(t *testing.T) {
	slots := &countingSlots{n: 1}
	slots.closed.Store(true) // every slot busy or a request waiting
	p := NewPool(PoolConfig{Size: 2, Bits: testBits, Slots: slots, Retry: time.Millisecond})
	runPool(t, p)
	time.Sleep(100 * time.Millisecond)
	if p.Len() != 0 {
		t.Fatalf("pool generated %d keys without a slot", p.Len())
	}
	slots.closed.Store(false)
	waitLen(t, p, 2)
}

func TestPoolDisabled(t *testing.T) {
	for _, size := range []int{0, -1} {
		p := NewPool(PoolConfig{Size: size})
		if err := p.Run(context.Background()); err != nil { // returns at once
			t.Fatal(err)
		}
		if g, ok := p.Take(); ok || g != nil {
			t.Errorf("size %d: Take gave a key", size)
		}
		if p.Len() != 0 || p.Cap() != 0 {
			t.Errorf("size %d: Len %d Cap %d", size, p.Len(), p.Cap())
		}
	}
	var nilPool *Pool
	if _, ok := nilPool.Take(); ok {
		t.Error("nil pool gave a key")
	}
}

func TestPoolZeroesTakenKeys(t *testing.T) {
	p := NewPool(PoolConfig{Size: 1, Bits: testBits})
	k, err := generateRSA(testBits, "")
	if err != nil {
		t.Fatal(err)
	}
	held := k.private
	p.keys <- k
	g, ok := p.Take()
	if !ok || g.PrivateKey == "" {
		t.Fatal("no key taken")
	}
	for i, b := range held {
		if b != 0 {
			t.Fatalf("byte %d of the taken key's private PEM is still in the pool's memory", i)
		}
	}
	// What Run leaves when it stops is zeroed too.
	k2, err := generateRSA(testBits, "")
	if err != nil {
		t.Fatal(err)
	}
	p.keys <- k2
	p.drain()
	for _, b := range k2.private {
		if b != 0 {
			t.Fatal("a key left in a stopped pool was not zeroed")
		}
	}
}
