package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	_ "modernc.org/sqlite"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// TestNoPrivateKeyMaterialAtRest escrows 1,000 private keys, then searches
// the database file, its WAL and the debug log for any of them, in PEM
// text or raw bytes.
func TestNoPrivateKeyMaterialAtRest(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 key pairs")
	}
	var logs syncBuffer
	srv := startServerLog(t, &logs, "", "--bootstrap-password", bootstrapPassword, "--log-level", "debug", "--log-format", "json", "--quota-key-pairs", "2000")
	tok, _, project := adminToken(t, srv)
	h := map[string]string{"X-Auth-Token": tok, "Content-Type": "application/json"}
	type secret struct{ pemChunk, seed []byte }
	var secrets []secret
	for i := range 1000 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		privPEM := string(pem.EncodeToMemory(block))
		sshPub, _ := ssh.NewPublicKey(pub)
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
		privJSON, _ := json.Marshal(privPEM)
		body := fmt.Sprintf(`{"keypair": {"name": "k%04d", "public_key": %q,
			"key_protection": {"private_key": %s, "encryption": {"type": "default"}}}}`, i, line, privJSON)
		if resp, raw := srv.do(t, "POST", "/v3/"+project+"/keypairs", h, body); resp.StatusCode != 200 {
			t.Fatalf("create %d: %d %s", i, resp.StatusCode, raw)
		}
		lines := strings.Split(privPEM, "\n")
		secrets = append(secrets, secret{pemChunk: []byte(lines[2]), seed: priv.Seed()})
	}

	dbPath := srv.cfg.Database
	var files [][]byte
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	files = append(files, []byte(logs.String()))
	if len(files[0])+len(files[1]) < 1000*100 {
		t.Fatalf("the database holds %d bytes: the scan would prove nothing", len(files[0])+len(files[1]))
	}
	for i, s := range secrets {
		for j, f := range files {
			if bytes.Contains(f, s.pemChunk) || bytes.Contains(f, s.seed) || bytes.Contains(f, []byte(base64.StdEncoding.EncodeToString(s.seed)[:20])) {
				t.Fatalf("private key %d found in file %d", i, j)
			}
		}
	}

	// A sealed blob copied onto another row does not open there: the
	// export fails closed, and does not hand out the other key.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `UPDATE key_pairs SET escrow_ref = (SELECT escrow_ref FROM key_pairs WHERE name = 'k0001'),
		escrow_blob = (SELECT escrow_blob FROM key_pairs WHERE name = 'k0001') WHERE name = 'k0002'`); err != nil {
		t.Fatal(err)
	}
	resp, raw := srv.do(t, "POST", "/v3/"+project+"/keypairs/private-key/export", h, `{"keypair": {"name": "k0002"}}`)
	if resp.StatusCode != 500 || !strings.Contains(string(raw), kpsapi.ErrInternal.Code) || strings.Contains(string(raw), "PRIVATE KEY") {
		t.Fatalf("export of a moved blob: %d %s", resp.StatusCode, raw)
	}
	if resp, _ := srv.do(t, "POST", "/v3/"+project+"/keypairs/private-key/export", h, `{"keypair": {"name": "k0001"}}`); resp.StatusCode != 200 {
		t.Fatalf("export of the original: %d", resp.StatusCode)
	}
}
