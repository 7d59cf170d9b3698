package keypair

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/sshkey"
)

// blockingGenerator generates nothing until told: each call announces
// itself on started and returns when release gives it a turn.
type blockingGenerator struct {
	started chan struct{}
	release chan struct{}
}

func newBlockingGenerator() *blockingGenerator {
	return &blockingGenerator{started: make(chan struct{}, 16), release: make(chan struct{}, 16)}
}

func (g *blockingGenerator) GenerateSSH(context.Context) (*sshkey.Generated, error) {
	g.started <- struct{}{}
	<-g.release
	return &sshkey.Generated{PublicKey: "ssh"}, nil
}

func (g *blockingGenerator) GenerateX509(_ context.Context, user string) (*sshkey.Generated, error) {
	g.started <- struct{}{}
	<-g.release
	return &sshkey.Generated{PublicKey: "x509 " + user}, nil
}

func TestLimitGenerator(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name  string
		n     int
		held  int // generations already running when the call is made
		wait  time.Duration
		ctx   context.Context
		x509  bool
		want  Code // "" for success
		isCtx bool // the error is the context's
	}{
		{name: "free slot", n: 1},
		{name: "second of two slots", n: 2, held: 1},
		{name: "full, no wait", n: 1, held: 1, want: EBUSY},
		{name: "full, no wait, x509", n: 1, held: 1, x509: true, want: EBUSY},
		{name: "zero slots count as one", n: 0, held: 1, want: EBUSY},
		{name: "full, wait runs out", n: 1, held: 1, wait: time.Nanosecond, want: EBUSY},
		// The holders finish while the call waits; it then takes a slot.
		{name: "full, slot freed while waiting", n: 1, held: 1, wait: time.Hour},
		{name: "full, slot freed while waiting, x509", n: 2, held: 2, wait: time.Hour, x509: true},
		{name: "full, caller gone", n: 1, held: 1, wait: time.Hour, ctx: cancelled, want: EINTERNAL, isCtx: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inner := newBlockingGenerator()
			g := LimitGenerator(inner, c.n, c.wait)
			holders := make(chan error, c.held)
			for range c.held {
				go func() { _, err := g.GenerateSSH(context.Background()); holders <- err }()
				<-inner.started // it holds a slot now
			}
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			type result struct {
				got *sshkey.Generated
				err error
			}
			done := make(chan result, 1)
			go func() {
				var r result
				if c.x509 {
					r.got, r.err = g.GenerateX509(ctx, "alice")
				} else {
					r.got, r.err = g.GenerateSSH(ctx)
				}
				done <- r
			}()
			if c.want == "" {
				// One turn for every holder and one for the call, in
				// whatever order they take them.
				for range c.held + 1 {
					inner.release <- struct{}{}
				}
			}
			r := <-done
			switch {
			case c.want == "" && (r.err != nil || r.got == nil):
				t.Fatalf("got %v, %v; want a key", r.got, r.err)
			case c.want != "" && ErrorCode(r.err) != c.want:
				t.Fatalf("got %v, %v; want code %s", r.got, r.err, c.want)
			case c.want == EBUSY && ErrorRetryAfter(r.err) != time.Second:
				t.Fatalf("busy error %v says retry after %s, want 1s", r.err, ErrorRetryAfter(r.err))
			case c.isCtx && !errors.Is(r.err, context.Canceled):
				t.Fatalf("got %v, want the context's error", r.err)
			}
			if c.want != "" {
				for range c.held {
					inner.release <- struct{}{}
				}
			}
			for range c.held {
				if err := <-holders; err != nil {
					t.Errorf("holder: %v", err)
				}
			}
		})
	}
}

// TestLimitGeneratorFreesSlots checks that a slot is given back after
// every call, so a bound of one serves calls one after the other forever.
func TestLimitGeneratorFreesSlots(t *testing.T) {
	inner := newBlockingGenerator()
	g := LimitGenerator(inner, 1, 0)
	for i := range 10 {
		inner.release <- struct{}{}
		if _, err := g.GenerateSSH(context.Background()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		<-inner.started
	}
}

// TestGenerateLimitTryAcquire: background work gets a slot only when one
// is free and no request waits for one.
func TestGenerateLimitTryAcquire(t *testing.T) {
	cases := []struct {
		name    string
		n, held int
		waiter  bool
		want    bool
	}{
		{name: "free", n: 1, want: true},
		{name: "one of two free", n: 2, held: 1, want: true},
		{name: "all held", n: 1, held: 1},
		{name: "free slot but a request waits", n: 2, held: 1, waiter: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := NewGenerateLimit(c.n, time.Hour)
			var releases []func()
			for range c.held {
				r, ok := l.TryAcquire()
				if !ok {
					t.Fatal("could not hold a slot")
				}
				releases = append(releases, r)
			}
			if c.waiter {
				// A request waits for a slot as long as the test holds
				// them: fake a waiter by counting one.
				l.waiting.Add(1)
				defer l.waiting.Add(-1)
			}
			r, ok := l.TryAcquire()
			if ok != c.want {
				t.Fatalf("TryAcquire = %v, want %v", ok, c.want)
			}
			if ok {
				releases = append(releases, r)
			}
			if l.Running() != len(releases) {
				t.Errorf("Running = %d, want %d", l.Running(), len(releases))
			}
			for _, r := range releases {
				r()
			}
			if l.Running() != 0 {
				t.Errorf("Running = %d after release", l.Running())
			}
		})
	}
}

// TestGenerateLimitCountsWaiters: a request waiting for a slot is counted
// until it gets one.
func TestGenerateLimitCountsWaiters(t *testing.T) {
	inner := newBlockingGenerator()
	l := NewGenerateLimit(1, time.Hour)
	g := l.Generator(inner)
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := g.GenerateSSH(context.Background()); errs <- err }()
	}
	<-inner.started // one holds the slot; the other waits
	for l.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, ok := l.TryAcquire(); ok {
		t.Fatal("background work took a slot while a request waited")
	}
	inner.release <- struct{}{}
	<-inner.started
	inner.release <- struct{}{}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if l.Waiting() != 0 || l.Running() != 0 {
		t.Errorf("waiting %d, running %d after both finished", l.Waiting(), l.Running())
	}
}
