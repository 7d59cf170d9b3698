package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// adminToken gets a project-scoped token for the bootstrap admin.
func adminToken(t *testing.T, srv *testServer) (token, userID, projectID string) {
	t.Helper()
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` + bootstrapPassword + `"}}},
		"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`
	resp, raw := srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	if resp.StatusCode != 201 {
		t.Fatalf("token: %d %s", resp.StatusCode, raw)
	}
	var tb struct {
		Token struct {
			User    struct{ ID string } `json:"user"`
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	if err := json.Unmarshal(raw, &tb); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("X-Subject-Token"), tb.Token.User.ID, tb.Token.Project.ID
}

// TestAKSKOnNova signs Nova requests with the real Huawei Cloud SDK signer
// and EC2 credentials from the built-in identity.
func TestAKSKOnNova(t *testing.T) {
	var logs syncBuffer
	srv := startServerLog(t, &logs, "", "--bootstrap-password", bootstrapPassword, "--log-level", "debug", "--log-format", "json")
	tok, user, project := adminToken(t, srv)
	resp, raw := srv.do(t, "POST", "/identity/v3/users/"+user+"/credentials/OS-EC2",
		map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}, `{"tenant_id": "`+project+`"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("ec2 create: %d %s", resp.StatusCode, raw)
	}
	var cred struct {
		Credential struct{ Access, Secret string } `json:"credential"`
	}
	if err := json.Unmarshal(raw, &cred); err != nil {
		t.Fatal(err)
	}
	pub, _ := sshKeygen(t, "-t", "ed25519")

	try := func(t *testing.T, ak, sk, method, path, body string, tamper func(*http.Request)) (int, string) {
		t.Helper()
		r := srv.signedRequest(t, ak, sk, method, path, body, map[string]string{"OpenStack-API-Version": "compute 2.2"})
		if tamper != nil {
			tamper(r)
		}
		return send(t, r)
	}

	create := `{"keypair": {"name": "signed", "public_key": "` + strings.TrimSpace(pub) + `"}}`
	if code, out := try(t, cred.Credential.Access, cred.Credential.Secret, "POST", "/v2.1/os-keypairs", create, nil); code != 201 {
		t.Fatalf("signed create: %d %s", code, out)
	}
	if code, out := try(t, cred.Credential.Access, cred.Credential.Secret, "GET", "/v2.1/os-keypairs/signed", "", nil); code != 200 || !strings.Contains(out, `"user_id":"`+user+`"`) {
		t.Fatalf("signed show: %d %s", code, out)
	}
	refusals := []struct {
		name, ak, sk, method, path, body string
		tamper                           func(*http.Request)
		reason                           string
	}{
		{"wrong secret", cred.Credential.Access, "0000", "GET", "/v2.1/os-keypairs", "", nil, "signature does not match"},
		{"unknown access key", "AKNOTKNOWN", "x", "GET", "/v2.1/os-keypairs", "", nil, "unknown access key"},
		{"tampered path", cred.Credential.Access, cred.Credential.Secret, "GET", "/v2.1/os-keypairs/signed", "", func(r *http.Request) {
			r.URL.Path = "/v2.1/os-keypairs/other"
		}, "signature does not match"},
		{"tampered body", cred.Credential.Access, cred.Credential.Secret, "POST", "/v2.1/os-keypairs", create, func(r *http.Request) {
			b := strings.Replace(create, "signed", "sIgned", 1)
			r.Body = io.NopCloser(strings.NewReader(b))
			r.ContentLength = int64(len(b))
		}, "signature does not match"},
		{"old date", cred.Credential.Access, cred.Credential.Secret, "GET", "/v2.1/os-keypairs", "", func(r *http.Request) {
			r.Header.Set("X-Sdk-Date", "20200101T000000Z")
		}, "away from the server's clock"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			code, out := try(t, c.ak, c.sk, c.method, c.path, c.body, c.tamper)
			if code != 401 || !strings.Contains(out, c.reason) || strings.Contains(out, cred.Credential.Secret) {
				t.Fatalf("%d %s; want 401 with %q", code, out, c.reason)
			}
		})
	}

	// Nothing secret reached the log, even at debug level.
	log := logs.String()
	if !strings.Contains(log, `"path":"/identity/v3/auth/tokens"`) {
		t.Fatalf("the log does not show the requests:\n%s", log)
	}
	for name, secret := range map[string]string{"password": bootstrapPassword, "token": tok[10:60], "EC2 secret": cred.Credential.Secret} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
}
