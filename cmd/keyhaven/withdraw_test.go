package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"
)

// withdrawal is one way an administrator takes a user's access away,
// through the Keystone admin API with the admin's token.
type withdrawal struct {
	name string
	// do takes the access of u away on srv.
	do func(t *testing.T, srv *testServer, adminTok string, u cloudUser)
	// ec2Stays: the user's EC2 credential keeps working (a new password
	// does not end EC2 credentials, in Keystone either).
	ec2Stays bool
}

// adminCall sends one admin API request and fails the test unless it
// answers want.
func adminCall(t *testing.T, srv *testServer, adminTok, method, path, body string, want int) {
	t.Helper()
	resp, raw := srv.do(t, method, path, map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
}

func withdrawals() []withdrawal {
	return []withdrawal{
		{name: "user disabled", do: func(t *testing.T, srv *testServer, tok string, u cloudUser) {
			adminCall(t, srv, tok, "PATCH", "/identity/v3/users/"+u.ID, `{"user": {"enabled": false}}`, 200)
		}},
		{name: "last role removed", do: func(t *testing.T, srv *testServer, tok string, u cloudUser) {
			adminCall(t, srv, tok, "DELETE", "/identity/v3/projects/"+u.Project+"/users/"+u.ID+"/roles/"+roleID(t, srv, tok, "member"), "", 204)
		}},
		{name: "user deleted", do: func(t *testing.T, srv *testServer, tok string, u cloudUser) {
			adminCall(t, srv, tok, "DELETE", "/identity/v3/users/"+u.ID, "", 204)
		}},
		{name: "password changed", ec2Stays: true, do: func(t *testing.T, srv *testServer, tok string, u cloudUser) {
			adminCall(t, srv, tok, "PATCH", "/identity/v3/users/"+u.ID, `{"user": {"password": "a-new-one"}}`, 200)
		}},
		{name: "project disabled", do: func(t *testing.T, srv *testServer, tok string, u cloudUser) {
			adminCall(t, srv, tok, "PATCH", "/identity/v3/projects/"+u.Project, `{"project": {"enabled": false}}`, 200)
		}},
	}
}

// roleID looks a role up by name.
func roleID(t *testing.T, srv *testServer, adminTok, name string) string {
	t.Helper()
	_, raw := srv.do(t, "GET", "/identity/v3/roles?name="+name, map[string]string{"X-Auth-Token": adminTok}, "")
	i := strings.Index(string(raw), `"id":"`)
	if i < 0 {
		t.Fatalf("role %s: %s", name, raw)
	}
	id := string(raw[i+6:])
	return id[:strings.IndexByte(id, '"')]
}

// access is what a user can still do on one instance, path by path.
type access struct {
	novaToken, kpsToken, validate, novaAKSK, kpsSDK, login int
}

// probe tries every path of u on srv: Nova and KPS with the token, token
// validation by the admin, Nova signed with AK/SK, KPS through the real
// Huawei SDK, and a password login with the password u was created with.
func probe(t *testing.T, srv *testServer, adminTok string, u cloudUser, name string) access {
	t.Helper()
	var a access
	tok := map[string]string{"X-Auth-Token": u.Token, "Content-Type": "application/json"}
	resp, _ := srv.do(t, "GET", "/v2.1/os-keypairs", tok, "")
	a.novaToken = resp.StatusCode
	pub, _ := sshKeygen(t, "-t", "ed25519")
	resp, _ = srv.do(t, "POST", "/v3/"+u.Project+"/keypairs", tok,
		fmt.Sprintf(`{"keypair": {"name": "%s-tok-%d", "public_key": "%s"}}`, name, time.Now().UnixNano(), strings.TrimSpace(pub)))
	a.kpsToken = resp.StatusCode
	resp, _ = srv.do(t, "GET", "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": adminTok, "X-Subject-Token": u.Token}, "")
	a.validate = resp.StatusCode
	a.novaAKSK, _ = send(t, srv.signedRequest(t, u.AK, u.SK, "GET", "/v2.1/os-keypairs", "", nil))
	_, err := kpsClient(t, srv, u).CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: fmt.Sprintf("%s-sdk-%d", name, time.Now().UnixNano()), PublicKey: ptr(strings.TrimSpace(pub))}}})
	a.kpsSDK = 200
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		a.kpsSDK = se.StatusCode
	} else if err != nil {
		t.Fatalf("KPS create: %v", err)
	}
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "` + u.ID + `", "password": "pw-` + name + `"}}},
		"scope": {"project": {"id": "` + u.Project + `"}}}}`
	resp, _ = srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	a.login = resp.StatusCode
	if a.login == 429 {
		// Refused too: after the probe's failed logins, the login limiter
		// answers before the password is checked.
		a.login = 401
	}
	return a
}

// wantWithdrawn checks that every path of a stopped, and only the EC2
// credential kept working where the withdrawal leaves it.
func wantWithdrawn(w withdrawal, a access) error {
	validate := 404
	if w.name == "domain disabled" {
		validate = 401 // the admin's own token is in that domain too
	}
	aksk := 401
	if w.ec2Stays {
		aksk = 200
	}
	want := access{novaToken: 401, kpsToken: 401, validate: validate, novaAKSK: aksk, kpsSDK: aksk, login: 401}
	if a != want {
		return fmt.Errorf("after %s: %+v, want %+v", w.name, a, want)
	}
	return nil
}

// TestWithdrawnAccessStops takes access away in each way an operator can
// and checks that every path the user had stops at once: tokens on Nova,
// KPS and token validation, AK/SK on Nova and through the Huawei SDK on
// KPS, and password login.
func TestWithdrawnAccessStops(t *testing.T) {
	srv := startServer(t, "", "--bootstrap-password", bootstrapPassword)
	adminTok, _, _ := adminToken(t, srv)
	granted := access{novaToken: 200, kpsToken: 200, validate: 200, novaAKSK: 200, kpsSDK: 200, login: 201}
	for i, w := range withdrawals() {
		t.Run(w.name, func(t *testing.T) {
			name := fmt.Sprintf("u%d", i)
			u := newCloudUser(t, srv, adminTok, name, "proj-"+name, "member")
			if a := probe(t, srv, adminTok, u, name); a != granted {
				t.Fatalf("before: %+v, want %+v", a, granted)
			}
			w.do(t, srv, adminTok, u)
			if err := wantWithdrawn(w, probe(t, srv, adminTok, u, name)); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A deleted EC2 credential stops signing at once; the user's token
	// stays.
	t.Run("credential deleted", func(t *testing.T) {
		u := newCloudUser(t, srv, adminTok, "ucred", "proj-ucred", "member")
		adminCall(t, srv, adminTok, "DELETE", "/identity/v3/users/"+u.ID+"/credentials/OS-EC2/"+u.AK, "", 204)
		a := probe(t, srv, adminTok, u, "ucred")
		if want := (access{novaToken: 200, kpsToken: 200, validate: 200, novaAKSK: 401, kpsSDK: 401, login: 201}); a != want {
			t.Fatalf("after deleting the credential: %+v, want %+v", a, want)
		}
	})

	// Last, the Default domain: every token in it ends, the admin's too.
	u := newCloudUser(t, srv, adminTok, "udom", "proj-udom", "member")
	adminCall(t, srv, adminTok, "PATCH", "/identity/v3/domains/default", `{"domain": {"enabled": false}}`, 200)
	if err := wantWithdrawn(withdrawal{name: "domain disabled"}, probe(t, srv, adminTok, u, "udom")); err != nil {
		t.Fatal(err)
	}
	if resp, raw := srv.do(t, "GET", "/identity/v3/users", map[string]string{"X-Auth-Token": adminTok}, ""); resp.StatusCode != 401 {
		t.Fatalf("the admin's token in the disabled domain: %d %s", resp.StatusCode, raw)
	}
}

// TestWithdrawnAccessTwoInstances: access taken away through one keyhaven
// process stops on a second process on the same PostgreSQL database
// within the 10 s bound, on every path.
func TestWithdrawnAccessTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := postgresURL(t)
	data := t.TempDir()
	srvs := startProcesses(t, 2, testTokens, "--database", db, "--data-dir", data)
	a, b := srvs[0], srvs[1]
	adminTok, _, _ := adminToken(t, a)
	for i, w := range withdrawals() {
		t.Run(w.name, func(t *testing.T) {
			name := fmt.Sprintf("m%d", i)
			u := newCloudUser(t, a, adminTok, name, "proj-"+name, "member")
			w.do(t, a, adminTok, u)
			// The bound is what is tested, not a speed: poll until it passes.
			deadline := time.Now().Add(10 * time.Second)
			for {
				err := wantWithdrawn(w, probe(t, b, adminTok, u, name))
				if err == nil {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("on the other instance, 10 s later: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
