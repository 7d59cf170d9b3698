package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// rawDo sends one request exactly as given, without following redirects,
// and returns the status and body.
func rawDo(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestDotKeyPairNames refuses "." and ".." as new key pair names (curl
// and the openstack CLI remove such segments from URLs, so they could not
// be deleted), accepts other names made of dots, and serves a ".." made
// before the rule (written straight to the store here) through the API,
// by the literal name and percent-encoded, without a redirect.
func TestDotKeyPairNames(t *testing.T) {
	ctx := context.Background()
	pub, fp := sshKeygen(t, "-t", "ed25519")
	data := filepath.Join(t.TempDir(), "data")
	cfg, err := loadConfig("test", []string{"--data-dir", data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{".", ".."} {
		kp := &keypair.KeyPair{UID: fmt.Sprintf("legacy-dot-%d", i), UserID: "alice", ProjectID: testProject, Name: name,
			Type: keypair.TypeSSH, Scope: keypair.ScopeUser, PublicKey: pub, Fingerprint: fp, Algorithm: "ed25519"}
		if err := st.CreateKeyPair(ctx, kp, 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	srv := startServer(t, testTokens, "--data-dir", data)
	h := map[string]string{"X-Auth-Token": "alice-token", "OpenStack-API-Version": "compute 2.92", "Content-Type": "application/json"}
	create := func(name string) (int, string) {
		body := `{"keypair": {"name": "` + name + `", "public_key": "` + strings.TrimSpace(pub) + `"}}`
		st, _, raw := rawDo(t, "POST", srv.URL+"/v2.1/os-keypairs", h, body)
		return st, raw
	}
	for _, name := range []string{".", ".."} {
		st, raw := create(name)
		want := `{"badRequest":{"code":400,"message":"Key pair name can not be '.' or '..': clients remove such segments from URLs, so the key pair could not be shown or deleted."}}`
		if st != 400 || raw != want {
			t.Fatalf("create %q: %d %s", name, st, raw)
		}
	}
	for _, name := range []string{"...", ".ssh", "a..b"} {
		if st, raw := create(name); st != 201 {
			t.Fatalf("create %q: %d %s", name, st, raw)
		}
	}
	for _, tt := range []struct{ name, show, del string }{
		{".", "/v2.1/os-keypairs/.", "/v2.1/" + testProject + "/os-keypairs/%2E"},
		{"..", "/v2.1/os-keypairs/..", "/v2.1/os-keypairs/%2e%2e"},
		{"...", "/v2.1/" + testProject + "/os-keypairs/...", "/v2.1/os-keypairs/..."},
		{"a..b", "/v2.1/os-keypairs/a..b", "/v2.1/os-keypairs/a%2E%2Eb"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{tt.show, strings.ReplaceAll(tt.show, ".", "%2e")} {
				st, _, raw := rawDo(t, "GET", srv.URL+path, h, "")
				var kp struct {
					Keypair struct{ Name string } `json:"keypair"`
				}
				if st != 200 || json.Unmarshal([]byte(raw), &kp) != nil || kp.Keypair.Name != tt.name {
					t.Fatalf("GET %s: %d %s", path, st, raw)
				}
			}
			if st, _, raw := rawDo(t, "DELETE", srv.URL+tt.del, h, ""); st != 204 {
				t.Fatalf("DELETE %s: %d %s", tt.del, st, raw)
			}
			if st, _, raw := rawDo(t, "GET", srv.URL+tt.show, h, ""); st != 404 || !strings.Contains(raw, `"itemNotFound"`) {
				t.Fatalf("after delete: %d %s", st, raw)
			}
		})
	}
}

// TestNoPathRedirects sends paths that path cleaning would rewrite (empty,
// "." and ".." segments, percent-encoded or not) to every dialect: each is
// answered by the dialect that owns the prefix, in its own error format,
// never with a redirect.
func TestNoPathRedirects(t *testing.T) {
	srv := startServer(t, testTokens, "--bootstrap-password", bootstrapPassword)
	h := map[string]string{"X-Auth-Token": "alice-token"}
	nova, kps, keystone := `"itemNotFound"`, `"error_code"`, `"error":{"code"`
	tests := []struct {
		method, path string
		status       int
		format       string
	}{
		{"GET", "//", 404, nova},
		{"GET", "//v2.1/os-keypairs", 404, nova},
		{"GET", "/v2.1//os-keypairs", 404, nova},
		{"GET", "/v2.1/./os-keypairs", 400, `"badRequest"`},
		{"GET", "/v2.1/os-keypairs/../os-keypairs", 404, nova},
		{"GET", "/v2.1/os-keypairs/./..", 404, nova},
		{"DELETE", "/v2.1/os-keypairs/..", 404, nova},
		{"DELETE", "/v2.1/os-keypairs/%2e%2e", 404, nova},
		{"GET", "/v2.1/os-keypairs/.", 404, nova},
		{"GET", "/v2.1/os-keypairs//", 404, nova},
		{"GET", "/./v2.1/os-keypairs", 404, nova},
		{"GET", "/v2.1/%2e%2e/os-keypairs", 400, `"badRequest"`},
		{"GET", "/v2.1/os-keypairs/%2F", 404, nova},
		{"GET", "/v3", 404, kps},
		{"GET", "/v3//keypairs", 404, kps},
		{"GET", "/v3/" + testProject + "/keypairs/..", 404, kps},
		{"DELETE", "/v3/" + testProject + "/keypairs/%2e%2e", 404, kps},
		{"GET", "/v3/" + testProject + "/./keypairs", 404, kps},
		{"GET", "/v3/../v2.1/os-keypairs", 404, kps},
		{"GET", "/identity//v3", 404, keystone},
		{"GET", "/identity/v3/./auth/tokens", 404, keystone},
		{"POST", "/identity/v3/../v3/auth/tokens", 404, keystone},
		{"GET", "/identity/v3/users/..", 401, keystone},
		{"GET", "/identity/%2e%2e/v2.1/os-keypairs", 404, keystone},
		{"GET", "/healthz/", 404, nova},
		{"GET", "/healthz/..", 404, nova},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			st, hdr, raw := rawDo(t, tt.method, srv.URL+tt.path, h, "")
			if st != tt.status || hdr.Get("Location") != "" {
				t.Fatalf("status %d (Location %q), want %d: %s", st, hdr.Get("Location"), tt.status, raw)
			}
			if !strings.Contains(raw, tt.format) {
				t.Fatalf("not in the dialect's format %s: %s", tt.format, raw)
			}
		})
	}
}
