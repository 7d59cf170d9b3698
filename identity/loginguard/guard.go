package loginguard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Defaults of Config, documented in the README's configuration table.
const (
	DefaultSourceFailuresPerMinute = 10
	DefaultUserFailuresPerMinute   = 5
	DefaultConcurrency             = 2
	DefaultQueue                   = 16
	DefaultTracked                 = 10000
	DefaultTarpit                  = time.Second
)

// Config sets the limits. A per-minute limit is also the burst: a bucket
// holds that many failures and refills at that rate.
type Config struct {
	// SourceFailuresPerMinute is how many failed logins one source address
	// (an IPv6 /64) may make a minute; -1 for no limit.
	SourceFailuresPerMinute int
	// UserFailuresPerMinute is how many failed logins one user (or one
	// unknown user name) may take a minute from all addresses together;
	// -1 for no limit. Sources that have logged in as the user before are
	// not held by it.
	UserFailuresPerMinute int
	// Concurrency is how many password checks run at once.
	Concurrency int
	// Queue is how many password checks may wait for one; beyond it the
	// login is refused with Limited.
	Queue int
	// Tracked bounds each table (sources, users, known source-user pairs);
	// the least recently used entry is forgotten first.
	Tracked int
	// Tarpit is how long a refused login is held before its answer (never
	// past its RetryAfter), so that a client that waits for each answer,
	// as most floods do, sends a few refused logins a second instead of
	// thousands; a sleeping request costs a timer, not CPU. -1 for none.
	Tarpit time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Guard admits password logins.
type Guard struct {
	mu      sync.Mutex
	sources *buckets
	// suspicion ranks sources in the queue by their recent failures.
	suspicion *buckets
	users     *buckets
	known     *recent
	gate      *gate
	tarpit    time.Duration
	now       func() time.Time
}

// New returns a Guard with cfg's limits; zero fields take the defaults.
func New(cfg Config) *Guard {
	if cfg.SourceFailuresPerMinute == 0 {
		cfg.SourceFailuresPerMinute = DefaultSourceFailuresPerMinute
	}
	if cfg.UserFailuresPerMinute == 0 {
		cfg.UserFailuresPerMinute = DefaultUserFailuresPerMinute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Tracked <= 0 {
		cfg.Tracked = DefaultTracked
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tarpit == 0 {
		cfg.Tarpit = DefaultTarpit
	}
	return &Guard{tarpit: cfg.Tarpit, suspicion: newSuspicion(cfg.Tracked), sources: newBuckets(cfg.SourceFailuresPerMinute, cfg.Tracked),
		users: newBuckets(cfg.UserFailuresPerMinute, cfg.Tracked), known: newRecent(cfg.Tracked),
		gate: newGate(cfg.Concurrency, cfg.Queue), now: cfg.Now}
}

// Limited is the error of a login refused before its password was
// checked; RetryAfter says when trying again may succeed.
type Limited struct {
	RetryAfter time.Duration
	Message    string
}

func (e *Limited) Error() string { return e.Message }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for a Retry-After header.
func (e *Limited) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// SourceKey turns a request's remote address ("host:port" or a bare host)
// into the key its failures are counted under: the address, or its /64
// for IPv6, where one client commonly holds a whole /64.
func SourceKey(remote string) string {
	a, err := netip.ParseAddr(remote)
	if ap, perr := netip.ParseAddrPort(remote); perr == nil {
		a, err = ap.Addr(), nil
	}
	if err != nil {
		return remote
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// CheckSource refuses a source that has no failures left, before anything
// is looked up for it.
func (g *Guard) CheckSource(ctx context.Context, source string) error {
	if g.sources == nil {
		return nil
	}
	g.mu.Lock()
	d := g.sources.wait(source, g.now())
	g.mu.Unlock()
	if d > 0 {
		return g.refuse(ctx, d, "Too many failed logins from this address. Retry later.")
	}
	return nil
}

// refuse holds a refused login for the tarpit, then returns its error,
// its RetryAfter counted from the end of the hold.
func (g *Guard) refuse(ctx context.Context, d time.Duration, msg string) error {
	if hold := min(g.tarpit, d); hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
			d -= hold
		case <-ctx.Done():
			t.Stop()
		}
	}
	return &Limited{RetryAfter: d, Message: msg}
}

// Ticket is an admitted login: one failure is charged to its source and
// user until Done says the password was right.
type Ticket struct {
	g                 *Guard
	source, user      string
	rank              int
	chargedUser, done bool
}

// Enter admits a login from source for user (a stable key naming the
// user, the same whether or not it exists) to a password check, waiting
// for a free slot. It returns *Limited when the source or user has no
// failures left, or the queue is full; ctx's error when ctx ends first.
func (g *Guard) Enter(ctx context.Context, source, user string) (*Ticket, error) {
	t := &Ticket{g: g, source: source, user: user}
	g.mu.Lock()
	now := g.now()
	if g.sources != nil {
		if d := g.sources.wait(source, now); d > 0 {
			g.mu.Unlock()
			return nil, g.refuse(ctx, d, "Too many failed logins from this address. Retry later.")
		}
	}
	// A source with recent failures queues behind clean ones.
	rank := g.suspicion.deficit(source, now)
	known := g.known.has(pairKey(source, user))
	if known {
		// A source the user logged in from before goes ahead of all.
		rank = -1
	}
	if g.users != nil && !known {
		if d := g.users.wait(user, now); d > 0 {
			g.mu.Unlock()
			return nil, g.refuse(ctx, d, "Too many failed logins for this user. Retry later.")
		}
		t.chargedUser = true
	}
	// Charge before the check, so that concurrent attempts cannot all
	// pass on the same last token.
	g.charge(t, -1, now)
	g.mu.Unlock()

	t.rank = rank
	if err := g.gate.enter(ctx, rank); err != nil {
		g.mu.Lock()
		g.charge(t, 1, g.now())
		g.mu.Unlock()
		if errors.Is(err, errQueueFull) {
			return nil, g.refuse(ctx, time.Second, "Too many logins are being checked at the moment. Retry shortly.")
		}
		return nil, err
	}
	return t, nil
}

func (g *Guard) charge(t *Ticket, delta float64, now time.Time) {
	if g.sources != nil {
		g.sources.add(t.source, delta, now)
	}
	if t.chargedUser {
		g.users.add(t.user, delta, now)
	}
}

func pairKey(source, user string) string { return fmt.Sprintf("%q %q", source, user) }

// Done ends the password check: ok means the password was right, which
// refunds the failure charged and remembers the source as one the user
// logs in from. Calls after the first do nothing.
func (t *Ticket) Done(ok bool) {
	if t.done {
		return
	}
	t.done = true
	g := t.g
	g.gate.leave(t.rank)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !ok {
		g.suspicion.add(t.source, -1, g.now())
		return
	}
	g.charge(t, 1, g.now())
	g.known.add(pairKey(t.source, t.user))
}
