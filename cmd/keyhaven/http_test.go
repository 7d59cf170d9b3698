package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testlog"
)

// syncBuffer is a log sink tests read after the fact.
type syncBuffer = testlog.Buffer

// TestHTTPErrors covers the answers that come from the HTTP layer rather
// than the key pair rules, each in Nova's (or Keystone's) format.
func TestHTTPErrors(t *testing.T) {
	srv := startServer(t, testTokens)
	alice := map[string]string{"X-Auth-Token": "alice-token"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{"X-Auth-Token": "alice-token"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	pub, _ := sshKeygen(t, "-t", "ed25519")
	okBody := `{"keypair": {"name": "k", "public_key": "` + strings.TrimSpace(pub) + `"}}`
	huge := `{"keypair": {"name": "big", "public_key": "` + strings.Repeat("A", 70<<10) + `"}}`

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		fault   string
		message string
		header  [2]string
	}{
		{"body over 64 KiB", "POST", "/v2.1/os-keypairs", with(map[string]string{"Content-Type": "application/json"}), huge, 413, "overLimit", "Request is too large.", [2]string{}},
		{"unsupported content type", "POST", "/v2.1/os-keypairs", with(map[string]string{"Content-Type": "application/xml"}), okBody, 415, "badMediaType", "Unsupported Content-Type", [2]string{}},
		{"unknown path", "GET", "/v2.1/os-keypairz", alice, "", 404, "itemNotFound", "The resource could not be found.", [2]string{}},
		{"unknown top path", "GET", "/v4/keypairs", alice, "", 404, "itemNotFound", "The resource could not be found.", [2]string{}},
		{"nested path", "GET", "/v2.1/os-keypairs/a/b", alice, "", 404, "itemNotFound", "The resource could not be found.", [2]string{}},
		{"put on item", "PUT", "/v2.1/os-keypairs/k", alice, okBody, 405, "badMethod", "The method PUT is not allowed for this resource.", [2]string{"Allow", "GET, DELETE"}},
		{"delete collection", "DELETE", "/v2.1/os-keypairs", alice, "", 405, "badMethod", "The method DELETE is not allowed for this resource.", [2]string{"Allow", "GET, POST"}},
		{"post versions", "POST", "/", nil, "", 405, "badMethod", "The method POST is not allowed for this resource.", [2]string{"Allow", "GET"}},
		{"bad project in URL", "GET", "/v2.1/0a9b8c7d6e5f40312a1b2c3d4e5f6a7b/os-keypairs", alice, "", 400, "badRequest", "Malformed request URL: URL's project_id '0a9b8c7d6e5f40312a1b2c3d4e5f6a7b' doesn't match Context's project_id '" + testProject + "'", [2]string{}},
		{"unknown microversion", "GET", "/v2.1/os-keypairs", with(map[string]string{"OpenStack-API-Version": "compute 2.94"}), "", 406, "computeFault", "Version 2.94 is not supported by the API. Minimum is 2.1 and maximum is 2.93.", [2]string{"OpenStack-API-Version", "compute 2.94"}},
		{"microversion garbage", "GET", "/v2.1/os-keypairs", with(map[string]string{"X-OpenStack-Nova-API-Version": "two"}), "", 400, "badRequest", "API Version String two is of invalid format. Must be of format MajorNum.MinorNum.", [2]string{}},
		{"wrong type", "POST", "/v2.1/os-keypairs", alice, `{"keypair": {"name": ["k"]}}`, 400, "badRequest", "Invalid input for field/attribute name. Value: ['k']. ['k'] is not of type 'string'", [2]string{}},
		{"bad key", "POST", "/v2.1/os-keypairs", alice, `{"keypair": {"name": "k", "public_key": "ssh-ed25519 AAAA"}}`, 400, "badRequest", "Keypair data is invalid: failed to generate fingerprint", [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, tt.method, tt.path, tt.headers, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			var body map[string]map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q: %v", raw, err)
			}
			f := body[tt.fault]
			if f == nil || f["message"] != tt.message || f["code"] != float64(tt.status) {
				t.Fatalf("body %s, want %s %q", raw, tt.fault, tt.message)
			}
			if tt.header[0] != "" && resp.Header.Get(tt.header[0]) != tt.header[1] {
				t.Fatalf("%s: %q, want %q", tt.header[0], resp.Header.Get(tt.header[0]), tt.header[1])
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// Nothing above may have written anything.
	resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs", alice, "")
	if resp.StatusCode != 200 || string(raw) != `{"keypairs":[]}` {
		t.Fatalf("after bad requests: %d %s", resp.StatusCode, raw)
	}
}

func TestUnauthenticated(t *testing.T) {
	srv := startServer(t, testTokens)
	for _, tok := range []string{"", "wrong-token"} {
		h := map[string]string{}
		if tok != "" {
			h["X-Auth-Token"] = tok
		}
		resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs", h, "")
		if resp.StatusCode != 401 {
			t.Fatalf("token %q: status %d", tok, resp.StatusCode)
		}
		if got, want := resp.Header.Get("WWW-Authenticate"), `Keystone uri="`+srv.URL+`/identity"`; got != want {
			t.Fatalf("WWW-Authenticate %q, want %q", got, want)
		}
		want := `{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`
		if string(raw) != want {
			t.Fatalf("body %s", raw)
		}
	}
	// The version documents need no token.
	for _, p := range []string{"/", "/v2.1", "/v2.1/"} {
		if resp, _ := srv.do(t, "GET", p, nil, ""); resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, raw := srv.do(t, "GET", "/healthz", nil, ""); resp.StatusCode != 200 || string(raw) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, raw)
	}
}

// TestRequestIDsAndAccessLog checks that every answer carries a request id
// and that the access log names requests without ever holding key material
// or tokens.
func TestRequestIDsAndAccessLog(t *testing.T) {
	var logs syncBuffer
	srv := startServerLog(t, &logs, testTokens, "--log-format", "json")
	gen := map[string]string{"X-Auth-Token": "alice-token", "Content-Type": "application/json"}
	resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", gen, `{"keypair": {"name": "secret-holder"}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("generate: %d %s", resp.StatusCode, raw)
	}
	var created struct {
		Keypair struct {
			PrivateKey string `json:"private_key"`
			PublicKey  string `json:"public_key"`
		} `json:"keypair"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Keypair.PrivateKey == "" {
		t.Fatalf("%s %v", raw, err)
	}
	id := regexp.MustCompile(`^req-[0-9a-f-]{36}$`)
	seen := map[string]bool{}
	for _, p := range []string{"/", "/v2.1/os-keypairs", "/nope", "/healthz"} {
		resp, _ := srv.do(t, "GET", p, map[string]string{"X-Auth-Token": "alice-token"}, "")
		a, b := resp.Header.Get("x-openstack-request-id"), resp.Header.Get("x-compute-request-id")
		if !id.MatchString(a) || a != b || seen[a] {
			t.Fatalf("GET %s: request ids %q %q", p, a, b)
		}
		seen[a] = true
		if !strings.Contains(logs.String(), a) {
			t.Fatalf("request %s not in the access log", a)
		}
	}
	log := logs.String()
	privBody := strings.Split(created.Keypair.PrivateKey, "\n")[1]
	pubBlob := strings.Fields(created.Keypair.PublicKey)[1]
	for _, secret := range []string{privBody, pubBlob[20:60], "alice-token"} {
		if strings.Contains(log, secret) {
			t.Fatalf("log holds %q", secret)
		}
	}
	if !strings.Contains(log, `"path":"/v2.1/os-keypairs"`) || !strings.Contains(log, `"status":200`) {
		t.Fatalf("access log lacks fields:\n%s", log)
	}
}
