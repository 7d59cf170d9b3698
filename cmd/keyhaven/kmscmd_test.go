package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
)

// TestRewrapInterruptedAndSoftHSM escrows keys under the local master key,
// rotates it, interrupts a rewrap midway, reruns it, moves everything into
// a SoftHSM2 token and back, and exports every key at each step.
func TestRewrapInterruptedAndSoftHSM(t *testing.T) {
	tok := softhsmtest.New(t, "keyhaven-test")
	pkcs11Flags := []string{"--pkcs11-module", tok.Module, "--pkcs11-token", tok.Label, "--pkcs11-pin", tok.PIN, "--pkcs11-key", "kek-1"}
	srv := startIdentityServer(t, pkcs11Flags...)
	ctx := context.Background()
	env := func(string) string { return "" }
	kmsRun := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		all := append(append([]string{"kms", "--data-dir", srv.cfg.DataDir}, pkcs11Flags...), args...)
		if err := run(ctx, all, env, &out, &out); err != nil {
			t.Fatalf("kms %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	kmsRun("create-key", "kek-1")

	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	want := map[string]string{}
	for i := range 12 {
		priv, pub := keygenPair(t, "-t", "ed25519")
		name := "k" + string(rune('a'+i))
		if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
			Name: name, PublicKey: &pub, KeyProtection: &model.KeyProtection{PrivateKey: &priv, Encryption: protectDefault().Encryption}}}}); err != nil {
			t.Fatal(err)
		}
		want[name] = priv
	}
	// One straight into the HSM, by key name.
	hsm, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "in-hsm", KeyProtection: &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: ptr("kek-1")}}}}})
	if err != nil {
		t.Fatalf("create under the HSM key: %v", err)
	}
	want["in-hsm"] = *hsm.Keypair.PrivateKey
	exportAll := func(step string, keyRef string) {
		t.Helper()
		nextSigningSecond() // an export is a POST: the same one again must be signed anew
		for name, priv := range want {
			ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: name}}})
			if err != nil || ex.Keypair.PrivateKey != priv {
				t.Fatalf("%s: export %s: %v", step, name, err)
			}
			if keyRef != "" {
				d, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: name})
				if err != nil || *d.Keypair.KeyId != keyRef {
					t.Fatalf("%s: %s is under %q, want %q", step, name, *d.Keypair.KeyId, keyRef)
				}
			}
		}
	}
	exportAll("before", "")

	// Rotate the local master key, then a rewrap that stops after 5 keys.
	if out := kmsRun("rotate"); !strings.Contains(out, "local/master@v2") {
		t.Fatalf("rotate: %s", out)
	}
	st, err := openStore(ctx, srv.cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := openKMS(ctx, srv.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc := keypair.NewService(keypair.Config{Store: st, Escrow: escrow.New(reg)})
	stop, cancel := context.WithCancel(ctx)
	err = svc.Rewrap(stop, keypair.Actor{UserID: "op", Roles: []string{"admin"}}, "local/master", func(seen, _ int) {
		if seen == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rewrap: %v", err)
	}
	reg.Close()
	st.Close()
	exportAll("after an interrupted rewrap", "")

	if out := kmsRun("rewrap", "--to", "local/master"); !strings.Contains(out, "13 key pairs looked at") {
		t.Fatalf("rewrap: %s", out)
	}
	exportAll("after the rerun", "local/master@v2")
	kmsRun("rewrap", "--to", "pkcs11/kek-1")
	exportAll("in the HSM", "pkcs11/kek-1")

	// The HSM goes away: its keys fail with a clear 503, the service
	// stays up for everything else, and they come back with it.
	tok.Remove(t)
	nextSigningSecond()
	_, err = c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "ka"}}})
	wantKPSError(t, err, 503, kpsapi.ErrKMSUnavailable.Code)
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "while-down", KeyProtection: &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: ptr("kek-1")}}}}})
	wantKPSError(t, err, 503, kpsapi.ErrKMSUnavailable.Code)
	_, err = c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "while-down"})
	wantKPSError(t, err, 404, kpsapi.ErrKeypairNotFound.Code)
	if _, err := c.ListKeypairs(&model.ListKeypairsRequest{}); err != nil {
		t.Fatalf("listing while the HSM is down: %v", err)
	}
	tok.Restore(t)
	exportAll("with the HSM back", "pkcs11/kek-1")
	kmsRun("rewrap", "--to", "local/master")
	exportAll("back home", "local/master@v2")
}

// TestWrongHSMPINKeepsServing starts keyhaven with a wrong HSM PIN: the
// service comes up, requests for HSM keys get a clear 503 and write
// nothing, everything else works.
func TestWrongHSMPINKeepsServing(t *testing.T) {
	tok := softhsmtest.New(t, "keyhaven-pin")
	var logs syncBuffer
	srv := startServerLog(t, &logs, "", "--bootstrap-password", bootstrapPassword, "--pkcs11-module", tok.Module,
		"--pkcs11-token", tok.Label, "--pkcs11-pin", "wrong-pin", "--pkcs11-key", "kek")
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	_, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "hsm", KeyProtection: &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: ptr("kek")}}}}})
	wantKPSError(t, err, 503, kpsapi.ErrKMSUnavailable.Code)
	if strings.Contains(err.Error(), "wrong-pin") || strings.Contains(logs.String(), "wrong-pin") {
		t.Fatal("the PIN was shown")
	}
	_, err = c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "hsm"})
	wantKPSError(t, err, 404, kpsapi.ErrKeypairNotFound.Code)
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "local", KeyProtection: protectDefault()}}}); err != nil {
		t.Fatalf("escrow under the local key while the HSM is refused: %v", err)
	}
	if !strings.Contains(logs.String(), "KMS backend unavailable") {
		t.Fatal("the refused HSM was not logged")
	}
}
