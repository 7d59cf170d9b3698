package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// bodyTargets are the identity calls that read a request body.
var bodyTargets = []struct{ method, path string }{
	{"POST", "/identity/v3/auth/tokens"},
	{"POST", "/identity/v3/users"},
	{"PATCH", "/identity/v3/users/USER"},
	{"POST", "/identity/v3/projects"},
	{"PATCH", "/identity/v3/projects/PROJECT"},
	{"PATCH", "/identity/v3/domains/default"},
	{"POST", "/identity/v3/users/USER/credentials/OS-EC2"},
}

// FuzzBodies sends arbitrary bodies to every identity call that reads
// one, as the bootstrap admin: whatever the body, the answer is not a
// server error, and a refusal is Keystone's error body with a message
// that shows no Go types.
func FuzzBodies(f *testing.F) {
	for i := range bodyTargets {
		for _, seed := range []string{
			``, `{`, `[]`, `null`, `{"user": {"name": 1}}`, `{"project": {"enabled": "no"}}`,
			`{"domain": {"name": "a\u202eb"}}`, `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "x"}}}}}`,
			`{"user": {"name": "u", "password": "p"}}`, `{"project": {"name": "p", "description": 5}}`, `{"tenant_id": []}`,
		} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	ctx := context.Background()
	dir := f.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "k.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ring, err := token.OpenKeyring(filepath.Join(dir, "keys"), 3)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := builtin.New(builtin.Config{Store: st, Tokens: token.NewIssuer(ring), CredentialKey: make([]byte, 32),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2)})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, "admin-pw"); err != nil {
		f.Fatal(err)
	}
	tok, err := svc.AuthPassword(ctx, builtin.UserRef{Name: "admin", DomainID: builtin.DefaultDomainID}, "admin-pw",
		builtin.Scope{ProjectName: "admin", DomainID: builtin.DefaultDomainID})
	if err != nil {
		f.Fatal(err)
	}
	h := New(Config{Identity: svc})
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		tg := bodyTargets[int(target)%len(bodyTargets)]
		path := strings.NewReplacer("USER", tok.User.ID, "PROJECT", tok.Project.ID).Replace(tg.path)
		r := httptest.NewRequest(tg.method, path, strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Auth-Token", tok.ID)
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != w.Code || e.Error.Message == "" {
				t.Fatalf("%s %s %q: %d, not Keystone's error body: %s", tg.method, tg.path, body, w.Code, w.Body)
			}
			if strings.Contains(e.Error.Message, "struct {") || strings.Contains(e.Error.Message, "json:\"") {
				t.Fatalf("%s %s %q: Go types in %q", tg.method, tg.path, body, e.Error.Message)
			}
		}
	})
}
