package loginguard

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// clock is a settable clock, so that refills are tested without waiting.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestGuard(cfg Config) (*Guard, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	cfg.Now = c.now
	cfg.Tarpit = -1
	return New(cfg), c
}

// fail makes one failed login; it returns Enter's error.
func fail(g *Guard, source, user string) error {
	t, err := g.Enter(context.Background(), source, user)
	if err != nil {
		return err
	}
	t.Done(false)
	return nil
}

func isLimited(err error) bool {
	var l *Limited
	return errors.As(err, &l)
}

func TestFailureBuckets(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		// logins are made in order: source, user, password right.
		logins []struct {
			source, user string
			ok           bool
		}
		advance      time.Duration
		source, user string
		wantLimited  bool
	}{
		{name: "source limit reached", cfg: Config{SourceFailuresPerMinute: 3, UserFailuresPerMinute: -1},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "u1", false}, {"a", "u2", false}, {"a", "u3", false}},
			source: "a", user: "u4", wantLimited: true},
		{name: "other source unaffected", cfg: Config{SourceFailuresPerMinute: 3, UserFailuresPerMinute: -1},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "u1", false}, {"a", "u2", false}, {"a", "u3", false}},
			source: "b", user: "u1"},
		{name: "source refills", cfg: Config{SourceFailuresPerMinute: 3, UserFailuresPerMinute: -1},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "u1", false}, {"a", "u2", false}, {"a", "u3", false}},
			advance: 20 * time.Second, source: "a", user: "u4"},
		{name: "success is not a failure", cfg: Config{SourceFailuresPerMinute: 2, UserFailuresPerMinute: -1},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "u1", true}, {"a", "u1", true}, {"a", "u1", true}, {"a", "u2", false}},
			source: "a", user: "u3"},
		{name: "user limit across sources", cfg: Config{SourceFailuresPerMinute: -1, UserFailuresPerMinute: 2},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "victim", false}, {"b", "victim", false}},
			source: "c", user: "victim", wantLimited: true},
		{name: "known source passes the user limit", cfg: Config{SourceFailuresPerMinute: -1, UserFailuresPerMinute: 2},
			logins: []struct {
				source, user string
				ok           bool
			}{{"home", "victim", true}, {"a", "victim", false}, {"b", "victim", false}},
			source: "home", user: "victim"},
		{name: "no limits", cfg: Config{SourceFailuresPerMinute: -1, UserFailuresPerMinute: -1},
			logins: []struct {
				source, user string
				ok           bool
			}{{"a", "u", false}, {"a", "u", false}, {"a", "u", false}, {"a", "u", false}},
			source: "a", user: "u"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, clk := newTestGuard(c.cfg)
			for i, l := range c.logins {
				tk, err := g.Enter(context.Background(), l.source, l.user)
				if err != nil {
					t.Fatalf("login %d: %v", i, err)
				}
				tk.Done(l.ok)
			}
			clk.advance(c.advance)
			err := fail(g, c.source, c.user)
			if isLimited(err) != c.wantLimited {
				t.Fatalf("got %v, want limited %v", err, c.wantLimited)
			}
			if c.wantLimited {
				var l *Limited
				errors.As(err, &l)
				if l.RetryAfterSeconds() < 1 || l.RetryAfter > time.Minute {
					t.Fatalf("retry after %s", l.RetryAfter)
				}
				if c.cfg.SourceFailuresPerMinute > 0 && g.CheckSource(context.Background(), c.source) == nil {
					t.Fatal("CheckSource passes a source Enter refused")
				}
			}
		})
	}
}

func TestTablesStayBounded(t *testing.T) {
	g, _ := newTestGuard(Config{SourceFailuresPerMinute: 5, UserFailuresPerMinute: 5, Tracked: 50})
	for i := range 1000 {
		tk, err := g.Enter(context.Background(), fmt.Sprintf("10.0.%d.%d", i/256, i%256), fmt.Sprintf("user-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(i%2 == 0)
	}
	if g.sources.len() > 50 || g.users.len() > 50 || g.known.lru.Len() > 50 {
		t.Fatalf("tables: %d sources, %d users, %d known", g.sources.len(), g.users.len(), g.known.lru.Len())
	}
}

func TestSourceKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4242":             "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:9":   "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:1":       "192.0.2.7",
		"192.0.2.8":                  "192.0.2.8",
		"not an address":             "not an address",
	} {
		if got := SourceKey(in); got != want {
			t.Errorf("SourceKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// waitQueued waits until n logins wait in g's queue.
func waitQueued(t *testing.T, g *Guard, n int) {
	t.Helper()
	for {
		g.gate.mu.Lock()
		got := len(g.gate.waiting)
		g.gate.mu.Unlock()
		if got == n {
			return
		}
		runtime.Gosched()
	}
}

// TestCleanSourceGoesFirst fills the only slot and the queue with logins
// from a source with failures; a login from a clean source pushes the
// last of them out and is served first.
func TestCleanSourceGoesFirst(t *testing.T) {
	g, _ := newTestGuard(Config{SourceFailuresPerMinute: 10, UserFailuresPerMinute: -1, Concurrency: 1, Queue: 2})
	for range 5 {
		if err := fail(g, "flood", "x"); err != nil {
			t.Fatal(err)
		}
	}
	running, err := g.Enter(context.Background(), "flood", "x")
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 4)
	errs := make(chan error, 4)
	enter := func(name, source string) {
		tk, err := g.Enter(context.Background(), source, name)
		if err != nil {
			errs <- fmt.Errorf("%s: %w", name, err)
			return
		}
		order <- name
		tk.Done(false)
	}
	go enter("flood-1", "flood")
	waitQueued(t, g, 1)
	go enter("flood-2", "flood")
	waitQueued(t, g, 2)
	// A third flood login finds the queue full of its equals.
	if err := fail(g, "flood", "flood-3"); !isLimited(err) {
		t.Fatalf("flood-3: %v, want limited", err)
	}
	go enter("real", "clean")
	if err := <-errs; !isLimited(err) || err.Error()[:7] != "flood-2" {
		t.Fatalf("pushed out: %v, want flood-2 limited", err)
	}
	running.Done(false)
	if first, second := <-order, <-order; first != "real" || second != "flood-1" {
		t.Fatalf("served %s then %s, want real then flood-1", first, second)
	}
}

// TestGiveUpWhileQueued leaves the queue when the request ends, refunding
// the failure charged for it.
func TestGiveUpWhileQueued(t *testing.T) {
	g, _ := newTestGuard(Config{SourceFailuresPerMinute: 2, UserFailuresPerMinute: -1, Concurrency: 1, Queue: 4})
	running, err := g.Enter(context.Background(), "other", "x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := g.Enter(ctx, "a", "x"); errc <- err }()
	waitQueued(t, g, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	running.Done(false)
	// "a" was refunded: it still has both failures.
	for i := range 2 {
		if err := fail(g, "a", "x"); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if err := fail(g, "a", "x"); !isLimited(err) {
		t.Fatalf("third failure: %v", err)
	}
}

// TestSlotKeptForCleanSources: logins from a source with failures may use
// all slots but one, so a clean login starts at once even while they
// wait.
func TestSlotKeptForCleanSources(t *testing.T) {
	g, _ := newTestGuard(Config{SourceFailuresPerMinute: 10, UserFailuresPerMinute: -1, Concurrency: 2, Queue: 4})
	if err := fail(g, "flood", "x"); err != nil {
		t.Fatal(err)
	}
	running, err := g.Enter(context.Background(), "flood", "x")
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan *Ticket, 1)
	go func() {
		tk, err := g.Enter(context.Background(), "flood", "y")
		if err != nil {
			t.Error(err)
		}
		queued <- tk
	}()
	waitQueued(t, g, 1)
	clean, err := g.Enter(context.Background(), "clean", "z")
	if err != nil {
		t.Fatal(err)
	}
	clean.Done(true)
	running.Done(false)
	(<-queued).Done(false)
}
