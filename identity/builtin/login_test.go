package builtin

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// openGuarded opens a Service on a fresh SQLite file with guard, and the
// Hasher it counts password checks with.
func openGuarded(t *testing.T, guard *loginguard.Guard) (*Service, *password.Hasher) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring, err := token.OpenKeyring(filepath.Join(dir, "keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2)
	svc, err := New(Config{Store: st, Tokens: token.NewIssuer(ring), Hasher: h, CredentialKey: make([]byte, 32), Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(context.Background(), "admin-pw"); err != nil {
		t.Fatal(err)
	}
	return svc, h
}

// TestFailedLoginsLookAlike: whichever part of a login is wrong, it costs
// one password check and answers the same error, so neither the time nor
// the answer tells whether the user exists.
func TestFailedLoginsLookAlike(t *testing.T) {
	ctx := context.Background()
	svc, h := openGuarded(t, nil)
	alice, err := svc.CreateUser(ctx, DefaultDomainID, "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	carol, _ := svc.CreateUser(ctx, DefaultDomainID, "carol", "carol-pw")
	if _, err := svc.UpdateUser(ctx, carol.ID, nil, nil, &off); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ref  UserRef
		pw   string
	}{
		{"wrong password", UserRef{Name: "alice", DomainID: DefaultDomainID}, "nope"},
		{"wrong password by id", UserRef{ID: alice.ID}, "nope"},
		{"unknown user", UserRef{Name: "ghost", DomainID: DefaultDomainID}, "nope"},
		{"unknown user id", UserRef{ID: "0123456789abcdef0123456789abcdef"}, "nope"},
		{"unknown domain", UserRef{Name: "alice", DomainName: "Elsewhere"}, "alice-pw"},
		{"unknown domain id", UserRef{Name: "alice", DomainID: "nowhere"}, "alice-pw"},
		{"disabled user, right password", UserRef{ID: carol.ID}, "carol-pw"},
	} {
		before := h.Checks()
		_, err := svc.AuthPassword(ctx, c.ref, c.pw, Scope{})
		if !errors.Is(err, identity.ErrUnauthenticated) || identity.Reason(err) != identity.Reason(authFailed()) {
			t.Errorf("%s: %v", c.name, err)
		}
		if got := h.Checks() - before; got != 1 {
			t.Errorf("%s: %d password checks, want 1", c.name, got)
		}
	}
}

// TestGuardCountsEveryUserAlike: failures are counted per user under one
// key for every spelling of the user, and the same way whether or not it
// exists, so the limit itself does not reveal which names exist.
func TestGuardCountsEveryUserAlike(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"alice", "ghost"} {
		t.Run(name, func(t *testing.T) {
			g := loginguard.New(loginguard.Config{SourceFailuresPerMinute: -1, UserFailuresPerMinute: 2, Tarpit: -1})
			svc, h := openGuarded(t, g)
			if _, err := svc.CreateUser(ctx, DefaultDomainID, "alice", "alice-pw"); err != nil {
				t.Fatal(err)
			}
			// Two failures from two addresses, the domain once by name and
			// once by id.
			for _, a := range []struct{ src, domID, domName string }{{"192.0.2.1:1", "", "Default"}, {"192.0.2.2:1", DefaultDomainID, ""}} {
				if _, err := svc.AuthPasswordFrom(ctx, a.src, UserRef{Name: name, DomainID: a.domID, DomainName: a.domName}, "nope", Scope{}); !errors.Is(err, identity.ErrUnauthenticated) {
					t.Fatalf("failure from %s: %v", a.src, err)
				}
			}
			before := h.Checks()
			_, err := svc.AuthPasswordFrom(ctx, "192.0.2.3:1", UserRef{Name: name, DomainName: "Default"}, "alice-pw", Scope{})
			var lim *loginguard.Limited
			if !errors.As(err, &lim) {
				t.Fatalf("third login: %v, want limited", err)
			}
			if h.Checks() != before {
				t.Fatal("a limited login still checked a password")
			}
		})
	}
}

// TestFloodedSourceIsRefusedFirst: a source out of failures is refused
// before its password is checked, while a user logging in from another
// address gets through, and a source that logged in as a user before is
// not held by that user's limit.
func TestFloodedSourceIsRefusedFirst(t *testing.T) {
	ctx := context.Background()
	g := loginguard.New(loginguard.Config{SourceFailuresPerMinute: 3, UserFailuresPerMinute: 3, Tarpit: -1})
	svc, h := openGuarded(t, g)
	admin := UserRef{Name: "admin", DomainID: DefaultDomainID}
	if _, err := svc.AuthPasswordFrom(ctx, "198.51.100.9:1", admin, "admin-pw", Scope{}); err != nil {
		t.Fatal(err)
	}
	// The attacker spends its source's failures, and the user's.
	for i := range 3 {
		if _, err := svc.AuthPasswordFrom(ctx, "203.0.113.5:1000", admin, "guess", Scope{}); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	before := h.Checks()
	var lim *loginguard.Limited
	if _, err := svc.AuthPasswordFrom(ctx, "203.0.113.5:2000", UserRef{Name: "other", DomainID: DefaultDomainID}, "guess", Scope{}); !errors.As(err, &lim) {
		t.Fatalf("flooded source: %v", err)
	}
	if _, err := svc.AuthPasswordFrom(ctx, "203.0.113.77:1", admin, "admin-pw", Scope{}); !errors.As(err, &lim) {
		t.Fatalf("new source for a user out of failures: %v", err)
	}
	if h.Checks() != before {
		t.Fatal("limited logins checked a password")
	}
	if _, err := svc.AuthPasswordFrom(ctx, "198.51.100.9:2", admin, "admin-pw", Scope{}); err != nil {
		t.Fatalf("the user's own address: %v", err)
	}
}
