package builtin

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// openLive opens a service on the world's data directory with the real
// clock, as a keyhaven process does: access events carry the store's
// time, so the tokens they end must carry real time too.
func (w *world) openLive(t *testing.T) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(w.dir, "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring, err := token.OpenKeyring(filepath.Join(w.dir, "keys"), 3)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Store: st, Tokens: token.NewIssuer(ring),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2), CredentialKey: w.credKey})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestWithdrawnAccess takes access away in every way there is, on one
// instance, and checks that every credential of the user stops working
// there at once and on a second instance after its reload: the token, a
// token minted from it, token validation and the EC2 credential; and that
// the user's current roles, which a waiting association task asks for,
// are none on both at once.
func TestWithdrawnAccess(t *testing.T) {
	cases := []struct {
		name string
		// withdraw takes the access away through a.
		withdraw func(ctx context.Context, a *Service, f *fixture) error
		// ec2Stops is false where the EC2 credential is not affected.
		ec2Stops bool
		// loginStops is false where a new password login still works.
		loginStops bool
	}{
		{"user disabled", func(ctx context.Context, a *Service, f *fixture) error {
			off := false
			_, err := a.UpdateUser(ctx, f.user.ID, nil, nil, &off)
			return err
		}, true, true},
		{"password changed", func(ctx context.Context, a *Service, f *fixture) error {
			pw := "new-pw"
			_, err := a.UpdateUser(ctx, f.user.ID, nil, &pw, nil)
			return err
		}, false, true},
		{"role removed", func(ctx context.Context, a *Service, f *fixture) error {
			r, err := a.Store().GetRoleByName(ctx, "member")
			if err != nil {
				return err
			}
			return a.Ungrant(ctx, identity.Assignment{UserID: f.user.ID, ProjectID: f.project.ID, RoleID: r.ID})
		}, true, true},
		{"user deleted", func(ctx context.Context, a *Service, f *fixture) error {
			return a.DeleteUser(ctx, f.user.ID)
		}, true, true},
		{"project disabled", func(ctx context.Context, a *Service, f *fixture) error {
			off := false
			_, err := a.UpdateProject(ctx, f.project.ID, ProjectChange{Enabled: &off})
			return err
		}, true, true},
		{"domain disabled", func(ctx context.Context, a *Service, f *fixture) error {
			off := false
			_, err := a.UpdateDomain(ctx, f.domain.ID, DomainChange{Enabled: &off})
			return err
		}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			a, b := w.openLive(t), w.openLive(t)
			f := newFixture(t, a)
			tok, err := a.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
			if err != nil {
				t.Fatal(err)
			}
			minted, err := a.AuthToken(ctx, tok.ID, Scope{ProjectID: f.project.ID})
			if err != nil {
				t.Fatal(err)
			}
			ec2, err := a.CreateEC2(ctx, f.user.ID, f.project.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Service{a, b} {
				if err := s.Reload(ctx); err != nil {
					t.Fatal(err)
				}
				f.wantWorks(t, s, "before", tok.ID, minted.ID, ec2.Access, true)
			}

			if roles, err := b.CurrentRoles(ctx, f.user.ID, f.project.ID); err != nil || len(roles) == 0 {
				t.Fatalf("current roles before: %v %v", roles, err)
			}
			if err := c.withdraw(ctx, a, f); err != nil {
				t.Fatal(err)
			}
			// What a waiting association task asks before it runs: read
			// from the store, so the other instance sees it at once too.
			for _, s := range []*Service{a, b} {
				roles, err := s.CurrentRoles(ctx, f.user.ID, f.project.ID)
				if err != nil || (len(roles) == 0) != c.ec2Stops {
					t.Errorf("current roles after %s: %v %v", c.name, roles, err)
				}
			}
			f.wantWorks(t, a, "at once on the instance that made the change", tok.ID, minted.ID, "", false)
			if err := b.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			f.wantWorks(t, b, "on another instance after its reload", tok.ID, minted.ID, "", false)
			for _, s := range []*Service{a, b} {
				_, _, err := s.LookupSecret(ctx, ec2.Access)
				if c.ec2Stops && !errors.Is(err, identity.ErrUnauthenticated) {
					t.Errorf("EC2 credential after %s: %v", c.name, err)
				}
				if !c.ec2Stops && err != nil {
					t.Errorf("EC2 credential stopped after %s: %v", c.name, err)
				}
				_, err = s.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
				if c.loginStops && !errors.Is(err, identity.ErrUnauthenticated) {
					t.Errorf("login with the old password after %s: %v", c.name, err)
				}
			}
		})
	}
}

// TestNewTokenAfterPasswordChange: the tokens a user gets after a change
// that withdrew only older tokens work on both instances.
func TestNewTokenAfterPasswordChange(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, b := w.openLive(t), w.openLive(t)
	f := newFixture(t, a)
	pw := "new-pw"
	if _, err := a.UpdateUser(ctx, f.user.ID, nil, &pw, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := a.AuthPassword(ctx, UserRef{ID: f.user.ID}, pw, Scope{ProjectID: f.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		f.wantWorks(t, s, "after the change", tok.ID, tok.ID, "", true)
	}
}

// fixture is one user, member of one project in a domain of its own.
type fixture struct {
	domain  *identity.Domain
	project *identity.Project
	user    *identity.User
}

func newFixture(t *testing.T, s *Service) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, "admin-pw"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{domain: &identity.Domain{ID: NewID(), Name: "team", Enabled: true}}
	if err := s.Store().CreateDomain(ctx, f.domain); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.project, err = s.EnsureProject(ctx, f.domain.ID, "dev"); err != nil {
		t.Fatal(err)
	}
	if f.user, err = s.CreateUser(ctx, f.domain.ID, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, f.user.ID, f.project.ID, "member"); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantWorks checks whether the tokens authenticate, validate and mint new
// tokens on s, and whether the access key (when given) opens.
func (f *fixture) wantWorks(t *testing.T, s *Service, when, tok, minted, access string, works bool) {
	t.Helper()
	ctx := context.Background()
	for _, x := range []struct{ what, tok string }{{"token", tok}, {"minted token", minted}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(Header, x.tok)
		if _, err := s.Authenticate(ctx, r); (err == nil) != works {
			t.Errorf("%s: %s authenticates: %v, want %v", when, x.what, err == nil, works)
		}
		if _, err := s.Validate(ctx, x.tok); (err == nil) != works {
			t.Errorf("%s: %s validates: %v (%v), want %v", when, x.what, err == nil, err, works)
		}
		if _, err := s.AuthToken(ctx, x.tok, Scope{ProjectID: f.project.ID}); (err == nil) != works {
			t.Errorf("%s: %s mints a new token: %v, want %v", when, x.what, err == nil, works)
		}
	}
	if access != "" {
		if _, _, err := s.LookupSecret(ctx, access); (err == nil) != works {
			t.Errorf("%s: EC2 credential opens: %v (%v), want %v", when, err == nil, err, works)
		}
	}
}

// TestPruneForgetsOldEvents: Prune keeps an access event while a token it
// refuses could be alive (the lifetime and a day's margin) and forgets it
// after.
func TestPruneForgetsOldEvents(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.openLive(t)
	f := newFixture(t, a)
	if err := a.DeleteUser(ctx, f.user.ID); err != nil {
		t.Fatal(err)
	}
	events := func() int {
		snap, err := a.Store().Access(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return len(snap.Events)
	}
	if err := a.Prune(ctx); err != nil || events() != 1 {
		t.Fatalf("a fresh event pruned: %v, %d left", err, events())
	}
	later := *a
	later.now = func() time.Time { return time.Now().Add(token.DefaultLifetime + 25*time.Hour) }
	if err := later.Prune(ctx); err != nil || events() != 0 {
		t.Fatalf("an event past the lifetime and a day kept: %v, %d left", err, events())
	}
}
