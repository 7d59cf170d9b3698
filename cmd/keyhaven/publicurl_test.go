package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// forged sends a request with a forged Host header and returns the
// status, headers and body.
func forged(t *testing.T, srv *testServer, host, method, path string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	h := map[string]string{"Host": host}
	for k, v := range headers {
		h[k] = v
	}
	resp, raw := srv.do(t, method, path, h, body)
	return resp.StatusCode, resp.Header, string(raw)
}

// TestForgedHostNotEchoed sends requests with a forged Host header: the
// service catalog, WWW-Authenticate (Nova and Keystone) and the Nova and
// Keystone version documents name the address keyhaven listens on, or
// --public-url when it is set, never the forged host.
func TestForgedHostNotEchoed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags []string
		base  func(*testServer) string
	}{
		{"listening address", nil, func(s *testServer) string { return s.URL }},
		{"public url", []string{"--public-url", "https://keys.example.org/"}, func(*testServer) string { return "https://keys.example.org" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startIdentityServer(t, tt.flags...)
			base := tt.base(srv)
			const evil = "evil.example:8774"
			check := func(what, s string) {
				t.Helper()
				if strings.Contains(s, "evil.example") {
					t.Fatalf("%s echoes the forged Host: %s", what, s)
				}
			}
			login := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` + bootstrapPassword + `"}}},
				"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
			st, hdr, raw := forged(t, srv, evil, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, login)
			if st != 201 {
				t.Fatalf("login: %d %s", st, raw)
			}
			check("token catalog", raw)
			var tok struct {
				Token struct {
					Catalog []struct {
						Type      string
						Endpoints []struct{ URL string }
					}
				}
			}
			if err := json.Unmarshal([]byte(raw), &tok); err != nil || len(tok.Token.Catalog) != 3 {
				t.Fatalf("catalog: %v %s", err, raw)
			}
			for _, s := range tok.Token.Catalog {
				for _, e := range s.Endpoints {
					if !strings.HasPrefix(e.URL, base+"/") {
						t.Fatalf("%s endpoint %q, want it under %s", s.Type, e.URL, base)
					}
				}
			}
			h := map[string]string{"X-Auth-Token": hdr.Get("X-Subject-Token"), "X-Subject-Token": hdr.Get("X-Subject-Token")}
			_, _, raw = forged(t, srv, evil, "GET", "/identity/v3/auth/tokens", h, "")
			check("token validation", raw)
			_, _, raw = forged(t, srv, evil, "GET", "/identity/v3/users", h, "")
			check("user links", raw)

			for _, p := range []string{"/v2.1/os-keypairs", "/identity/v3/auth/tokens"} {
				st, hdr, raw := forged(t, srv, evil, "GET", p, map[string]string{"X-Auth-Token": "junk", "X-Subject-Token": "junk"}, "")
				if st != 401 || hdr.Get("WWW-Authenticate") != `Keystone uri="`+base+`/identity"` {
					t.Fatalf("%s: %d WWW-Authenticate %q", p, st, hdr.Get("WWW-Authenticate"))
				}
				check(p, raw)
			}
			for _, p := range []string{"/", "/v2.1", "/identity", "/identity/v3"} {
				st, _, raw := forged(t, srv, evil, "GET", p, nil, "")
				if st >= 400 || !strings.Contains(raw, `"href":"`+base+`/`) {
					t.Fatalf("%s: %d %s", p, st, raw)
				}
				check(p, raw)
			}
		})
	}
}
