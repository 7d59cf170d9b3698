package builtin

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// interleaved is the real SQLite store with a hook run once, after GetUser
// returns or before UpdateUser begins: it puts another request's change
// exactly between a login's read of the user and the token it issues, or
// between a password change's hash and its write, the moments a race hits.
type interleaved struct {
	identity.Store
	once  sync.Once
	after func()
}

func (s *interleaved) GetUser(ctx context.Context, id string) (*identity.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	if s.after != nil {
		s.once.Do(s.after)
	}
	return u, err
}

// UpdateUser runs the hook first, as if another request committed its
// change just before this update's transaction (after its password hash).
func (s *interleaved) UpdateUser(ctx context.Context, id string, change func(*identity.User) error) (*identity.User, error) {
	if s.after != nil {
		s.once.Do(s.after)
	}
	return s.Store.UpdateUser(ctx, id, change)
}

// openInterleaved opens a live service whose store runs after once, after
// the first user it reads.
func (w *world) openInterleaved(t *testing.T, after func()) *Service {
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
	svc, err := New(Config{Store: &interleaved{Store: st, after: after}, Tokens: token.NewIssuer(ring),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2), CredentialKey: w.credKey})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func authenticates(s *Service, tok string) bool {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(Header, tok)
	_, err := s.Authenticate(context.Background(), r)
	return err == nil
}

// TestLoginRacingPasswordChange: a password change that commits while a
// login with the old password is being checked ends the token that login
// issues, as it ends every token issued before it.
func TestLoginRacingPasswordChange(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.openLive(t)
	f := newFixture(t, a)
	pw := "new-pw"
	b := w.openInterleaved(t, func() {
		if _, err := a.UpdateUser(ctx, f.user.ID, nil, &pw, nil); err != nil {
			t.Error(err)
		}
	})
	tok, err := b.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if err := s.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if authenticates(s, tok.ID) {
			t.Error("a token from the old password, issued as the password changed, authenticates after the change")
		}
	}
}

// TestRescopeBeforeReload: on an instance that has not yet reloaded after
// a password change made on another, rescoping the old token must not
// give a token that outlives the change: refused, or ended by the reload
// as the old token is.
func TestRescopeBeforeReload(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, b := w.openLive(t), w.openLive(t)
	f := newFixture(t, a)
	old, err := a.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	pw := "new-pw"
	if _, err := a.UpdateUser(ctx, f.user.ID, nil, &pw, nil); err != nil {
		t.Fatal(err)
	}
	minted, err := b.AuthToken(ctx, old.ID, Scope{ProjectID: f.project.ID})
	if errors.Is(err, identity.ErrUnauthenticated) {
		return
	}
	if err != nil {
		t.Fatalf("rescope before the reload: %v", err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if authenticates(s, old.ID) {
			t.Error("the old token authenticates after the password change")
		}
		if authenticates(s, minted.ID) {
			t.Error("a token minted from the old token authenticates after the password change")
		}
	}
}

// TestEC2InOtherDomainsProject: a user of one domain holding a role on a
// project of another has an EC2 credential there; disabling the project's
// domain ends the credential, as it ends tokens scoped to the project.
func TestEC2InOtherDomainsProject(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a, b := w.openLive(t), w.openLive(t)
	f := newFixture(t, a)
	other := &identity.Domain{ID: NewID(), Name: "other", Enabled: true}
	if err := a.Store().CreateDomain(ctx, other); err != nil {
		t.Fatal(err)
	}
	p, err := a.EnsureProject(ctx, other.ID, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Grant(ctx, f.user.ID, p.ID, "member"); err != nil {
		t.Fatal(err)
	}
	ec2, err := a.CreateEC2(ctx, f.user.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.LookupSecret(ctx, ec2.Access); err != nil {
		t.Fatalf("before: %v", err)
	}
	off := false
	if _, err := a.UpdateDomain(ctx, other.ID, DomainChange{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if _, _, err := s.LookupSecret(ctx, ec2.Access); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("EC2 credential on a project of a disabled domain: %v, want refused", err)
		}
	}
}

// TestDisableRacingPasswordChange: an administrator disables a user while
// another changes its password (the new password takes a password hash
// to compute, tens of milliseconds). The user must stay disabled.
func TestDisableRacingPasswordChange(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.openLive(t)
	f := newFixture(t, a)
	b := w.openInterleaved(t, func() {
		off := false
		if _, err := a.UpdateUser(ctx, f.user.ID, nil, nil, &off); err != nil {
			t.Error(err)
		}
	})
	pw := "new-pw"
	if _, err := b.UpdateUser(ctx, f.user.ID, nil, &pw, nil); err != nil {
		t.Fatal(err)
	}
	u, err := a.Store().GetUser(ctx, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Enabled {
		t.Fatal("the user disabled during a password change is enabled again")
	}
}

// TestLoginRacingWithdrawals: a disable, a deletion or the removal of the
// role that commits while a login is checking the password, or while a
// rescope is reading the user, ends the token that login or rescope issues
// (or it fails).
func TestLoginRacingWithdrawals(t *testing.T) {
	for _, rescope := range []bool{false, true} {
		t.Run(map[bool]string{false: "password", true: "rescope"}[rescope], func(t *testing.T) { racingWithdrawals(t, rescope) })
	}
}

func racingWithdrawals(t *testing.T, rescope bool) {
	for _, c := range []struct {
		name     string
		withdraw func(ctx context.Context, a *Service, f *fixture) error
	}{
		{"user disabled", func(ctx context.Context, a *Service, f *fixture) error {
			off := false
			_, err := a.UpdateUser(ctx, f.user.ID, nil, nil, &off)
			return err
		}},
		{"user deleted", func(ctx context.Context, a *Service, f *fixture) error { return a.DeleteUser(ctx, f.user.ID) }},
		{"role removed", func(ctx context.Context, a *Service, f *fixture) error {
			r, err := a.Store().GetRoleByName(ctx, "member")
			if err != nil {
				return err
			}
			return a.Ungrant(ctx, identity.Assignment{UserID: f.user.ID, ProjectID: f.project.ID, RoleID: r.ID})
		}},
		{"project disabled", func(ctx context.Context, a *Service, f *fixture) error {
			off := false
			_, err := a.UpdateProject(ctx, f.project.ID, ProjectChange{Enabled: &off})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			a := w.openLive(t)
			f := newFixture(t, a)
			b := w.openInterleaved(t, func() {
				if err := c.withdraw(ctx, a, f); err != nil {
					t.Error(err)
				}
			})
			var tok *Token
			var err error
			if rescope {
				old, lerr := a.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
				if lerr != nil {
					t.Fatal(lerr)
				}
				tok, err = b.AuthToken(ctx, old.ID, Scope{ProjectID: f.project.ID})
			} else {
				tok, err = b.AuthPassword(ctx, UserRef{ID: f.user.ID}, "alice-pw", Scope{ProjectID: f.project.ID})
			}
			if err != nil {
				return // refused: as good
			}
			for _, s := range []*Service{a, b} {
				if err := s.Reload(ctx); err != nil {
					t.Fatal(err)
				}
				if authenticates(s, tok.ID) {
					t.Errorf("a token issued by a login racing the change authenticates after it")
				}
			}
		})
	}
}
