package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// replayable captures a signed request so that it can be sent again byte
// for byte, as an attacker who saw it on the wire would.
func replayable(t *testing.T, r *http.Request) func(srv *testServer) *http.Request {
	t.Helper()
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			t.Fatal(err)
		}
	}
	return func(srv *testServer) *http.Request {
		c := r.Clone(t.Context())
		if srv != nil {
			// Another instance behind the same load balancer: same
			// request, another address.
			u := *r.URL
			u.Host = strings.TrimPrefix(srv.URL, "http://")
			c.URL, c.Host = &u, r.Host
		}
		c.Body, c.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return c
	}
}

// nextSigningSecond waits until the clock's second changes. The SDK's
// signature carries the time to the second, so a request byte for byte the
// same as one accepted in the same second has its signature, and keyhaven
// refuses it as a replay; a test that repeats a request on purpose (a
// second delete for its 404) waits for a new signature first.
func nextSigningSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// ec2Credential makes an EC2 credential of the admin on the admin project.
func ec2Credential(t *testing.T, srv *testServer) (ak, sk, project string) {
	t.Helper()
	tok, user, project := adminToken(t, srv)
	resp, raw := srv.do(t, "POST", "/identity/v3/users/"+user+"/credentials/OS-EC2",
		map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}, `{"tenant_id": "`+project+`"}`)
	var cred struct {
		Credential struct{ Access, Secret string } `json:"credential"`
	}
	if err := json.Unmarshal(raw, &cred); err != nil || resp.StatusCode != 201 {
		t.Fatalf("ec2 create: %d %s", resp.StatusCode, raw)
	}
	return cred.Credential.Access, cred.Credential.Secret, project
}

// wantRefusal checks a 401 in the dialect's format whose message holds
// reason; KPS gives a replay its own code.
func wantRefusal(t *testing.T, dialect string, code int, body, reason string) {
	t.Helper()
	var msg string
	switch dialect {
	case "nova":
		var b struct {
			Error struct {
				Code    int    `json:"code"`
				Title   string `json:"title"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(body), &b) != nil || b.Error.Code != 401 || b.Error.Title != "Unauthorized" {
			t.Fatalf("nova: %d %s; want keystonemiddleware's 401", code, body)
		}
		msg = b.Error.Message
	case "kps":
		var b struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		}
		want := kpsapi.ErrUnauthenticated
		if reason == replayReason {
			want = kpsapi.ErrReplayed
		}
		if json.Unmarshal([]byte(body), &b) != nil || b.Code != want.Code {
			t.Fatalf("kps: %d %s; want %s", code, body, want.Code)
		}
		msg = b.Msg
	}
	if code != 401 || !strings.Contains(msg, reason) {
		t.Fatalf("%s: %d %s; want 401 saying %q", dialect, code, body, reason)
	}
}

const replayReason = "this signed request was already received"

// akskReplays is the replay scenario on one or two instances: a signed
// create, a delete, then the create's request replayed byte for byte, on
// Nova and on KPS; a replayed GET is still answered.
func akskReplays(t *testing.T, first, second *testServer, ak, sk, project string) {
	pub, _ := sshKeygen(t, "-t", "ed25519")
	pub = strings.TrimSpace(pub)
	for _, d := range []struct {
		dialect, createPath, body, deletePath string
		created                               int
	}{
		{"nova", "/v2.1/os-keypairs", `{"keypair": {"name": "once", "public_key": "` + pub + `"}}`, "/v2.1/os-keypairs/once", 201},
		{"kps", "/v3/" + project + "/keypairs", `{"keypair": {"name": "once-kps", "public_key": "` + pub + `"}}`, "/v3/" + project + "/keypairs/once-kps", 200},
	} {
		t.Run(d.dialect, func(t *testing.T) {
			hdr := map[string]string{"OpenStack-API-Version": "compute 2.2"}
			create := replayable(t, first.signedRequest(t, ak, sk, "POST", d.createPath, d.body, hdr))
			if code, out := send(t, create(nil)); code != d.created {
				t.Fatalf("signed create: %d %s", code, out)
			}
			show := replayable(t, first.signedRequest(t, ak, sk, "GET", d.deletePath, "", hdr))
			del := replayable(t, first.signedRequest(t, ak, sk, "DELETE", d.deletePath, "", hdr))
			if code, out := send(t, del(nil)); code != 204 {
				t.Fatalf("signed delete: %d %s", code, out)
			}
			// The create again, to the instance that took it and (when there
			// is one) to the other: refused, and nothing is created.
			for _, srv := range []*testServer{first, second} {
				if srv == nil {
					continue
				}
				code, out := send(t, create(srv))
				wantRefusal(t, d.dialect, code, out, replayReason)
				code, out = send(t, del(srv))
				wantRefusal(t, d.dialect, code, out, replayReason)
				if code, out := send(t, show(srv)); code != 404 {
					t.Fatalf("replayed show after the refused replays: %d %s; want 404 (answered, nothing re-created)", code, out)
				}
			}
		})
	}
}

// TestAKSKReplayRefused replays signed requests against one instance.
func TestAKSKReplayRefused(t *testing.T) {
	srv := startIdentityServer(t)
	ak, sk, project := ec2Credential(t, srv)
	akskReplays(t, srv, nil, ak, sk, project)
}

// TestAKSKReplayAcrossInstances replays a request one instance accepted
// against the same one and against a second process on one PostgreSQL.
func TestAKSKReplayAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srvs := startProcesses(t, 2, testTokens, "--database", postgresURL(t), "--data-dir", filepath.Join(t.TempDir(), "shared-data"))
	ak, sk, project := ec2Credential(t, srvs[0])
	akskReplays(t, srvs[0], srvs[1], ak, sk, project)
}

// TestAKSKBodyRules sends signed requests with an unsigned body and with a
// body over the server's limit to both dialects.
func TestAKSKBodyRules(t *testing.T) {
	srv := startIdentityServer(t)
	ak, sk, project := ec2Credential(t, srv)
	big := `{"keypair": {"name": "big", "public_key": "ssh-ed25519 ` + strings.Repeat("A", 70<<10) + `"}}`
	hdr := map[string]string{"OpenStack-API-Version": "compute 2.2"}
	for _, d := range []struct{ dialect, path string }{{"nova", "/v2.1/os-keypairs"}, {"kps", "/v3/" + project + "/keypairs"}} {
		t.Run(d.dialect+"/unsigned body", func(t *testing.T) {
			// The SDK signer declares UNSIGNED-PAYLOAD for a body that is
			// not JSON.
			r := srv.signedRequest(t, ak, sk, "POST", d.path, `{"keypair": {"name": "u"}}`, map[string]string{
				"Content-Type": "text/plain", "OpenStack-API-Version": "compute 2.2"})
			if r.Header.Get("X-Sdk-Content-Sha256") != "UNSIGNED-PAYLOAD" {
				t.Fatalf("the signer did not declare the body unsigned: %v", r.Header)
			}
			code, out := send(t, r)
			wantRefusal(t, d.dialect, code, out, "UNSIGNED-PAYLOAD is refused on a request with a body")
		})
		t.Run(d.dialect+"/over the body limit", func(t *testing.T) {
			code, out := send(t, srv.signedRequest(t, ak, sk, "POST", d.path, big, hdr))
			want := map[string]string{"nova": `{"overLimit":{"code":413,"message":"Request is too large."}}`,
				"kps": `{"error_code":"` + kpsapi.ErrTooLarge.Code + `","error_msg":"The request body is larger than 65536 bytes."}`}[d.dialect]
			if code != 413 || out != want {
				t.Fatalf("%d %s; want 413 %s", code, out, want)
			}
		})
	}
	// The same through the real Huawei SDK.
	u := cloudUser{Project: project, AK: ak, SK: sk}
	pub := "ssh-ed25519 " + strings.Repeat("A", 70<<10)
	_, err := kpsClient(t, srv, u).CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "big", PublicKey: &pub}}})
	wantKPSError(t, err, 413, kpsapi.ErrTooLarge.Code)
}
