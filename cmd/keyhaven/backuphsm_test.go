package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
)

// TestBackupWithHSMKey backs up a store whose escrow uses a SoftHSM2 key:
// the HSM key is not exported, the backup and the restore name it, a
// restore beside the same HSM token opens every key, and a restore beside
// a token without the key says which key is missing, as do the exports
// of the keys it sealed.
func TestBackupWithHSMKey(t *testing.T) {
	tok := softhsmtest.New(t, "keyhaven-test")
	hsmFlags := func(token string) []string {
		return []string{"--pkcs11-module", tok.Module, "--pkcs11-token", token, "--pkcs11-pin", tok.PIN, "--pkcs11-key", "kek-1"}
	}
	srv := startIdentityServer(t, hsmFlags(tok.Label)...)
	if out, err := runKeyhaven(backupEnv, append(append([]string{"kms", "--data-dir", srv.cfg.DataDir}, hsmFlags(tok.Label)...), "create-key", "kek-1")...); err != nil {
		t.Fatalf("create-key: %v %s", err, out)
	}
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	want := map[string]string{}
	for _, k := range []struct{ name, kmsKey string }{{"in-hsm", "kek-1"}, {"local", ""}} {
		prot := protectDefault()
		if k.kmsKey != "" {
			prot = &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: ptr(k.kmsKey)}}
		}
		gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{Name: k.name, KeyProtection: prot}}})
		if err != nil {
			t.Fatalf("create %s: %v", k.name, err)
		}
		want[k.name] = *gen.Keypair.PrivateKey
	}
	archive := filepath.Join(t.TempDir(), "hsm.khb")
	out, err := runKeyhaven(backupEnv, "backup", "--to", archive, "--data-dir", srv.cfg.DataDir, "--database", srv.cfg.Database)
	if err != nil || !strings.Contains(out, "HSM key pkcs11/kek-1 is not in the backup") {
		t.Fatalf("backup: %v\n%s", err, out)
	}

	// Beside the same token: restored, and every key opens.
	dir := filepath.Join(t.TempDir(), "same-hsm")
	out, err = runKeyhaven(backupEnv, append([]string{"restore", "--from", archive, "--data-dir", dir}, hsmFlags(tok.Label)...)...)
	if err != nil || !strings.Contains(out, "HSM key pkcs11/kek-1 present") {
		t.Fatalf("restore beside the same HSM: %v\n%s", err, out)
	}
	exports := func(srv *testServer) map[string]error {
		nextSigningSecond()
		c := kpsClient(t, srv, alice)
		got := map[string]error{}
		for name, priv := range want {
			ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: name}}})
			if err == nil && ex.Keypair.PrivateKey != priv {
				t.Fatalf("%s exports other bytes after restore", name)
			}
			got[name] = err
		}
		return got
	}
	srv2 := startServer(t, "", append([]string{"--bootstrap-password", bootstrapPassword, "--data-dir", dir}, hsmFlags(tok.Label)...)...)
	for name, err := range exports(srv2) {
		if err != nil {
			t.Errorf("export %s after restore beside the same HSM: %v", name, err)
		}
	}

	// Beside another token, which lacks the key: restored (the HSM may be
	// set up later), with the missing key named; exports of its keys
	// answer KPS's KMS-key-not-found error naming it, the others export.
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "other", "--pin", tok.PIN, "--so-pin", tok.SOPIN).CombinedOutput(); err != nil {
		t.Fatalf("second token: %v %s", err, out)
	}
	dir3 := filepath.Join(t.TempDir(), "other-hsm")
	out, err = runKeyhaven(backupEnv, append([]string{"restore", "--from", archive, "--data-dir", dir3}, hsmFlags("other")...)...)
	if err != nil || !strings.Contains(out, `MISSING: HSM key pkcs11/kek-1 is not in token "other"`) {
		t.Fatalf("restore beside a token without the key: %v\n%s", err, out)
	}
	srv3 := startServer(t, "", append([]string{"--bootstrap-password", bootstrapPassword, "--data-dir", dir3}, hsmFlags("other")...)...)
	got := exports(srv3)
	if got["local"] != nil {
		t.Fatalf("local key after restore: %v", got["local"])
	}
	wantKPSError(t, got["in-hsm"], 400, kpsapi.ErrKMSKeyNotFound.Code)
	if !strings.Contains(got["in-hsm"].Error(), "kek-1") {
		t.Fatalf("the error does not name the missing key: %v", got["in-hsm"])
	}
}
