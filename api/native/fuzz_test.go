package native

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// fuzzHandler is the native handler over a real SQLite store in dir,
// with a member's static token.
func fuzzHandler(f *testing.F) http.Handler {
	st, err := sqlite.Open(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	auth, err := statictoken.Parse(strings.NewReader("tok alice project member\n"))
	if err != nil {
		f.Fatal(err)
	}
	svc := keypair.NewService(keypair.Config{Store: st, Quota: keypair.Unlimited})
	return New(Config{Service: svc, Auth: auth})
}

// FuzzBodies sends arbitrary bodies to every operation of the native API
// that takes one (create, update, rotate) through the real handler and
// store: never a panic or a 500, and every refusal is problem details
// with a 4xx.
func FuzzBodies(f *testing.F) {
	for _, s := range []string{
		`{"name": "k"}`,
		`{"name": "k", "type": "rsa-2048", "private_key_format": "pkcs1", "tags": {"env": "prod"}, "ttl": 60, "description": "d"}`,
		`{"name": "k", "type": "ecdsa-p256", "private_key_format": "ppk", "expires_at": "2099-01-02T03:04:05Z", "escrow": {"kms_key": "x"}}`,
		`{"name": "k", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFj2YwYzbnx8rI8ZmPs0nTb0m3uVd1Qm2Hn2yq3cX8kq x", "scope": "domain"}`,
		`{"description": "new", "tags": {}, "expires_at": null}`,
		`{"tags": {"a=b": "c"}}`, `{"type": "rsa-5000"}`, `{"name": 5}`, `{"ttl": -1}`, `{`, ``, `[]`, `null`, `{"name": "k"} x`,
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, rq := range []struct{ method, path string }{
			{"POST", "/keyhaven/v1/keypairs"},
			{"PATCH", "/keyhaven/v1/keypairs/k"},
			{"POST", "/keyhaven/v1/keypairs/k:rotate"},
		} {
			r := httptest.NewRequest(rq.method, rq.path, strings.NewReader(body))
			r.Header.Set("X-Auth-Token", "tok")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", rq.method, rq.path, body, w.Code, w.Body)
			}
			if w.Code >= 400 {
				var p Problem
				if w.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(w.Body.Bytes(), &p) != nil ||
					p.Status != w.Code || p.Code == "" || p.Detail == "" {
					t.Fatalf("%s %s %q: not problem details: %d %s", rq.method, rq.path, body, w.Code, w.Body)
				}
			}
		}
		// Whatever was made, made nothing an API could not show or delete.
		r := httptest.NewRequest("DELETE", "/keyhaven/v1/keypairs/k", nil)
		r.Header.Set("X-Auth-Token", "tok")
		h.ServeHTTP(httptest.NewRecorder(), r)
	})
}
