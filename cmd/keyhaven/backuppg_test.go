package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"
)

// TestBackupPostgres: on PostgreSQL the backup holds the key files and a
// manifest of the database; restoring them beside the same database
// serves every escrowed key, and beside a database they do not belong to
// (another install's, whose escrow uses a local key of the same name) the
// restore is refused and writes nothing.
func TestBackupPostgres(t *testing.T) {
	db := postgresURL(t)
	srv := startIdentityServer(t, "--database", db)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "escrowed", KeyProtection: protectDefault()}}})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "pg.khb")
	out, err := runKeyhaven(backupEnv, "backup", "--to", archive, "--data-dir", srv.cfg.DataDir, "--database", db)
	if err != nil || !strings.Contains(out, "1 escrowed keys") {
		t.Fatalf("backup: %v\n%s", err, out)
	}

	// The data directory is lost; the database survives (or comes back
	// from pg_dump).
	dir := filepath.Join(t.TempDir(), "restored")
	out, err = runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", dir, "--database", db)
	if err != nil || !strings.Contains(out, "local key local/master@v1") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	srv2 := startServer(t, "", "--bootstrap-password", bootstrapPassword, "--data-dir", dir, "--database", db)
	nextSigningSecond()
	ex, err := kpsClient(t, srv2, alice).ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: "escrowed"}}})
	if err != nil || ex.Keypair.PrivateKey != *gen.Keypair.PrivateKey {
		t.Fatalf("export after restore: %v", err)
	}

	// Another install's database: same ref names, other keys.
	otherDB := postgresURL(t)
	other := startIdentityServer(t, "--database", otherDB)
	otherTok, _, _ := adminToken(t, other)
	bob := newCloudUser(t, other, otherTok, "bob", "team", "member")
	if _, err := kpsClient(t, other, bob).CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "theirs", KeyProtection: protectDefault()}}}); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	_, err = runKeyhaven(backupEnv, "restore", "--from", archive, "--data-dir", wrong, "--database", otherDB)
	if err == nil || !strings.Contains(err.Error(), "do not belong together") {
		t.Fatalf("restore beside another database: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(wrong)); len(entries) != 0 {
		t.Fatalf("a refused restore left files: %v", entries)
	}
}
