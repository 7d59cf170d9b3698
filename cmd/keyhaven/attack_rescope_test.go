package main

import (
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
