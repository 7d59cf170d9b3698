package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPartialRoleRemoval: a user with member and reader on a project
// loses member and keeps reader. The old token stops on every path; the
// EC2 credential keeps working with the reader's rights only (reads, no
// writes) on Nova (with and without the project id in the path) and KPS;
// a new login carries reader only.
func TestPartialRoleRemoval(t *testing.T) {
	srv := startServer(t, "", "--bootstrap-password", bootstrapPassword)
	adminTok, _, _ := adminToken(t, srv)
	u := newCloudUser(t, srv, adminTok, "pr", "proj-pr", "member")
	adminCall(t, srv, adminTok, "PUT", "/identity/v3/projects/"+u.Project+"/users/"+u.ID+"/roles/"+roleID(t, srv, adminTok, "reader"), "", 204)
	pub, _ := sshKeygen(t, "-t", "ed25519")
	create := func(name string) string {
		return fmt.Sprintf(`{"keypair": {"name": "%s-%d", "public_key": "%s"}}`, name, time.Now().UnixNano(), strings.TrimSpace(pub))
	}
	adminCall(t, srv, adminTok, "DELETE", "/identity/v3/projects/"+u.Project+"/users/"+u.ID+"/roles/"+roleID(t, srv, adminTok, "member"), "", 204)

	tok := map[string]string{"X-Auth-Token": u.Token, "Content-Type": "application/json"}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v2.1/os-keypairs", ""},
		{"GET", "/v2.1/" + u.Project + "/os-keypairs", ""},
		{"POST", "/v2.1/os-keypairs", create("tok")},
		{"POST", "/v2.1/" + u.Project + "/os-keypairs", create("tokp")},
		{"POST", "/v3/" + u.Project + "/keypairs", create("tokk")},
		{"POST", "/identity/v3/users/" + u.ID + "/credentials/OS-EC2", `{"tenant_id": "` + u.Project + `"}`},
	} {
		if resp, raw := srv.do(t, c.method, c.path, tok, c.body); resp.StatusCode != 401 {
			t.Errorf("old token: %s %s: %d %s, want 401", c.method, c.path, resp.StatusCode, raw)
		}
	}
	body := `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + u.Token + `"}}, "scope": {"project": {"id": "` + u.Project + `"}}}}`
	if resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body); resp.StatusCode != 401 {
		t.Errorf("rescope of the old token: %d %s, want 401", resp.StatusCode, raw)
	}

	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v2.1/os-keypairs", "", 200},
		{"GET", "/v2.1/" + u.Project + "/os-keypairs", "", 200},
		{"GET", "/v3/" + u.Project + "/keypairs", "", 200},
		{"POST", "/v2.1/os-keypairs", create("ak"), 403},
		{"POST", "/v2.1/" + u.Project + "/os-keypairs", create("akp"), 403},
		{"POST", "/v3/" + u.Project + "/keypairs", create("akk"), 403},
	} {
		h := map[string]string{"Content-Type": "application/json"}
		if code, raw := send(t, srv.signedRequest(t, u.AK, u.SK, c.method, c.path, c.body, h)); code != c.want {
			t.Errorf("AK/SK: %s %s: %d %s, want %d", c.method, c.path, code, raw, c.want)
		}
	}

	body = `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "` + u.ID + `", "password": "pw-pr"}}},
		"scope": {"project": {"id": "` + u.Project + `"}}}}`
	resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	if resp.StatusCode != 201 || strings.Contains(string(raw), `"member"`) || !strings.Contains(string(raw), `"reader"`) {
		t.Fatalf("new login: %d %s, want 201 with reader only", resp.StatusCode, raw)
	}
	nt := map[string]string{"X-Auth-Token": resp.Header.Get("X-Subject-Token"), "Content-Type": "application/json"}
	if resp, raw := srv.do(t, "POST", "/v3/"+u.Project+"/keypairs", nt, create("new")); resp.StatusCode != 403 {
		t.Errorf("reader's new token creates: %d %s, want 403", resp.StatusCode, raw)
	}
}
