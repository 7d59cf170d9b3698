package main

import (
	"strings"
	"testing"
)

// TestWithdrawBadInput: the admin calls that take access away answer bad
// input with Keystone's 4xx and change nothing.
func TestWithdrawBadInput(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, adminProject := adminToken(t, srv)
	u := newCloudUser(t, srv, adminTok, "victim", "proj-victim", "member")
	big := `{"project": {"description": "` + strings.Repeat("x", 70<<10) + `"}}`
	tests := []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"project: not json", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{`, 400},
		{"project: empty body", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, ``, 400},
		{"project: missing object", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{}`, 400},
		{"project: wrong type", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": []}`, 400},
		{"project: enabled not a boolean", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"enabled": "no"}}`, 400},
		{"project: empty name", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"name": ""}}`, 400},
		{"project: bidi override in name", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"name": "ev\u202elive"}}`, 400},
		{"project: extra field ignored", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"description": "d", "color": "red"}}`, 200},
		{"project: taken name", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"name": "admin"}}`, 409},
		{"project: oversized", adminTok, "PATCH", "/identity/v3/projects/" + u.Project, big, 413},
		{"project: unknown", adminTok, "PATCH", "/identity/v3/projects/0123", `{"project": {"enabled": false}}`, 404},
		{"project: not admin", u.Token, "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"enabled": false}}`, 403},
		{"project: no token", "", "PATCH", "/identity/v3/projects/" + u.Project, `{"project": {"enabled": false}}`, 401},
		{"project: own project, not admin", u.Token, "PATCH", "/identity/v3/projects/" + adminProject, `{"project": {"enabled": false}}`, 403},
		{"domain: not json", adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": `, 400},
		{"domain: missing object", adminTok, "PATCH", "/identity/v3/domains/default", `{"project": {}}`, 400},
		{"domain: enabled not a boolean", adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": {"enabled": 0}}`, 400},
		{"domain: empty name", adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": {"name": ""}}`, 400},
		{"domain: NUL in name", adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": {"name": "a\u0000b"}}`, 400},
		{"domain: unknown", adminTok, "PATCH", "/identity/v3/domains/nowhere", `{"domain": {"enabled": false}}`, 404},
		{"domain: not admin", u.Token, "PATCH", "/identity/v3/domains/default", `{"domain": {"enabled": false}}`, 403},
		{"user delete: unknown", adminTok, "DELETE", "/identity/v3/users/0123", ``, 404},
		{"user delete: not admin", u.Token, "DELETE", "/identity/v3/users/" + u.ID, ``, 403},
		{"user delete: no token", "", "DELETE", "/identity/v3/users/" + u.ID, ``, 401},
		{"role remove: not granted", adminTok, "DELETE", "/identity/v3/projects/" + adminProject + "/users/" + u.ID + "/roles/" + roleID(t, srv, adminTok, "member"), ``, 404},
		{"role remove: not admin", u.Token, "DELETE", "/identity/v3/projects/" + u.Project + "/users/" + u.ID + "/roles/" + roleID(t, srv, adminTok, "member"), ``, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json"}
			if tt.token != "" {
				h["X-Auth-Token"] = tt.token
			}
			resp, raw := srv.do(t, tt.method, tt.path, h, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.status >= 400 && !strings.Contains(string(raw), `"error":{"code":`) {
				t.Fatalf("not Keystone's error body: %s", raw)
			}
			if strings.Contains(string(raw), "struct {") {
				t.Fatalf("Go types in the answer: %s", raw)
			}
		})
	}
	// Nothing was taken away: the user still works on every path.
	granted := access{novaToken: 200, kpsToken: 200, validate: 200, novaAKSK: 200, kpsSDK: 200, login: 201}
	if a := probe(t, srv, adminTok, u, "victim"); a != granted {
		t.Fatalf("after refused requests: %+v, want %+v", a, granted)
	}
}
