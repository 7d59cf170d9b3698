package main

import (
	"context"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

const bootstrapPassword = "s3cret-admin-pw"

// startIdentityServer starts keyhaven with the built-in identity and a
// known admin password.
func startIdentityServer(t *testing.T, flags ...string) *testServer {
	t.Helper()
	return startServer(t, "", append([]string{"--bootstrap-password", bootstrapPassword}, flags...)...)
}

// TestGophercloudKeystoneCatalog authenticates the way gophercloud users
// do against a cloud: password auth at the identity endpoint, the compute
// endpoint from the token's catalog, then the key pair scenario.
func TestGophercloudKeystoneCatalog(t *testing.T) {
	srv := startIdentityServer(t)
	ctx := context.Background()
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: srv.URL + "/identity",
		Username:         "admin",
		Password:         bootstrapPassword,
		DomainName:       "Default",
		TenantName:       "admin",
	}
	provider, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	compute, err := openstack.NewComputeV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if compute.Endpoint != srv.URL+"/v2.1/" {
		t.Fatalf("compute endpoint from the catalog: %q", compute.Endpoint)
	}
	compute.Microversion = "2.10"
	pub, fp := sshKeygen(t, "-t", "ed25519")
	kp, err := keypairs.Create(ctx, compute, keypairs.CreateOpts{Name: "via-catalog", PublicKey: pub}).Extract()
	if err != nil || kp.Fingerprint != fp {
		t.Fatalf("create: %+v %v", kp, err)
	}
	got, err := keypairs.Get(ctx, compute, "via-catalog", nil).Extract()
	if err != nil || got.UserID != kp.UserID {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := keypairs.Delete(ctx, compute, "via-catalog", nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	// The identity client validates and revokes tokens.
	identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	tok := provider.Token()
	user, err := tokens.Get(ctx, identity, tok).ExtractUser()
	if err != nil || user.Name != "admin" {
		t.Fatalf("validate: %+v %v", user, err)
	}
	second, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Revoke(ctx, identity, second.Token()).Err; err != nil {
		t.Fatalf("revoke: %v", err)
	}
	resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": second.Token()}, "")
	if resp.StatusCode != 401 {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
	if _, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: srv.URL + "/identity", Username: "admin",
		Password: "wrong", DomainName: "Default", TenantName: "admin"}); !gophercloud.ResponseCodeIs(err, 401) {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestIdentityAPIErrors checks that bad input to /identity gets Keystone's
// 4xx error bodies, never a 500.
func TestIdentityAPIErrors(t *testing.T) {
	srv := startIdentityServer(t)
	ct := map[string]string{"Content-Type": "application/json"}
	pw := func(user, password, scope string) string {
		return `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + user + `, "password": "` + password + `"}}}` + scope + `}}`
	}
	adminUser := `"name": "admin", "domain": {"name": "Default"}`
	project := `, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}`
	tests := []struct {
		name, body string
		status     int
	}{
		{"not json", `{`, 400},
		{"empty", ``, 400},
		{"wrong type", `{"auth": []}`, 400},
		{"no identity", `{"auth": {}}`, 400},
		{"no password", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin"}}}}}`, 400},
		{"user without domain", pw(`"name": "admin"`, bootstrapPassword, ""), 400},
		{"unknown method", `{"auth": {"identity": {"methods": ["totp"]}}}`, 401},
		{"wrong password", pw(adminUser, "nope", project), 401},
		{"unknown user", pw(`"name": "ghost", "domain": {"name": "Default"}`, "x", ""), 401},
		{"unknown domain", pw(`"name": "admin", "domain": {"name": "Nowhere"}`, "x", ""), 401},
		{"unknown project", pw(adminUser, bootstrapPassword, `, "scope": {"project": {"name": "nope", "domain": {"name": "Default"}}}`), 401},
		{"domain scope", pw(adminUser, bootstrapPassword, `, "scope": {"domain": {"name": "Default"}}`), 400},
		{"project without domain", pw(adminUser, bootstrapPassword, `, "scope": {"project": {"name": "admin"}}`), 400},
		{"unscoped", pw(adminUser, bootstrapPassword, ""), 201},
		{"scoped", pw(adminUser, bootstrapPassword, project), 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", ct, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.status >= 400 && !strings.Contains(string(raw), `"error":{"code":`) {
				t.Fatalf("not Keystone's error body: %s", raw)
			}
			if strings.Contains(string(raw), bootstrapPassword) {
				t.Fatal("password echoed")
			}
		})
	}
	// An unscoped token cannot use the key pair API.
	resp, _ := srv.do(t, "POST", "/identity/v3/auth/tokens", ct, pw(adminUser, bootstrapPassword, ""))
	r2, _ := srv.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": resp.Header.Get("X-Subject-Token")}, "")
	if r2.StatusCode != 401 {
		t.Fatalf("unscoped token on Nova: %d", r2.StatusCode)
	}
	if resp, _ := srv.do(t, "GET", "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": "junk", "X-Subject-Token": "junk"}, ""); resp.StatusCode != 401 {
		t.Fatalf("validate with a junk token: %d", resp.StatusCode)
	}
	if resp, _ := srv.do(t, "GET", "/identity", nil, ""); resp.StatusCode != 300 {
		t.Fatalf("GET /identity: %d", resp.StatusCode)
	}
	if resp, _ := srv.do(t, "GET", "/identity/v3/nope", nil, ""); resp.StatusCode != 404 {
		t.Fatalf("unknown identity path: %d", resp.StatusCode)
	}
}
