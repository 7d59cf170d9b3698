// Package statictoken authenticates requests by an X-Auth-Token looked up in
// a tokens file, for development and service accounts. Each line holds a
// token, a user id, a project id and optional comma-separated roles
// (member when none are listed), separated by whitespace; '#' starts a
// comment.
package statictoken

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
)

// Header is the request header that carries the token.
const Header = "X-Auth-Token"

// Authenticator holds the tokens of one tokens file.
type Authenticator struct {
	// tokens is keyed by the SHA-256 of the token so that lookups do not
	// leak token prefixes through timing.
	tokens map[[32]byte]entry
}

type entry struct {
	token     string
	principal identity.Principal
}

// Load reads a tokens file.
func Load(path string) (*Authenticator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	a, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return a, nil
}

// Parse reads tokens in the tokens file format from r.
func Parse(r io.Reader) (*Authenticator, error) {
	a := &Authenticator{tokens: map[[32]byte]entry{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("line %d: want: token user-id project-id [roles], got %d fields", n, len(f))
		}
		p := identity.Principal{UserID: f[1], ProjectID: f[2]}
		if len(f) == 4 {
			for _, role := range strings.Split(f[3], ",") {
				if role != "" {
					p.Roles = append(p.Roles, role)
				}
			}
		}
		if len(p.Roles) == 0 {
			// A token listing no role is a plain member: policy gives a
			// principal with no role nothing.
			p.Roles = []string{"member"}
		}
		h := sha256.Sum256([]byte(f[0]))
		if _, dup := a.tokens[h]; dup {
			return nil, fmt.Errorf("line %d: token listed twice", n)
		}
		a.tokens[h] = entry{token: f[0], principal: p}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// Len returns how many tokens were loaded.
func (a *Authenticator) Len() int { return len(a.tokens) }

// Authenticate implements identity.Authenticator.
func (a *Authenticator) Authenticate(_ context.Context, r *http.Request) (identity.Principal, error) {
	tok := r.Header.Get(Header)
	if tok == "" {
		return identity.Principal{}, identity.ErrUnauthenticated
	}
	e, ok := a.tokens[sha256.Sum256([]byte(tok))]
	if !ok || subtle.ConstantTimeCompare([]byte(e.token), []byte(tok)) != 1 {
		return identity.Principal{}, identity.ErrUnauthenticated
	}
	return e.principal, nil
}
