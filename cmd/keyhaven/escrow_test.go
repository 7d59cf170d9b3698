package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// publicOf returns what ssh-keygen -y derives from a private key: the
// algorithm and base64 blob of its public key.
func publicOf(t *testing.T, private string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(private), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-y", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	return f[0] + " " + f[1]
}

// keygenPair makes a key pair with ssh-keygen and returns the private key
// (OpenSSH format) and the public line.
func keygenPair(t *testing.T, args ...string) (private, public string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if out, err := exec.Command("ssh-keygen", append(args, "-q", "-N", "", "-f", path)...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	priv, _ := os.ReadFile(path)
	pub, _ := os.ReadFile(path + ".pub")
	return string(priv), string(pub)
}

func protectDefault() *model.KeyProtection {
	return &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().DEFAULT}}
}

// TestEscrowWithHuaweiSDK keeps private keys in escrow under the local
// KMS and takes them out again through the real Huawei SDK.
func TestEscrowWithHuaweiSDK(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)

	// Generated and escrowed: the create answer and the export carry the
	// same private key, which OpenSSH reads as the key pair's.
	gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "escrowed", KeyProtection: protectDefault()}}})
	if err != nil || gen.Keypair.PrivateKey == nil {
		t.Fatalf("create with protection: %+v %v", gen, err)
	}
	ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "escrowed"}}})
	if err != nil || ex.Keypair.PrivateKey != *gen.Keypair.PrivateKey {
		t.Fatalf("export: %v", err)
	}
	if got, want := publicOf(t, ex.Keypair.PrivateKey), strings.Join(strings.Fields(*gen.Keypair.PublicKey)[:2], " "); got != want {
		t.Fatalf("exported key's public half %q, key pair's %q", got, want)
	}
	d, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "escrowed"})
	if err != nil || !*d.Keypair.IsKeyProtection || !strings.HasPrefix(*d.Keypair.KeyId, "local/master@v") {
		t.Fatalf("detail: %+v %v", d.Keypair, err)
	}

	// Imported with its private key, and the private key imported later.
	priv, pub := keygenPair(t, "-t", "ed25519")
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "imported", PublicKey: &pub, KeyProtection: &model.KeyProtection{PrivateKey: &priv, Encryption: protectDefault().Encryption}}}}); err != nil {
		t.Fatalf("import with private key: %v", err)
	}
	otherPriv, otherPub := keygenPair(t, "-t", "ecdsa", "-b", "256")
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "mismatch", PublicKey: &pub, KeyProtection: &model.KeyProtection{PrivateKey: &otherPriv, Encryption: protectDefault().Encryption}}}})
	wantKPSError(t, err, 400, kpsapi.ErrKeyMismatch.Code)
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "later", PublicKey: &otherPub}}}); err != nil {
		t.Fatal(err)
	}
	importBody := func(name, key string) *model.ImportPrivateKeyRequest {
		return &model.ImportPrivateKeyRequest{Body: &model.ImportPrivateKeyRequestBody{Keypair: &model.ImportPrivateKeyKeypairBean{
			Name: name, KeyProtection: &model.ImportPrivateKeyProtection{PrivateKey: key, Encryption: protectDefault().Encryption}}}}
	}
	_, err = c.ImportPrivateKey(importBody("later", priv))
	wantKPSError(t, err, 400, kpsapi.ErrKeyMismatch.Code)
	_, err = c.ImportPrivateKey(importBody("later", "not a key"))
	wantKPSError(t, err, 400, kpsapi.ErrInvalidPrivateKey.Code)
	if _, err := c.ImportPrivateKey(importBody("later", otherPriv)); err != nil {
		t.Fatalf("import private key: %v", err)
	}
	// The same private key again re-seals it (TestResealWithHuaweiSDK).
	nextSigningSecond()
	if _, err = c.ImportPrivateKey(importBody("later", otherPriv)); err != nil {
		t.Fatalf("import of the same private key again: %v", err)
	}
	ex, err = c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "later"}}})
	if err != nil || ex.Keypair.PrivateKey != otherPriv {
		t.Fatalf("export of an imported private key: %v", err)
	}
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{
		Name: "nokms", KeyProtection: &model.KeyProtection{Encryption: &model.Encryption{Type: model.GetEncryptionTypeEnum().KMS, KmsKeyName: ptr("nope")}}}}})
	wantKPSError(t, err, 400, kpsapi.ErrKMSKeyNotFound.Code)

	// Batch export answers a ZIP of the private keys.
	if _, err := c.BatchExportPrivateKey(&model.BatchExportPrivateKeyRequest{Body: &[]model.Keypairs{
		{Keypair: &model.Keypair{Name: ptr("escrowed")}}, {Keypair: &model.Keypair{Name: ptr("later")}}}}); err != nil {
		t.Fatalf("batch export: %v", err)
	}

	// Clear destroys the escrowed copy (200, as Huawei answers); the key
	// pair stays.
	if cl, err := c.ClearPrivateKey(&model.ClearPrivateKeyRequest{KeypairName: "escrowed"}); err != nil || cl.HttpStatusCode != 200 {
		t.Fatalf("clear: %+v %v", cl, err)
	}
	nextSigningSecond()
	_, err = c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "escrowed"}}})
	wantKPSError(t, err, 404, kpsapi.ErrNoPrivateKey.Code)
	if _, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "escrowed"}); err != nil {
		t.Fatalf("the key pair went with its private key: %v", err)
	}

	// Nova's endpoint takes key_protection too.
	h := map[string]string{"X-Auth-Token": alice.Token, "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.2"}
	if resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", h, `{"keypair": {"name": "via-nova", "key_protection": {"encryption": {"type": "default"}}}}`); resp.StatusCode != 201 {
		t.Fatalf("Nova create with key_protection: %d %s", resp.StatusCode, raw)
	}
	if _, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "via-nova"}}}); err != nil {
		t.Fatalf("export of a key pair protected through Nova: %v", err)
	}

	// Deleting a key pair that holds an escrowed key destroys it, and is
	// logged.
	if _, err := c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "via-nova"}); err != nil {
		t.Fatalf("delete of an escrowed key pair: %v", err)
	}

	// Every reveal and change is in the audit log, and the chain holds.
	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "verify"}, env, &out, &out); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"audit", "--data-dir", srv.cfg.DataDir, "list"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create-escrowed", "export-private-key", "import-private-key", "clear-private-key", "delete-escrowed", alice.ID} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("audit list lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEscrowAuthorization is the export/clear matrix: owner, another user
// of the same project and domain (the key pair is shared with the domain),
// a user of another project, a reader, and an admin.
func TestEscrowAuthorization(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	owner := newCloudUser(t, srv, adminTok, "owner", "team", "member")
	peer := newCloudUser(t, srv, adminTok, "peer", "team", "member")
	stranger := newCloudUser(t, srv, adminTok, "stranger", "elsewhere", "member")
	reader := newCloudUser(t, srv, adminTok, "reader", "team", "reader")
	admin := newCloudUser(t, srv, adminTok, "boss", "team", "admin")

	shared := model.GetCreateKeypairActionScopeEnum().DOMAIN
	for _, name := range []string{"k-owner", "k-admin"} {
		if _, err := kpsClient(t, srv, owner).CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
			Keypair: &model.CreateKeypairAction{Name: name, Scope: &shared, KeyProtection: protectDefault()}}}); err != nil {
			t.Fatal(err)
		}
	}
	export := func(u cloudUser, name string) error {
		_, err := kpsClient(t, srv, u).ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: name}}})
		return err
	}
	clear := func(u cloudUser, name string) error {
		_, err := kpsClient(t, srv, u).ClearPrivateKey(&model.ClearPrivateKeyRequest{KeypairName: name})
		return err
	}
	for _, c := range []struct {
		who    string
		u      cloudUser
		status int
		code   string
	}{
		{"peer in the domain", peer, 403, kpsapi.ErrNotAuthorized.Code},
		{"reader", reader, 403, kpsapi.ErrNotAuthorized.Code},
		// Another project of the same domain sees the shared key pair
		// too, and may not take its private key either.
		{"user of another project", stranger, 403, kpsapi.ErrNotAuthorized.Code},
	} {
		wantKPSError(t, export(c.u, "k-owner"), c.status, c.code)
		wantKPSError(t, clear(c.u, "k-owner"), c.status, c.code)
	}
	// A key pair of the owner's own is not even visible to the others.
	if _, err := kpsClient(t, srv, owner).CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "k-private", KeyProtection: protectDefault()}}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []cloudUser{peer, stranger, reader} {
		wantKPSError(t, export(u, "k-private"), 404, kpsapi.ErrKeypairNotFound.Code)
		wantKPSError(t, clear(u, "k-private"), 404, kpsapi.ErrKeypairNotFound.Code)
	}
	if err := export(owner, "k-owner"); err != nil {
		t.Fatalf("owner export: %v", err)
	}
	if err := export(admin, "k-admin"); err != nil {
		t.Fatalf("admin export: %v", err)
	}
	if err := clear(admin, "k-admin"); err != nil {
		t.Fatalf("admin clear: %v", err)
	}
	if err := clear(owner, "k-owner"); err != nil {
		t.Fatalf("owner clear: %v", err)
	}
}
