package builtin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
)

// DefaultDomainID is the id of the Default domain, as in Keystone.
const DefaultDomainID = "default"

// Config is what the Service needs.
type Config struct {
	Store  identity.Store
	Tokens *token.Issuer
	Hasher *password.Hasher
	// CredentialKey (32 bytes) seals EC2 secrets in the store.
	CredentialKey []byte
	// TokenLifetime is how long issued tokens live; token.DefaultLifetime
	// when 0.
	TokenLifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Guard limits password logins (login.go); nil for no limits.
	Guard *loginguard.Guard
}

// Service is the built-in identity service.
type Service struct {
	store    identity.Store
	tokens   *token.Issuer
	hasher   *password.Hasher
	credKey  []byte
	lifetime time.Duration
	now      func() time.Time
	access   *access
	login    *login
	// reloading serialises Reload (access.go).
	reloading *sync.Mutex
	// secrets caches opened EC2 credentials until the next Reload.
	secrets *secretCache
}

// New returns the built-in identity service.
func New(cfg Config) (*Service, error) {
	if len(cfg.CredentialKey) != 32 {
		return nil, errors.New("builtin identity: credential key must be 32 bytes")
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = token.DefaultLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: cfg.Store, tokens: cfg.Tokens, hasher: cfg.Hasher, credKey: cfg.CredentialKey,
		lifetime: cfg.TokenLifetime, now: cfg.Now, access: newAccess(), login: newLogin(cfg), reloading: &sync.Mutex{},
		secrets: newSecretCache()}, nil
}

// Store returns the identity store, for the admin API and commands.
func (s *Service) Store() identity.Store { return s.store }

// NewID returns a Keystone-style id: 32 lower-case hex characters.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// authFailed is Keystone's answer to any failed authentication; it says no
// more, so callers cannot probe which part was wrong.
func authFailed() error {
	return identity.Unauthenticated("The request you have made requires authentication.")
}

// UserRef names a user by id, or by name within a domain (by id or name).
type UserRef struct {
	ID, Name, DomainID, DomainName string
}

// Scope names what a token is for: a project by id, or by name within a
// domain; all empty means unscoped.
type Scope struct {
	ProjectID, ProjectName, DomainID, DomainName string
}

// Unscoped reports whether the scope names nothing.
func (sc Scope) Unscoped() bool { return sc.ProjectID == "" && sc.ProjectName == "" }

// Token is an issued or validated token with what a Keystone token body
// shows about it.
type Token struct {
	// ID is the token itself; only set when issued.
	ID            string
	Payload       token.Payload
	User          *identity.User
	UserDomain    *identity.Domain
	Project       *identity.Project
	ProjectDomain *identity.Domain
	Roles         []*identity.Role
}

func (s *Service) domainRef(ctx context.Context, id, name string) (*identity.Domain, error) {
	if id != "" {
		return s.store.GetDomain(ctx, id)
	}
	if name != "" {
		return s.store.GetDomainByName(ctx, name)
	}
	return nil, fmt.Errorf("no domain given: %w", identity.ErrNotFound)
}

// AuthPassword authenticates a user by password and issues a token for
// scope; AuthPasswordFrom (login.go) does the work.
func (s *Service) AuthPassword(ctx context.Context, ref UserRef, pw string, scope Scope) (*Token, error) {
	return s.AuthPasswordFrom(ctx, "", ref, pw, scope)
}

// AuthToken issues a new token for scope from a valid token of the same
// user (Keystone's "token" method, used to rescope). The new token expires
// no later than the old one.
func (s *Service) AuthToken(ctx context.Context, tok string, scope Scope) (*Token, error) {
	issued := s.now()
	// The new token is issued after the old one's withdrawal events, so
	// they would not end it: read them from the store first rather than
	// trust this instance's copy, which may be a reload behind a change
	// made on another instance. A failed read leaves the last copy.
	_ = s.Reload(ctx)
	p, err := s.tokens.Open(tok, s.now())
	if err != nil || !s.access.tokenAllowed(p) {
		return nil, authFailed()
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, authFailed()
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled {
		return nil, authFailed()
	}
	methods := append([]string(nil), p.Methods...)
	if !slices.Contains(methods, "token") {
		methods = append(methods, "token")
	}
	return s.issueUntil(ctx, u, methods, scope, issued, p.ExpiresAt)
}

// issueUntil issues a token for u and scope, expiring after the lifetime or
// at notAfter when that is set and sooner. issued is when the caller began
// to read what the token rests on (the user, its password, the old
// token): a change that withdraws access after that moment ends the token,
// even when it commits while the token is being issued.
func (s *Service) issueUntil(ctx context.Context, u *identity.User, methods []string, scope Scope, issued, notAfter time.Time) (*Token, error) {
	now := issued.UTC().Truncate(time.Microsecond)
	t := &Token{User: u}
	var err error
	if t.UserDomain, err = s.store.GetDomain(ctx, u.DomainID); err != nil {
		return nil, err
	}
	if !t.UserDomain.Enabled {
		return nil, authFailed()
	}
	if !scope.Unscoped() {
		if err := s.scopeTo(ctx, t, scope); err != nil {
			return nil, err
		}
	}
	t.Payload = token.Payload{UserID: u.ID, DomainID: u.DomainID, Methods: methods, IssuedAt: now,
		ExpiresAt: now.Add(s.lifetime), AuditID: token.NewAuditID()}
	if !notAfter.IsZero() && notAfter.Before(t.Payload.ExpiresAt) {
		t.Payload.ExpiresAt = notAfter
	}
	if t.Project != nil {
		t.Payload.ProjectID, t.Payload.ProjectDomainID = t.Project.ID, t.Project.DomainID
		for _, r := range t.Roles {
			t.Payload.Roles = append(t.Payload.Roles, r.Name)
		}
	}
	if t.ID, err = s.tokens.Seal(t.Payload); err != nil {
		return nil, err
	}
	return t, nil
}

// scopeTo resolves the project and the user's roles on it; a user with no
// role there may not scope to it.
func (s *Service) scopeTo(ctx context.Context, t *Token, scope Scope) error {
	var p *identity.Project
	var err error
	if scope.ProjectID != "" {
		p, err = s.store.GetProject(ctx, scope.ProjectID)
	} else {
		var d *identity.Domain
		if d, err = s.domainRef(ctx, scope.DomainID, scope.DomainName); err == nil {
			p, err = s.store.GetProjectByName(ctx, d.ID, scope.ProjectName)
		}
	}
	if errors.Is(err, identity.ErrNotFound) {
		return authFailed()
	}
	if err != nil {
		return err
	}
	if !p.Enabled {
		return authFailed()
	}
	names, err := s.store.RoleNames(ctx, t.User.ID, p.ID)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return identity.Unauthenticated(fmt.Sprintf("User %s has no access to project %s", t.User.ID, p.ID))
	}
	for _, n := range names {
		r, err := s.store.GetRoleByName(ctx, n)
		if err != nil {
			return err
		}
		t.Roles = append(t.Roles, r)
	}
	t.Project = p
	if t.ProjectDomain, err = s.store.GetDomain(ctx, p.DomainID); err != nil {
		return err
	}
	if !t.ProjectDomain.Enabled {
		return authFailed()
	}
	return nil
}

// ErrTokenNotFound is Validate's answer for a token that is not valid.
var ErrTokenNotFound = errors.New("builtin identity: token not found")

// Validate opens a token and loads what a Keystone token body shows about
// it. It reads the store, so a user, project or domain disabled on any
// instance ends the token here at once; request authentication uses
// Authenticate, which reads no database.
func (s *Service) Validate(ctx context.Context, tok string) (*Token, error) {
	p, err := s.tokens.Open(tok, s.now())
	if err != nil || !s.access.tokenAllowed(p) {
		return nil, ErrTokenNotFound
	}
	t := &Token{Payload: *p}
	if t.User, err = s.store.GetUser(ctx, p.UserID); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return nil, ErrTokenNotFound
		}
		return nil, err
	}
	if t.UserDomain, err = s.store.GetDomain(ctx, t.User.DomainID); err != nil {
		return nil, err
	}
	if !t.User.Enabled || !t.UserDomain.Enabled {
		return nil, ErrTokenNotFound
	}
	if p.ProjectID != "" {
		if t.Project, err = s.store.GetProject(ctx, p.ProjectID); err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				return nil, ErrTokenNotFound
			}
			return nil, err
		}
		if t.ProjectDomain, err = s.store.GetDomain(ctx, t.Project.DomainID); err != nil {
			return nil, err
		}
		if !t.Project.Enabled || !t.ProjectDomain.Enabled {
			return nil, ErrTokenNotFound
		}
		for _, n := range p.Roles {
			r, err := s.store.GetRoleByName(ctx, n)
			if errors.Is(err, identity.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			t.Roles = append(t.Roles, r)
		}
	}
	return t, nil
}

// Revoke revokes a token until it would have expired.
func (s *Service) Revoke(ctx context.Context, tok string) error {
	p, err := s.tokens.Open(tok, s.now())
	if err != nil {
		return ErrTokenNotFound
	}
	if err := s.store.Revoke(ctx, identity.Revocation{AuditID: p.AuditID, ExpiresAt: p.ExpiresAt}); err != nil {
		return err
	}
	s.tokens.Revoke(p.AuditID, p.ExpiresAt)
	return nil
}

// AuthenticateFresh is Authenticate after a Reload, for a request that
// makes something lasting from the token (a user, a grant, an EC2
// credential): it must not rest on this instance's copy of withdrawn
// access, which may be a reload behind a change made on another instance,
// or the withdrawn caller could undo the withdrawal (grant the role
// again, say) for good. It fails when the store cannot be read.
func (s *Service) AuthenticateFresh(ctx context.Context, r *http.Request) (identity.Principal, error) {
	if err := s.Reload(ctx); err != nil {
		return identity.Principal{}, err
	}
	return s.Authenticate(ctx, r)
}

// Header is the request header carrying a token.
const Header = "X-Auth-Token"

// Authenticate implements identity.Authenticator from X-Auth-Token. It
// reads no database: the token says who and what, the revocations and
// withdrawn access are in memory (see Reload). Unscoped tokens are
// refused: every API acts within a project.
func (s *Service) Authenticate(_ context.Context, r *http.Request) (identity.Principal, error) {
	tok := r.Header.Get(Header)
	if tok == "" {
		return identity.Principal{}, identity.ErrUnauthenticated
	}
	p, err := s.tokens.Open(tok, s.now())
	if err != nil || p.ProjectID == "" || !s.access.tokenAllowed(p) {
		return identity.Principal{}, identity.ErrUnauthenticated
	}
	return identity.Principal{UserID: p.UserID, ProjectID: p.ProjectID, DomainID: p.DomainID, Roles: p.Roles}, nil
}
