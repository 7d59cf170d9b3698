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

// TestNULInLookups: a NUL where keyhaven looks something up by a
// caller's string (login names, scope names, list filters, key pair names
// and markers in URLs) finds nothing, on both stores: PostgreSQL refuses
// NUL in a text parameter, which must not become a 500.
func TestNULInLookups(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			flags := []string{"--bootstrap-password", bootstrapPassword}
			if store == "postgres" {
				flags = append(flags, "--database", postgresURL(t))
			}
			srv := startServer(t, "", flags...)
			adminTok, _, _ := adminToken(t, srv)
			u := newCloudUser(t, srv, adminTok, "nul", "proj-nul", "member")
			admin := map[string]string{"X-Auth-Token": adminTok}
			user := map[string]string{"X-Auth-Token": u.Token, "Content-Type": "application/json"}
			anon := map[string]string{"Content-Type": "application/json"}
			login := func(user, domain, project string) string {
				return `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "` + user + `", "domain": {"name": "` + domain +
					`"}, "password": "x"}}}, "scope": {"project": {"name": "` + project + `", "domain": {"name": "` + domain + `"}}}}}`
			}
			for _, c := range []struct {
				what, method, path string
				h                  map[string]string
				body               string
			}{
				{"login user name", "POST", "/identity/v3/auth/tokens", anon, login(`a\u0000`, "Default", "admin")},
				{"login domain name", "POST", "/identity/v3/auth/tokens", anon, login("admin", `D\u0000`, "admin")},
				{"login user id", "POST", "/identity/v3/auth/tokens", anon, `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "a\u0000", "password": "x"}}}}}`},
				{"rescope project name", "POST", "/identity/v3/auth/tokens", anon, `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + u.Token +
					`"}}, "scope": {"project": {"name": "p\u0000", "domain": {"id": "default"}}}}}`},
				{"rescope project id", "POST", "/identity/v3/auth/tokens", anon, `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + u.Token +
					`"}}, "scope": {"project": {"id": "p\u0000"}}}}`},
				{"user filter", "GET", "/identity/v3/users?name=a%00", admin, ""},
				{"project filter", "GET", "/identity/v3/projects?name=a%00&domain_id=d%00", admin, ""},
				{"user by id", "GET", "/identity/v3/users/a%00", admin, ""},
				{"project by id", "GET", "/identity/v3/projects/a%00", admin, ""},
				{"domain by id", "GET", "/identity/v3/domains/a%00", admin, ""},
				{"role by id", "GET", "/identity/v3/roles/a%00", admin, ""},
				{"grant", "PUT", "/identity/v3/projects/a%00/users/b%00/roles/c%00", admin, ""},
				{"ungrant", "DELETE", "/identity/v3/projects/a%00/users/b%00/roles/c%00", admin, ""},
				{"user delete", "DELETE", "/identity/v3/users/a%00", admin, ""},
				{"user update", "PATCH", "/identity/v3/users/a%00", map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}, `{"user": {"enabled": false}}`},
				{"project update", "PATCH", "/identity/v3/projects/a%00", map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}, `{"project": {"enabled": false}}`},
				{"domain update", "PATCH", "/identity/v3/domains/a%00", map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}, `{"domain": {"enabled": false}}`},
				{"credential delete", "DELETE", "/identity/v3/users/" + u.ID + "/credentials/OS-EC2/a%00", user, ""},
				{"KPS delete", "DELETE", "/v3/" + u.Project + "/keypairs/a%00", user, ""},
				{"KPS clear", "DELETE", "/v3/" + u.Project + "/keypairs/a%00/private-key", user, ""},
				{"KPS update", "PUT", "/v3/" + u.Project + "/keypairs/a%00", user, `{"keypair": {"description": "x"}}`},
				{"assignments", "GET", "/identity/v3/role_assignments?user.id=a%00&scope.project.id=b%00", admin, ""},
				{"credentials", "GET", "/identity/v3/users/" + u.ID + "/credentials/OS-EC2/a%00", user, ""},
				{"EC2 create", "POST", "/identity/v3/users/" + u.ID + "/credentials/OS-EC2", user, `{"tenant_id": "p\u0000"}`},
				{"Nova show", "GET", "/v2.1/os-keypairs/a%00", user, ""},
				{"Nova delete", "DELETE", "/v2.1/os-keypairs/a%00", user, ""},
				{"Nova marker", "GET", "/v2.1/os-keypairs?marker=a%00", map[string]string{"X-Auth-Token": u.Token, "OpenStack-API-Version": "compute 2.35"}, ""},
				{"Nova user_id", "GET", "/v2.1/os-keypairs?user_id=a%00", admin, ""},
				{"KPS show", "GET", "/v3/" + u.Project + "/keypairs/a%00", user, ""},
				{"KPS marker", "GET", "/v3/" + u.Project + "/keypairs?marker=a%00", user, ""},
				{"KPS export", "POST", "/v3/" + u.Project + "/keypairs/private-key/export", user, `{"keypair": {"name": "a\u0000"}}`},
			} {
				resp, raw := srv.do(t, c.method, c.path, c.h, c.body)
				if resp.StatusCode >= 500 {
					t.Errorf("%s with a NUL: %d %s", c.what, resp.StatusCode, raw)
				}
				if strings.Contains(c.path, "%00") {
					// Not UTF-8 either: PostgreSQL refuses it in text too.
					bad := strings.ReplaceAll(c.path, "%00", "%ff")
					if resp, raw := srv.do(t, c.method, bad, c.h, c.body); resp.StatusCode >= 500 {
						t.Errorf("%s with a byte that is not UTF-8: %d %s", c.what, resp.StatusCode, raw)
					}
				}
			}
		})
	}
}
