package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"

	"github.com/keyhaven/keyhaven/internal/keystonetest"
)

// TestRemoteKeystone runs keyhaven inside an existing cloud: a real
// Keystone (Debian's, started on loopback) issues the tokens and holds the
// EC2 credentials, keyhaven validates against it.
func TestRemoteKeystone(t *testing.T) {
	k := keystonetest.Start(t)
	project := keystonetest.UniqueName("kh-project")
	user := keystonetest.UniqueName("kh-user")
	userID := k.CreateUser(t, user, "user-pw", project, "member")
	projectID := k.ProjectID(t, project)

	srv := startServer(t, "", "--auth", "keystone", "--keystone-url", k.URL,
		"--keystone-username", k.AdminUser, "--keystone-password", k.AdminPassword,
		"--keystone-project", k.AdminProject, "--keystone-cache-ttl", "1s")
	ctx := context.Background()

	token := k.IssueToken(t, user, "user-pw", project)
	c := computeClient(t, srv, token, "2.10")
	pub, fp := sshKeygen(t, "-t", "ed25519")
	kp, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "from-keystone", PublicKey: pub}).Extract()
	if err != nil || kp.UserID != userID || kp.Fingerprint != fp {
		t.Fatalf("create with a Keystone token: %+v %v", kp, err)
	}
	// A project URL must match the token's project.
	if resp, raw := srv.do(t, "GET", "/v2.1/"+projectID+"/os-keypairs", map[string]string{"X-Auth-Token": token}, ""); resp.StatusCode != 200 {
		t.Fatalf("project URL: %d %s", resp.StatusCode, raw)
	}

	resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": "not-a-keystone-token"}, "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Keystone uri="`+strings.TrimSuffix(k.URL, "/v3")+`"` {
		t.Fatalf("bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	// AK/SK with an EC2 credential Keystone holds.
	access, secret := k.CreateEC2(t, userID, projectID)
	code, body := send(t, srv.signedRequest(t, access, secret, "GET", "/v2.1/os-keypairs/from-keystone", "", nil))
	if code != 200 || !strings.Contains(body, `"name":"from-keystone"`) {
		t.Fatalf("AK/SK with a Keystone EC2 credential: %d %s", code, body)
	}

	// A token revoked in Keystone stops working here within the cache
	// bound (1s); the loop is bounded by count, not asserted in time.
	second := k.IssueToken(t, user, "user-pw", project)
	k.RevokeToken(t, k.AdminToken(t), token)
	stopped := false
	for range 50 {
		resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": token}, "")
		if resp.StatusCode == 401 {
			stopped = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !stopped {
		t.Fatal("a token revoked in Keystone still works")
	}

	// A user disabled in Keystone: its other token and its EC2 credential
	// stop too.
	if resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": second}, ""); resp.StatusCode != 200 {
		t.Fatalf("second token before disabling: %d %s", resp.StatusCode, raw)
	}
	k.SetUserEnabled(t, userID, false)
	stopped = false
	for range 50 {
		resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": second}, "")
		code, _ := send(t, srv.signedRequest(t, access, secret, "GET", "/v2.1/os-keypairs", "", nil))
		if resp.StatusCode == 401 && code == 401 {
			stopped = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !stopped {
		t.Fatal("a user disabled in Keystone still works here, by token or AK/SK")
	}
}
