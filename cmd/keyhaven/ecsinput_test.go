package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
)

// kpsErrorBody is KPS's error body, which --compute-api huawei answers.
type kpsErrorBody struct {
	Code string `json:"error_code"`
	Msg  string `json:"error_msg"`
}

// TestECSHuaweiModeBadInput sends malformed requests to os-keypairs in
// --compute-api huawei: each gets a 4xx in KPS's format with the code of
// KPS's table, never a 500 or a Nova fault, and nothing is written.
func TestECSHuaweiModeBadInput(t *testing.T) {
	srv := startIdentityServer(t, "--compute-api", "huawei")
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	bob := newCloudUser(t, srv, adminTok, "bob", "team", "member")
	base := "/v2.1/" + alice.Project + "/os-keypairs"
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
	if resp, raw := srv.do(t, "POST", base, h, `{"keypair": {"name": "exists", "public_key": "`+strings.TrimSpace(seedPublicKey)+`"}}`); resp.StatusCode != 200 {
		t.Fatalf("setup: %d %s", resp.StatusCode, raw)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	kp := func(fields string) string { return `{"keypair": {` + fields + `}}` }
	invalid, forbidden := kpsapi.ErrInvalidParameter, kpsapi.ErrNotAuthorized
	tests := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		want               kpsapi.ErrorCode
	}{
		{"create: not json", "POST", base, h, `{`, invalid},
		{"create: empty", "POST", base, h, ``, invalid},
		{"create: no wrapper", "POST", base, h, `{"name": "x"}`, invalid},
		{"create: keypair not an object", "POST", base, h, `{"keypair": "x"}`, invalid},
		{"create: missing name", "POST", base, h, kp(``), invalid},
		{"create: name not a string", "POST", base, h, kp(`"name": 5`), invalid},
		{"create: empty name", "POST", base, h, kp(`"name": ""`), invalid},
		{"create: 65 characters", "POST", base, h, kp(`"name": "` + strings.Repeat("n", 65) + `"`), invalid},
		{"create: space", "POST", base, h, kp(`"name": "a b"`), invalid},
		{"create: dot at 2.92", "POST", base, with("OpenStack-API-Version", "compute 2.92"), kp(`"name": "a.b", "public_key": "` + strings.TrimSpace(seedPublicKey) + `"`), invalid},
		{"create: at-sign", "POST", base, h, kp(`"name": "me@work"`), invalid},
		{"create: non-ASCII letter", "POST", base, h, kp(`"name": "schlüssel"`), invalid},
		{"create: user_id not a string", "POST", base, h, kp(`"name": "x", "user_id": 7`), invalid},
		{"create: user_id null", "POST", base, h, kp(`"name": "x", "user_id": null`), invalid},
		{"create: user_id an object", "POST", base, h, kp(`"name": "x", "user_id": {"id": "` + alice.ID + `"}`), invalid},
		{"create: another user's user_id", "POST", base, h, kp(`"name": "x", "user_id": "` + bob.ID + `"`), forbidden},
		{"create: another user's user_id at 2.10", "POST", base, with("OpenStack-API-Version", "compute 2.10"), kp(`"name": "x", "user_id": "` + bob.ID + `"`), forbidden},
		{"create: unknown field", "POST", base, h, kp(`"name": "x", "colour": "red"`), invalid},
		{"create: type before 2.2", "POST", base, h, kp(`"name": "x", "type": "ssh"`), invalid},
		{"create: bad type", "POST", base, with("OpenStack-API-Version", "compute 2.2"), kp(`"name": "x", "type": "pgp"`), invalid},
		{"create: key_protection not an object", "POST", base, h, kp(`"name": "x", "key_protection": true`), invalid},
		{"create: bad encryption type", "POST", base, h, kp(`"name": "x", "key_protection": {"encryption": {"type": "rot13"}}}`), invalid},
		{"create: unknown KMS key", "POST", base, h, kp(`"name": "x", "key_protection": {"encryption": {"type": "kms", "kms_key_name": "nope"}}`), kpsapi.ErrKMSKeyNotFound},
		{"create: bad public key", "POST", base, h, kp(`"name": "x", "public_key": "ssh-rsa AAAAnotbase64"`), kpsapi.ErrInvalidPublicKey},
		{"create: duplicate", "POST", base, h, kp(`"name": "exists", "public_key": "` + strings.TrimSpace(seedPublicKey) + `"`), kpsapi.ErrKeypairExists},
		{"create: oversized", "POST", base, h, kp(`"name": "big", "public_key": "` + strings.Repeat("A", 70<<10) + `"`), kpsapi.ErrTooLarge},
		{"create: wrong media type", "POST", base, with("Content-Type", "application/xml"), kp(`"name": "x"`), invalid},
		{"create: malformed microversion", "POST", base, with("OpenStack-API-Version", "compute 2.x"), kp(`"name": "x"`), invalid},
		{"list: bad limit", "GET", base + "?limit=abc", with("OpenStack-API-Version", "compute 2.35"), "", invalid},
		{"list: unknown marker", "GET", base + "?marker=nope", with("OpenStack-API-Version", "compute 2.35"), "", invalid},
		{"show: missing", "GET", base + "/nope", h, "", kpsapi.ErrKeypairNotFound},
		{"delete: missing", "DELETE", base + "/nope", h, "", kpsapi.ErrKeypairNotFound},
		{"delete: another user's", "DELETE", base + "/exists?user_id=" + bob.ID, with("OpenStack-API-Version", "compute 2.10"), "", forbidden},
		{"unknown path", "GET", base + "/exists/extra", h, "", kpsapi.ErrResourceNotFound},
		{"method not allowed", "PUT", base + "/exists", h, `{}`, kpsapi.ErrMethodNotAllowed},
		{"another project in the URL", "GET", "/v2.1/" + bob.Project + "x/os-keypairs", h, "", invalid},
		{"no token", "GET", base, with("X-Auth-Token", ""), "", kpsapi.ErrUnauthenticated},
		{"bad token", "GET", base, with("X-Auth-Token", "junk"), "", kpsapi.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := srv.do(t, tt.method, tt.path, tt.headers, tt.body)
			var body kpsErrorBody
			if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != tt.want.Status || body.Code != tt.want.Code || body.Msg == "" {
				t.Fatalf("%d %s; want %d %s", resp.StatusCode, raw, tt.want.Status, tt.want.Code)
			}
		})
	}
	resp, raw := srv.do(t, "GET", base, h, "")
	if resp.StatusCode != 200 || strings.Count(string(raw), `"name"`) != 1 {
		t.Fatalf("bad requests wrote something: %s", raw)
	}
}

// TestECSSeedRequests sends the seed's own requests as written, in
// --compute-api huawei: "demo2" generated and sealed under the KMS key
// "demo", "demo4" imported with its private key sealed under "testName".
// The named keys are made with `keyhaven kms create-key`, in the local
// KMS of the embedded defaults and in SoftHSM2.
func TestECSSeedRequests(t *testing.T) {
	t.Run("embedded defaults", func(t *testing.T) { ecsSeedRequests(t, nil, "local/") })
	t.Run("SoftHSM2", func(t *testing.T) {
		tok := softhsmtest.New(t, "keyhaven-seed")
		ecsSeedRequests(t, []string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin", tok.PIN, "--pkcs11-key", "demo"}, "pkcs11/")
	})
}

// ecsSeedRequests sends the seed's demo2 and demo4 requests as written
// after `keyhaven kms create-key demo` and `testName` on a server with
// kmsFlags, whose keys' refs start with prefix.
func ecsSeedRequests(t *testing.T, kmsFlags []string, prefix string) {
	srv := startIdentityServer(t, append([]string{"--compute-api", "huawei"}, kmsFlags...)...)
	for _, key := range []string{"demo", "testName"} {
		var out bytes.Buffer
		args := append(append([]string{"kms", "--data-dir", srv.cfg.DataDir}, kmsFlags...), "create-key", key)
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &out); err != nil {
			t.Fatalf("kms create-key %s: %v\n%s", key, err, out.String())
		}
	}
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
	priv, pub := keygenPair(t, "-t", "rsa", "-b", "2048")
	privJSON, _ := json.Marshal(priv)
	pubJSON, _ := json.Marshal(strings.TrimSpace(pub))
	seeds := []struct{ name, kmsKey, body string }{
		{"demo2", "demo", `{"keypair": {"name": "demo2", "key_protection": {"encryption": {"type": "kms", "kms_key_name": "demo"}}}}`},
		{"demo4", "testName", `{"keypair": {"name": "demo4", "public_key": ` + string(pubJSON) + `, "key_protection": {"private_key": ` + string(privJSON) + `, "encryption": {"type": "kms", "kms_key_name": "testName"}}}}`},
	}
	for _, s := range seeds {
		resp, raw := srv.do(t, "POST", "/v2.1/"+alice.Project+"/os-keypairs", h, s.body)
		var created struct {
			Keypair struct {
				Name       string  `json:"name"`
				PrivateKey *string `json:"private_key"`
				UserID     string  `json:"user_id"`
			} `json:"keypair"`
		}
		if err := json.Unmarshal(raw, &created); err != nil || resp.StatusCode != 200 || created.Keypair.Name != s.name || created.Keypair.UserID != alice.ID {
			t.Fatalf("%s: %d %s", s.name, resp.StatusCode, raw)
		}
		// A generated key is answered once; an imported one is not.
		want := priv
		if s.name == "demo2" {
			if created.Keypair.PrivateKey == nil || !strings.HasPrefix(*created.Keypair.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----") {
				t.Fatalf("demo2 answered no private key: %s", raw)
			}
			want = *created.Keypair.PrivateKey
		} else if created.Keypair.PrivateKey != nil {
			t.Fatalf("demo4 answered its private key: %s", raw)
		}
		// KPS sees it sealed under the named key and gives the same
		// private key back.
		resp, raw = srv.do(t, "GET", "/v3/"+alice.Project+"/keypairs/"+s.name, h, "")
		if resp.StatusCode != 200 || !strings.Contains(string(raw), `"is_key_protection":true`) || !strings.Contains(string(raw), `"key_id":"`+prefix+s.kmsKey) {
			t.Fatalf("%s in KPS: %d %s", s.name, resp.StatusCode, raw)
		}
		resp, raw = srv.do(t, "POST", "/v3/"+alice.Project+"/keypairs/private-key/export", h, `{"keypair": {"name": "`+s.name+`"}}`)
		var ex struct {
			Keypair struct {
				PrivateKey string `json:"private_key"`
			} `json:"keypair"`
		}
		if err := json.Unmarshal(raw, &ex); err != nil || resp.StatusCode != 200 || ex.Keypair.PrivateKey != want {
			t.Fatalf("%s export: %d %s", s.name, resp.StatusCode, raw)
		}
	}
}
