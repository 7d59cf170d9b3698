package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestRescopeOnOtherInstanceAfterPasswordChange: right after a password
// change made through one keyhaven process, the user's old token is
// rescoped (Keystone's token method) on a second process on the same
// PostgreSQL database, before that process's periodic reload. Whatever
// the rescope answers, no token it gives may outlive the change: within
// the 10 s bound every token the old one led to stops.
func TestRescopeOnOtherInstanceAfterPasswordChange(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srvs := startProcesses(t, 2, testTokens, "--database", postgresURL(t), "--data-dir", t.TempDir())
	a, b := srvs[0], srvs[1]
	adminTok, _, _ := adminToken(t, a)
	u := newCloudUser(t, a, adminTok, "rs", "proj-rs", "member")
	// The second instance must know the user before the change: a token it
	// has seen work is the case that matters.
	if resp, raw := b.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": u.Token}, ""); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, raw)
	}
	adminCall(t, a, adminTok, "PATCH", "/identity/v3/users/"+u.ID, `{"user": {"password": "changed"}}`, 200)
	body := `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + u.Token + `"}}, "scope": {"project": {"id": "` + u.Project + `"}}}}`
	resp, raw := b.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	if resp.StatusCode == 401 {
		return
	}
	if resp.StatusCode != 201 {
		t.Fatalf("rescope: %d %s", resp.StatusCode, raw)
	}
	minted := map[string]string{"X-Auth-Token": resp.Header.Get("X-Subject-Token")}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ra, _ := a.do(t, "GET", "/v2.1/os-keypairs", minted, "")
		rb, _ := b.do(t, "GET", "/v2.1/os-keypairs", minted, "")
		if ra.StatusCode == 401 && rb.StatusCode == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a token rescoped from the old one, 10 s after the password change: %d here, %d on the other instance", ra.StatusCode, rb.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEC2FromOldTokenOnOtherInstance: right after a password change made
// through one keyhaven process, the user's old token asks a second
// process, before its periodic reload, for a new EC2 credential. An EC2
// credential outlives password changes, so one made from a token the
// change ended would keep the access for good: it must be refused, or
// stop working within the 10 s bound.
func TestEC2FromOldTokenOnOtherInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srvs := startProcesses(t, 2, testTokens, "--database", postgresURL(t), "--data-dir", t.TempDir())
	a, b := srvs[0], srvs[1]
	adminTok, _, _ := adminToken(t, a)
	u := newCloudUser(t, a, adminTok, "ec", "proj-ec", "member")
	if resp, raw := b.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": u.Token}, ""); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, raw)
	}
	adminCall(t, a, adminTok, "PATCH", "/identity/v3/users/"+u.ID, `{"user": {"password": "changed"}}`, 200)
	resp, raw := b.do(t, "POST", "/identity/v3/users/"+u.ID+"/credentials/OS-EC2",
		map[string]string{"X-Auth-Token": u.Token, "Content-Type": "application/json"}, `{"tenant_id": "`+u.Project+`"}`)
	if resp.StatusCode == 401 {
		return
	}
	var cred struct {
		Credential struct{ Access, Secret string } `json:"credential"`
	}
	if err := json.Unmarshal(raw, &cred); err != nil || resp.StatusCode != 201 {
		t.Fatalf("EC2 create: %d %s", resp.StatusCode, raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := send(t, b.signedRequest(t, cred.Credential.Access, cred.Credential.Secret, "GET", "/v2.1/os-keypairs", "", nil))
		if code == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an EC2 credential made from the old token, 10 s after the password change: %d", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestWithdrawnAdminCannotRegrantOnOtherInstance: an administrator whose
// admin role is removed through one keyhaven process uses the old token on
// a second process, before its periodic reload, to grant themself the
// role again. That would undo the withdrawal for good: an admin call that
// changes identity must see the withdrawal.
func TestWithdrawnAdminCannotRegrantOnOtherInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srvs := startProcesses(t, 2, testTokens, "--database", postgresURL(t), "--data-dir", t.TempDir())
	a, b := srvs[0], srvs[1]
	adminTok, _, _ := adminToken(t, a)
	u := newCloudUser(t, a, adminTok, "ops", "proj-ops", "admin")
	if resp, raw := b.do(t, "GET", "/identity/v3/users", map[string]string{"X-Auth-Token": u.Token}, ""); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, raw)
	}
	admin := roleID(t, a, adminTok, "admin")
	grant := "/identity/v3/projects/" + u.Project + "/users/" + u.ID + "/roles/" + admin
	adminCall(t, a, adminTok, "DELETE", grant, "", 204)
	resp, raw := b.do(t, "PUT", grant, map[string]string{"X-Auth-Token": u.Token}, "")
	if resp.StatusCode != 401 && resp.StatusCode != 403 {
		t.Fatalf("the withdrawn admin's old token grants the role again on the other instance: %d %s", resp.StatusCode, raw)
	}
}
