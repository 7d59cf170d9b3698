package nova

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// benchKey is an ed25519 authorized_keys line the import benchmark sends.
const benchKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ7wGgXvE6dZ2nl1h0S0Fv5y3+1ZYfB3v7v1x9c1d2e bench@keyhaven"

// benchHandler is a Nova handler over a real SQLite store in a temporary
// directory, with a static token for alice and no quota, holding keys key
// pairs named key-0000 and up.
func benchHandler(b *testing.B, keys int) *Handler {
	b.Helper()
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(benchKey)); err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	auth, err := statictoken.Parse(strings.NewReader("tok alice p1 member\n"))
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{Service: keypair.NewService(keypair.Config{Store: st, Quota: keypair.Unlimited}), Auth: auth})
	for i := range keys {
		serveBench(b, h, "POST", "/v2.1/os-keypairs", importBody(fmt.Sprintf("key-%04d", i)), 200)
	}
	return h
}

// importBody is a Nova import request body for name.
func importBody(name string) string {
	return `{"keypair": {"name": "` + name + `", "public_key": "` + benchKey + `"}}`
}

// serveBench sends one request as alice through h and fails unless the
// answer has status want.
func serveBench(b *testing.B, h http.Handler, method, path, body string, want int) {
	serveBenchAt(b, h, "", method, path, body, want)
}

// serveBenchAt is serveBench at microversion mv ("" for none).
func serveBenchAt(b *testing.B, h http.Handler, mv, method, path, body string, want int) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("X-Auth-Token", "tok")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if mv != "" {
		req.Header.Set("OpenStack-API-Version", "compute "+mv)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// BenchmarkHotPath measures Nova requests end to end in process (decode,
// authenticate by static token, service, SQLite store, encode), without
// the network: import of a new name, show, the first page of 50 (kept in
// the store's list cache; and with an import before each, so read from the
// store), the whole list (2.1) and delete, for a user holding 100 key
// pairs.
func BenchmarkHotPath(b *testing.B) {
	b.Run("import", func(b *testing.B) {
		h := benchHandler(b, 100)
		i := 0
		for b.Loop() {
			i++
			serveBench(b, h, "POST", "/v2.1/os-keypairs", importBody(fmt.Sprintf("new-%08d", i)), 200)
		}
	})
	b.Run("show", func(b *testing.B) {
		h := benchHandler(b, 100)
		i := 0
		for b.Loop() {
			i++
			serveBench(b, h, "GET", fmt.Sprintf("/v2.1/os-keypairs/key-%04d", i%100), "", 200)
		}
	})
	b.Run("list50", func(b *testing.B) {
		h := benchHandler(b, 100)
		for b.Loop() {
			serveBenchAt(b, h, "2.35", "GET", "/v2.1/os-keypairs?limit=50", "", 200)
		}
	})
	b.Run("list50-changing", func(b *testing.B) {
		// An import between lists: every page is read from the store.
		h := benchHandler(b, 100)
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			serveBench(b, h, "POST", "/v2.1/os-keypairs", importBody(fmt.Sprintf("new-%08d", i)), 200)
			b.StartTimer()
			serveBenchAt(b, h, "2.35", "GET", "/v2.1/os-keypairs?limit=50", "", 200)
		}
	})
	b.Run("list-all", func(b *testing.B) {
		h := benchHandler(b, 100)
		for b.Loop() {
			serveBench(b, h, "GET", "/v2.1/os-keypairs", "", 200)
		}
	})
	b.Run("delete", func(b *testing.B) {
		h := benchHandler(b, 100)
		for i := 0; i < b.N; i++ {
			serveBench(b, h, "POST", "/v2.1/os-keypairs", importBody(fmt.Sprintf("del-%08d", i)), 200)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			serveBench(b, h, "DELETE", fmt.Sprintf("/v2.1/os-keypairs/del-%08d", i), "", 202)
		}
	})
}
