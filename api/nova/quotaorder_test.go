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

	"github.com/keyhaven/keyhaven/store/sqlite"
)

// TestQuotaBeforeKey checks Nova's order of checks on a real SQLite store:
// an owner at quota hears "Quota exceeded" whether the key they import is
// good or bad, and an owner under quota hears what is wrong with the key.
// The import of a good key is counted only in the store's transaction.
func TestQuotaBeforeKey(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newTestHandler(t, st, nil) // quota 10
	post := func(name, key string) (int, string) {
		body := fmt.Sprintf(`{"keypair": {"name": %q, "public_key": %q}}`, name, key)
		if key == "" {
			body = fmt.Sprintf(`{"keypair": {"name": %q}}`, name)
		}
		req := httptest.NewRequest("POST", "/v2.1/os-keypairs", strings.NewReader(body))
		req.Header.Set("X-Auth-Token", "tok")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code/100 == 2 {
			return rec.Code, ""
		}
		_, msg := faultOf(t, rec)
		return rec.Code, msg
	}
	const bad = "ssh-ed25519 not-a-key"
	if code, msg := post("bad-under-quota", bad); code != 400 || !strings.Contains(msg, "Keypair data is invalid") {
		t.Fatalf("bad key under quota: %d %q", code, msg)
	}
	for i := range 10 {
		if code, msg := post(fmt.Sprintf("k%d", i), edKey); code != 200 {
			t.Fatalf("import %d: %d %q", i, code, msg)
		}
	}
	for _, tc := range []struct{ name, key string }{
		{"good key", edKey},
		{"bad key", bad},
		{"generated", ""},
	} {
		if code, msg := post("over-"+strings.ReplaceAll(tc.name, " ", "-"), tc.key); code != 403 || msg != "Quota exceeded, too many key pairs." {
			t.Errorf("%s at quota: %d %q, want 403 Quota exceeded", tc.name, code, msg)
		}
	}
}

// TestListCarriesLength checks that a page bigger than net/http's chunking
// threshold is sent with a Content-Length, as Nova sends every answer.
func TestListCarriesLength(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(newTestHandler(t, st, nil))
	defer srv.Close()
	for i := range 10 { // quota 10, about 190 bytes each in the list
		body := fmt.Sprintf(`{"keypair": {"name": "k%d-%s", "public_key": %q}}`, i, strings.Repeat("n", 100), edKey)
		req, _ := http.NewRequest("POST", srv.URL+"/v2.1/os-keypairs", strings.NewReader(body))
		req.Header.Set("X-Auth-Token", "tok")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v2.1/os-keypairs", nil)
	req.Header.Set("X-Auth-Token", "tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if len(b) <= 2048 || res.ContentLength != int64(len(b)) || len(res.TransferEncoding) != 0 {
		t.Fatalf("list of %d bytes: Content-Length %d, Transfer-Encoding %v", len(b), res.ContentLength, res.TransferEncoding)
	}
}
