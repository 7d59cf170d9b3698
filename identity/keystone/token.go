package keystone

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// Header is the request header that carries the caller's Keystone token.
const Header = "X-Auth-Token"

// maxTokenLen bounds the tokens sent to Keystone for validation; Fernet
// tokens are a few hundred bytes.
const maxTokenLen = 8192

// tokenBody is the part of Keystone's token document keyhaven reads.
type tokenBody struct {
	Token struct {
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"project"`
		System map[string]any `json:"system"`
		Roles  []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"token"`
}

// tokenResult is a validated token: who it is and until when Keystone said
// it is valid.
type tokenResult struct {
	p       identity.Principal
	expires time.Time
}

// Authenticate implements identity.Authenticator: it validates the request's
// X-Auth-Token with Keystone (or the cache). A token Keystone does not
// accept yields an error matching identity.ErrUnauthenticated; failing to
// ask Keystone yields one matching ErrUnavailable.
//
// The principal's roles are the token's for a project- or system-scoped
// token; a domain-scoped or unscoped token carries none, so that a domain's
// admin is not taken for keyhaven's admin.
func (c *Client) Authenticate(ctx context.Context, r *http.Request) (identity.Principal, error) {
	tok := r.Header.Get(Header)
	if tok == "" {
		return identity.Principal{}, identity.Unauthenticated("no " + Header + " header")
	}
	if len(tok) > maxTokenLen {
		return identity.Principal{}, identity.Unauthenticated("token is not valid")
	}
	key := sha256.Sum256([]byte(tok))
	now := c.cfg.Now()
	if res, ok := c.tokens.get(key, now); ok {
		return clonePrincipal(res.p), nil
	}
	if _, ok := c.badTokens.get(key, now); ok {
		return identity.Principal{}, identity.Unauthenticated("token is not valid")
	}
	res, err := c.tokenCall.do(ctx, key, func(ctx context.Context) (tokenResult, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		res, err := c.validate(ctx, tok)
		now := c.cfg.Now()
		switch {
		case err == nil:
			c.tokens.put(key, res, minTime(now.Add(c.cfg.CacheTTL), res.expires), now)
		case errors.Is(err, identity.ErrUnauthenticated):
			c.badTokens.put(key, struct{}{}, now.Add(c.negativeTTL()), now)
		}
		return res, err
	})
	if err != nil {
		if !errors.Is(err, identity.ErrUnauthenticated) {
			err = fail("validate token", err) // e.g. ctx ended while waiting
		}
		return identity.Principal{}, err
	}
	return clonePrincipal(res.p), nil
}

// validate asks Keystone about tok.
func (c *Client) validate(ctx context.Context, tok string) (tokenResult, error) {
	const op = "validate token"
	var body tokenBody
	resp, err := c.call(ctx, http.MethodGet, "/auth/tokens?nocatalog", tok, &body)
	if err != nil {
		return tokenResult{}, fail(op, err)
	}
	switch resp.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusUnauthorized:
		// Keystone answers 404 for a token that is malformed, expired or
		// revoked (and 401 when it blames the subject token).
		return tokenResult{}, identity.Unauthenticated("token is not valid")
	default:
		return tokenResult{}, &Error{Op: op, Status: resp.status, Message: resp.message}
	}
	t := &body.Token
	if t.User.ID == "" || t.ExpiresAt.IsZero() {
		return tokenResult{}, &Error{Op: op, Status: resp.status, Message: "token document has no user id or no expires_at"}
	}
	p := identity.Principal{UserID: t.User.ID, DomainID: t.User.Domain.ID}
	if t.Project != nil {
		p.ProjectID = t.Project.ID
		if p.DomainID == "" {
			p.DomainID = t.Project.Domain.ID
		}
	}
	if t.Project != nil || t.System != nil {
		for _, r := range t.Roles {
			if r.Name != "" && !slices.Contains(p.Roles, r.Name) {
				p.Roles = append(p.Roles, r.Name)
			}
		}
	}
	slices.Sort(p.Roles)
	return tokenResult{p: p, expires: t.ExpiresAt}, nil
}

// clonePrincipal copies p so that callers cannot change a cached one.
func clonePrincipal(p identity.Principal) identity.Principal {
	p.Roles = slices.Clone(p.Roles)
	return p
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
