package identity

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// AdminRole is the role that makes a principal an administrator.
const AdminRole = "admin"

// Principal is an authenticated caller.
type Principal struct {
	// UserID is the caller's user.
	UserID string
	// ProjectID is the project the credential is scoped to.
	ProjectID string
	// DomainID is the caller's domain, when the backend knows it.
	DomainID string
	// Roles are the caller's roles in that project.
	Roles []string
}

// IsAdmin reports whether the principal holds the administrator role.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Roles, AdminRole) }

// ErrUnauthenticated means the request carries no valid credential; API
// dialects answer it with 401. Backends return it, or an *AuthError that
// matches it with errors.Is and says why.
var ErrUnauthenticated = errors.New("identity: the request you have made requires authentication")

// ErrReplayed matches (with errors.Is) the refusal of a signed request
// that was already received, so that a dialect with a code for it (KPS)
// can tell it from other authentication failures; it is still
// ErrUnauthenticated too.
var ErrReplayed = errors.New("identity: the signed request was already received")

// AuthError is a refused credential with a reason safe to show the caller
// (it never holds the credential itself).
type AuthError struct {
	// Reason says what was wrong, e.g. "signature does not match".
	Reason string
	// Replayed marks the refusal of a signature seen before.
	Replayed bool
}

// Error returns the reason.
func (e *AuthError) Error() string { return "identity: " + e.Reason }

// Is makes every AuthError match ErrUnauthenticated, and a replay's
// ErrReplayed.
func (e *AuthError) Is(target error) bool {
	return target == ErrUnauthenticated || (e.Replayed && target == ErrReplayed)
}

// Unauthenticated returns an *AuthError with the given reason.
func Unauthenticated(reason string) error { return &AuthError{Reason: reason} }

// Reason returns the caller-safe reason of an authentication failure, or ""
// when err carries none.
func Reason(err error) string {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// ErrUnknownAccessKey is what a SecretSource returns for an access key it
// does not hold.
var ErrUnknownAccessKey = &AuthError{Reason: "unknown access key"}

// SecretSource finds the secret key of an access key and the principal the
// pair authenticates as. The built-in identity service and remote Keystone
// (through its OS-EC2 credentials) both implement it.
type SecretSource interface {
	LookupSecret(ctx context.Context, accessKey string) (secret string, p Principal, err error)
}

// Authenticator turns a request's credentials into a Principal, or returns
// ErrUnauthenticated when there are none or they are not valid.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (Principal, error)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p, for handlers below authentication.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal that authentication stored in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Chain tries authenticators in order and returns the first principal; it
// answers ErrUnauthenticated (with the last reason) only when none accepts
// the request, and passes any other failure straight through.
type Chain []Authenticator

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	err := ErrUnauthenticated
	for _, a := range c {
		p, e := a.Authenticate(ctx, r)
		if e == nil {
			return p, nil
		}
		if !errors.Is(e, ErrUnauthenticated) {
			return Principal{}, e
		}
		if Reason(e) != "" || err == ErrUnauthenticated {
			err = e
		}
	}
	return Principal{}, err
}

// Select sends each request to one of two authenticators: Then when When
// says the request carries its kind of credential, Else otherwise.
type Select struct {
	When func(*http.Request) bool
	Then Authenticator
	Else Authenticator
}

// Authenticate implements Authenticator.
func (s Select) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	if s.When(r) {
		return s.Then.Authenticate(ctx, r)
	}
	return s.Else.Authenticate(ctx, r)
}
