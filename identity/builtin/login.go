package builtin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/identity/password"
)

// login holds what password logins share: the guard that limits them and
// the dummy hash that users who do not exist are checked against.
type login struct {
	guard *loginguard.Guard
	dummy string
}

func newLogin(cfg Config) *login {
	return &login{guard: cfg.Guard, dummy: cfg.Hasher.DummyHash()}
}

// AuthPasswordFrom is AuthPassword for a login from source, the client's
// address ("host:port"), which failed logins are counted against. Every
// login that passes the guard costs one password check, whether the user,
// its domain or neither exists, so that the time of a 401 does not tell
// which; and every one is counted the same way.
func (s *Service) AuthPasswordFrom(ctx context.Context, source string, ref UserRef, pw string, scope Scope) (*Token, error) {
	// Taken before the user is read: a password change that commits while
	// the old password is being checked must end the token this issues.
	issued := s.now()
	g := s.login.guard
	src := loginguard.SourceKey(source)
	if g != nil {
		// Before any lookup: a source out of failures costs nothing more.
		if err := g.CheckSource(ctx, src); err != nil {
			return nil, err
		}
	}
	u, key, err := s.loginUser(ctx, ref)
	if err != nil {
		return nil, err
	}
	var ticket *loginguard.Ticket
	if g != nil {
		if ticket, err = g.Enter(ctx, src, key); err != nil {
			return nil, err
		}
	}
	hash := s.login.dummy
	if u != nil {
		hash = u.PasswordHash
	}
	verr := s.hasher.Verify(ctx, hash, pw)
	ok := verr == nil && u != nil && u.Enabled
	if ticket != nil {
		ticket.Done(ok)
	}
	if verr != nil && !errors.Is(verr, password.ErrMismatch) {
		return nil, verr
	}
	if !ok {
		return nil, authFailed()
	}
	return s.issueUntil(ctx, u, []string{"password"}, scope, issued, time.Time{})
}

// loginUser finds the user ref names, nil when there is none, and the key
// its failures are counted under: the user's id when it exists, otherwise
// the name within the resolved domain, so that every spelling of one user
// shares one count whether or not the user exists.
func (s *Service) loginUser(ctx context.Context, ref UserRef) (*identity.User, string, error) {
	var u *identity.User
	var err error
	key := ""
	if ref.ID != "" {
		key = "id " + ref.ID
		u, err = s.store.GetUser(ctx, ref.ID)
	} else {
		var d *identity.Domain
		d, err = s.domainRef(ctx, ref.DomainID, ref.DomainName)
		switch {
		case err == nil:
			key = fmt.Sprintf("name %q %q", d.ID, ref.Name)
			u, err = s.store.GetUserByName(ctx, d.ID, ref.Name)
		case errors.Is(err, identity.ErrNotFound):
			key = fmt.Sprintf("name %q %q %q", ref.DomainID, ref.DomainName, ref.Name)
		}
	}
	if errors.Is(err, identity.ErrNotFound) {
		return nil, key, nil
	}
	if err != nil {
		return nil, "", err
	}
	return u, "id " + u.ID, nil
}
