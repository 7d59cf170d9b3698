package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// kmsCLI runs `keyhaven kms ARGS` on srv's data directory, as an operator
// does while the server runs.
func kmsCLI(t *testing.T, srv *testServer, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), append([]string{"kms", "--data-dir", srv.cfg.DataDir}, args...), env, &out, &out); err != nil {
		t.Fatalf("keyhaven kms %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestResealWithHuaweiSDK changes the encryption of an escrowed private
// key the way Huawei's clients do, by importing the same private key
// again: default → kms (the named local key demo, made by `keyhaven kms
// create-key demo` while the server runs) → default. Each export gives the
// same private key, each re-seal is in the audit log, and a private key
// that does not match is refused and changes nothing.
func TestResealWithHuaweiSDK(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)

	gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "reseal", KeyProtection: protectDefault()}}})
	if err != nil || gen.Keypair.PrivateKey == nil {
		t.Fatalf("create with protection: %+v %v", gen, err)
	}
	priv := *gen.Keypair.PrivateKey
	if out := kmsCLI(t, srv, "create-key", "demo"); !strings.Contains(out, "local/demo@v1") {
		t.Fatalf("create-key demo: %s", out)
	}

	kmsEnc := func(name string) *model.Encryption {
		return &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: &name}
	}
	reimport := func(key string, enc *model.Encryption) error {
		nextSigningSecond()
		_, err := c.ImportPrivateKey(&model.ImportPrivateKeyRequest{Body: &model.ImportPrivateKeyRequestBody{Keypair: &model.ImportPrivateKeyKeypairBean{
			Name: "reseal", KeyProtection: &model.ImportPrivateKeyProtection{PrivateKey: key, Encryption: enc}}}})
		return err
	}
	check := func(step, wantRef string) {
		t.Helper()
		nextSigningSecond()
		ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "reseal"}}})
		if err != nil || ex.Keypair.PrivateKey != priv {
			t.Fatalf("%s: export gives another private key (%v)", step, err)
		}
		d, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "reseal"})
		if err != nil || d.Keypair.KeyId == nil || !strings.HasPrefix(*d.Keypair.KeyId, wantRef) {
			t.Fatalf("%s: detail key_id = %v, want %s (%v)", step, d.Keypair.KeyId, wantRef, err)
		}
	}
	check("generated", "local/master@v")

	steps := []struct {
		step    string
		enc     *model.Encryption
		wantRef string
	}{
		{"default → kms demo", kmsEnc("demo"), "local/demo@v1"},
		{"kms demo → kms kps/default", kmsEnc("kps/default"), "local/kps/default@v1"},
		{"kms → default", protectDefault().Encryption, "local/master@v"},
		{"default again", protectDefault().Encryption, "local/master@v"},
	}
	for _, s := range steps {
		if err := reimport(priv, s.enc); err != nil {
			t.Fatalf("%s: %v", s.step, err)
		}
		check(s.step, s.wantRef)
	}

	// A private key of another key pair: the mismatch error, and nothing
	// changes (still the master key, still the old private key).
	other, _ := keygenPair(t, "-t", "ed25519")
	err = reimport(other, kmsEnc("demo"))
	wantKPSError(t, err, kpsapi.ErrKeyMismatch.Status, kpsapi.ErrKeyMismatch.Code)
	check("after a mismatch", "local/master@v")
	// An unknown KMS key: the KMS-key error, nothing changes.
	err = reimport(priv, kmsEnc("testName"))
	wantKPSError(t, err, kpsapi.ErrKMSKeyNotFound.Status, kpsapi.ErrKMSKeyNotFound.Code)
	check("after an unknown KMS key", "local/master@v")

	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "list"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "reseal"); n < len(steps) {
		t.Fatalf("audit list shows %d re-seals, want %d:\n%s", n, len(steps), out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "verify"}, env, &out, &out); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}

	// The seeds' names work once made; a rotated named key wraps new
	// seals under its new version, and rewrap moves everything onto it.
	kmsCLI(t, srv, "create-key", "testName")
	if err := reimport(priv, kmsEnc("testName")); err != nil {
		t.Fatalf("kms testName after create-key: %v", err)
	}
	check("kms testName", "local/testName@v1")
	if out := kmsCLI(t, srv, "rotate", "demo"); !strings.Contains(out, "local/demo@v2") {
		t.Fatalf("rotate demo: %s", out)
	}
	if out := kmsCLI(t, srv, "rewrap", "--to", "local/demo"); !strings.Contains(out, "re-wrapped to local/demo") {
		t.Fatalf("rewrap: %s", out)
	}
	check("rewrapped to local/demo", "local/demo@v2")
}

// TestEncryptionBadInput: wrong types, empty and unknown KMS key names in
// create and import-private-key bodies are 4xx in KPS's format, never 5xx.
func TestEncryptionBadInput(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	priv, pub := keygenPair(t, "-t", "ed25519")
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "target", PublicKey: &pub}}}); err != nil {
		t.Fatal(err)
	}
	privJSON, _ := json.Marshal(priv)
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json"}
	base := "/v3/" + alice.Project + "/keypairs"
	long := strings.Repeat("k", 300)
	for _, tc := range []struct {
		name, enc string
		want      kpsapi.ErrorCode
	}{
		{"unknown name", `{"type": "kms", "kms_key_name": "testName"}`, kpsapi.ErrKMSKeyNotFound},
		{"unknown id", `{"type": "kms", "kms_key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f"}`, kpsapi.ErrKMSKeyNotFound},
		{"unknown backend ref", `{"type": "kms", "kms_key_id": "vault/transit"}`, kpsapi.ErrKMSKeyNotFound},
		{"unknown local ref", `{"type": "kms", "kms_key_id": "local/nope"}`, kpsapi.ErrKMSKeyNotFound},
		{"path-like name", `{"type": "kms", "kms_key_name": "../../etc/passwd"}`, kpsapi.ErrKMSKeyNotFound},
		{"control characters", `{"type": "kms", "kms_key_name": "a\u0000b\n"}`, kpsapi.ErrKMSKeyNotFound},
		{"empty name", `{"type": "kms", "kms_key_name": ""}`, kpsapi.ErrInvalidParameter},
		{"empty name and id", `{"type": "kms", "kms_key_name": "", "kms_key_id": ""}`, kpsapi.ErrInvalidParameter},
		{"no name", `{"type": "kms"}`, kpsapi.ErrInvalidParameter},
		{"too long", `{"type": "kms", "kms_key_name": "` + long + `"}`, kpsapi.ErrInvalidParameter},
		{"number name", `{"type": "kms", "kms_key_name": 7}`, kpsapi.ErrInvalidParameter},
		{"object id", `{"type": "kms", "kms_key_id": {"id": "demo"}}`, kpsapi.ErrInvalidParameter},
		{"array name", `{"type": "kms", "kms_key_name": ["demo"]}`, kpsapi.ErrInvalidParameter},
		{"bool id", `{"type": "kms", "kms_key_id": true}`, kpsapi.ErrInvalidParameter},
		{"null type", `{"type": null, "kms_key_name": "demo"}`, kpsapi.ErrInvalidParameter},
		{"unknown type", `{"type": "hsm", "kms_key_name": "demo"}`, kpsapi.ErrInvalidParameter},
	} {
		for _, req := range []struct{ what, path, body string }{
			{"import-private-key", base + "/private-key/import",
				`{"keypair": {"name": "target", "key_protection": {"private_key": ` + string(privJSON) + `, "encryption": ` + tc.enc + `}}}`},
			{"create", base, `{"keypair": {"name": "gen", "key_protection": {"encryption": ` + tc.enc + `}}}`},
		} {
			resp, raw := srv.do(t, "POST", req.path, h, req.body)
			var body struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_msg"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != tc.want.Status || body.Code != tc.want.Code || body.Msg == "" {
				t.Errorf("%s, %s: %d %s; want %d %s", tc.name, req.what, resp.StatusCode, raw, tc.want.Status, tc.want.Code)
			}
		}
	}
	// Nothing was kept: the key pair has no private key, gen does not exist.
	_, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "target"}}})
	wantKPSError(t, err, kpsapi.ErrNoPrivateKey.Status, kpsapi.ErrNoPrivateKey.Code)
	_, err = c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "gen"})
	wantKPSError(t, err, kpsapi.ErrKeypairNotFound.Status, kpsapi.ErrKeypairNotFound.Code)
}
