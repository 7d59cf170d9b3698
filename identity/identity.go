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
// dialects answer it with 401.
var ErrUnauthenticated = errors.New("identity: the request you have made requires authentication")

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
