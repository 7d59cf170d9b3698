package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestNULInFreeText: free-text fields (a project's description, a key
// pair's description) with a NUL character, which PostgreSQL's text type
// cannot hold, get a 2xx or a 4xx in the dialect's format on both stores,
// never a 500.
func TestNULInFreeText(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			flags := []string{"--bootstrap-password", bootstrapPassword}
			if store == "postgres" {
				flags = append(flags, "--database", postgresURL(t))
			}
			srv := startServer(t, "", flags...)
			adminTok, _, _ := adminToken(t, srv)
			u := newCloudUser(t, srv, adminTok, "nul", "proj-nul", "member")
			pub, _ := sshKeygen(t, "-t", "ed25519")
			admin := map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}
			user := map[string]string{"X-Auth-Token": u.Token, "Content-Type": "application/json"}
			for _, c := range []struct {
				what, method, path string
				h                  map[string]string
				body               string
			}{
				{"project create", "POST", "/identity/v3/projects", admin, `{"project": {"name": "pnul", "description": "a\u0000b", "domain_id": "default"}}`},
				{"project update", "PATCH", "/identity/v3/projects/" + u.Project, admin, `{"project": {"description": "a\u0000b"}}`},
				{"KPS create", "POST", "/v3/" + u.Project + "/keypairs", user,
					fmt.Sprintf(`{"keypair": {"name": "knul", "description": "a\u0000b", "public_key": "%s"}}`, strings.TrimSpace(pub))},
				{"KPS update", "PUT", "/v3/" + u.Project + "/keypairs/knul", user, `{"keypair": {"description": "a\u0000b"}}`},
			} {
				resp, raw := srv.do(t, c.method, c.path, c.h, c.body)
				if resp.StatusCode >= 500 {
					t.Errorf("%s with a NUL: %d %s", c.what, resp.StatusCode, raw)
				}
			}
		})
	}
}
