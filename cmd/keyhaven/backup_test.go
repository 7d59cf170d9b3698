package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// backupPass is the passphrase the backup tests use.
const backupPass = "correct horse battery staple"

// backupEnv is the environment of `keyhaven backup/restore` in tests.
func backupEnv(k string) string {
	if k == passphraseEnv {
		return backupPass
	}
	return ""
}

// runKeyhaven runs a subcommand in process and returns its output.
func runKeyhaven(getenv func(string) string, args ...string) (string, error) {
	var out, errw bytes.Buffer
	err := run(context.Background(), args, getenv, &out, &errw)
	return out.String() + errw.String(), err
}

// sshPublicKey is an ed25519 public key in authorized_keys form.
func sshPublicKey(t *testing.T) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

// TestBackupWhileWritingRestores takes a backup while eight clients write
// (four Nova imports with a token, four KPS escrowed creates through the
// Huawei SDK), restores it into a new data directory and starts keyhaven
// on it: every key pair acknowledged before the backup began is there,
// every escrowed private key exports to the same bytes, and the audit
// log verifies.
func TestBackupWhileWritingRestores(t *testing.T) {
	srv := startIdentityServer(t, "--quota-key-pairs", "-1")
	adminTok, _, _ := adminToken(t, srv)
	pub := sshPublicKey(t)
	var users []cloudUser
	for i := range 4 {
		users = append(users, newCloudUser(t, srv, adminTok, fmt.Sprintf("writer%d", i), "backup", "member"))
	}

	var mu sync.Mutex
	nova := map[string]bool{}        // acknowledged Nova imports
	escrowed := map[string]string{}  // acknowledged KPS creates: name → private key
	userOf := map[string]cloudUser{} // KPS name → its owner
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(2)
		go func() { // Nova import with a token
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("nova-%d-%d", w, i)
				body := `{"keypair": {"name": "` + name + `", "public_key": "` + pub + `"}}`
				req := srv.do
				resp, raw := req(t, "POST", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}, body)
				if resp.StatusCode != 200 && resp.StatusCode != 201 {
					errs <- fmt.Errorf("nova import %s: %d %s", name, resp.StatusCode, raw)
					return
				}
				mu.Lock()
				nova[name] = true
				mu.Unlock()
			}
		}()
		go func() { // KPS escrowed create, each request signed anew by the SDK
			defer wg.Done()
			c := kpsClient(t, srv, users[w])
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("kps-%d-%d", w, i)
				gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
					Keypair: &model.CreateKeypairAction{Name: name, KeyProtection: protectDefault()}}})
				var se *sdkerr.ServiceResponseError
				if errorsAs(err, &se) && se.StatusCode == 503 && se.ErrorCode == kpsapi.ErrBusy.Code {
					// Generation is at its bound on a loaded machine: the
					// create did nothing; retry as a client told so would.
					time.Sleep(50 * time.Millisecond)
					continue
				}
				if err != nil || gen.Keypair.PrivateKey == nil {
					errs <- fmt.Errorf("kps create %s: %v", name, err)
					return
				}
				mu.Lock()
				escrowed[name] = *gen.Keypair.PrivateKey
				userOf[name] = users[w]
				mu.Unlock()
			}
		}()
	}
	// Wait until both kinds of writes have been acknowledged a few times.
	waitFor := func(nNova, nKPS int) {
		for {
			mu.Lock()
			enough := len(nova) >= nNova && len(escrowed) >= nKPS
			mu.Unlock()
			if enough {
				return
			}
			select {
			case err := <-errs:
				t.Fatal(err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitFor(20, 8)
	mu.Lock()
	beforeNova, beforeKPS := len(nova), len(escrowed)
	wantNova := map[string]bool{}
	for k := range nova {
		wantNova[k] = true
	}
	wantKPS := map[string]string{}
	for k, v := range escrowed {
		wantKPS[k] = v
	}
	mu.Unlock()

	archive := filepath.Join(t.TempDir(), "keyhaven.khb")
	out, err := runKeyhaven(backupEnv, "backup", "--to", archive, "--data-dir", srv.cfg.DataDir, "--database", srv.cfg.Database)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}
	t.Logf("acknowledged before the backup: %d Nova, %d KPS", beforeNova, beforeKPS)
	if left, _ := filepath.Glob(filepath.Join(srv.cfg.DataDir, ".backup-*")); len(left) != 0 {
		t.Fatalf("the backup left its snapshot behind: %v", left)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	out, err = runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "hash chain verified") || !strings.Contains(out, "local key local/master@v1") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err := runKeyhaven(backupEnv, "audit", "--data-dir", dir, "verify"); err != nil {
		t.Fatalf("audit verify: %v %s", err, out)
	}

	srv2 := startServer(t, "", "--bootstrap-password", bootstrapPassword, "--data-dir", dir)
	tok2, _, _ := adminToken(t, srv2)
	resp, raw := srv2.do(t, "GET", "/v2.1/os-keypairs", map[string]string{"X-Auth-Token": tok2}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	for name := range wantNova {
		if !bytes.Contains(raw, []byte(`"name": "`+name+`"`)) && !bytes.Contains(raw, []byte(`"name":"`+name+`"`)) {
			t.Errorf("Nova key pair %s acknowledged before the backup is missing after restore", name)
		}
	}
	// The restored credential key opens the EC2 secrets: the same AK/SK
	// sign for the restored server.
	for name, priv := range wantKPS {
		c := kpsClient(t, srv2, userOf[name])
		ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: name}}})
		if err != nil || ex.Keypair.PrivateKey != priv {
			t.Errorf("escrowed %s after restore: %v (same bytes: %v)", name, err, err == nil && ex.Keypair.PrivateKey == priv)
		}
	}
	if out, err := runKeyhaven(backupEnv, "audit", "--data-dir", dir, "verify"); err != nil {
		t.Fatalf("audit verify after serving: %v %s", err, out)
	}
}
