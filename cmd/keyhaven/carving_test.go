package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"
	"golang.org/x/crypto/ssh"
	_ "modernc.org/sqlite"
)

// escrowedKey is what the carving test knows of one escrowed key pair: its
// private key, and the sealed blob and wrapped data key the database held
// for it before it was destroyed.
type escrowedKey struct {
	name, private string
	blob, wrapped []byte
}

// needles returns what an attacker carving the disk would look for: the
// wrapped data key, every 32-byte piece of the sealed blob (a blob may be
// split over pages), each base64 line of the private key PEM and every
// 32-byte piece of its DER body.
func (k escrowedKey) needles() [][]byte {
	out := [][]byte{k.wrapped}
	pieces := func(b []byte) {
		for i := 0; i+32 <= len(b); i += 32 {
			out = append(out, b[i:i+32])
		}
	}
	pieces(k.blob)
	block, _ := pem.Decode([]byte(k.private))
	pieces(block.Bytes)
	for _, line := range strings.Split(k.private, "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			out = append(out, []byte(line))
		}
	}
	return out
}

// wrappedKey returns the wrapped data key inside a sealed blob (the escrow
// package's format 1: version, 2-byte length and KMS key ref, 2-byte
// length and wrapped key, nonce, ciphertext).
func wrappedKey(t *testing.T, blob []byte) []byte {
	t.Helper()
	if len(blob) < 5 || blob[0] != 1 {
		t.Fatalf("blob of an unknown format: % x", blob[:min(len(blob), 8)])
	}
	n := int(binary.BigEndian.Uint16(blob[1:]))
	rest := blob[3+n:]
	m := int(binary.BigEndian.Uint16(rest))
	return rest[2 : 2+m]
}

// carve reads every file under dir and returns the names of the keys of
// which it finds any needle, with the file.
func carve(t *testing.T, dir string, keys []escrowedKey) map[string]string {
	t.Helper()
	found := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, k := range keys {
			for _, n := range k.needles() {
				if bytes.Contains(b, n) {
					found[k.name] = filepath.Base(path)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestCarveDataDirAfterClear reads the data directory as an attacker with
// the disk would. Escrowed key pairs (generated and imported) are created
// through the Huawei SDK; their sealed blobs are read from the database;
// some are cleared, some deleted. Then, with keyhaven still running and
// again after it stopped, no file of the data directory (database, WAL,
// shared memory, KMS and token keys) holds any piece of a destroyed key's
// sealed blob, its wrapped data key or its private key, while the keys
// kept still export, before and after a restart.
func TestCarveDataDirAfterClear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cmd := startKeyhaven(t, bin, dir, addr)
	srv := &testServer{URL: "http://" + addr}
	adminTok, _, _ := adminToken(t, srv)
	user := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, user)

	var keys []escrowedKey
	for i := range 24 {
		k := escrowedKey{name: fmt.Sprintf("k%02d", i)}
		action := &model.CreateKeypairAction{Name: k.name, KeyProtection: protectDefault()}
		if i%2 == 1 { // imported with its private key
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			block, err := ssh.MarshalPrivateKey(priv, "")
			if err != nil {
				t.Fatal(err)
			}
			k.private = string(pem.EncodeToMemory(block))
			sshPub, _ := ssh.NewPublicKey(pub)
			action.PublicKey = ptr(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))))
			action.KeyProtection.PrivateKey = &k.private
		}
		res, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: action}})
		if err != nil {
			t.Fatalf("create %s: %v", k.name, err)
		}
		if i%2 == 0 {
			k.private = *res.Keypair.PrivateKey
		}
		keys = append(keys, k)
	}

	// The sealed blobs as the database holds them, read beside the
	// running server (a reader does not checkpoint).
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "keyhaven.db")+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if err := db.QueryRow(`SELECT escrow_blob FROM key_pairs WHERE name = ?`, keys[i].name).Scan(&keys[i].blob); err != nil {
			t.Fatalf("blob of %s: %v", keys[i].name, err)
		}
		keys[i].wrapped = wrappedKey(t, keys[i].blob)
	}
	db.Close()
	if found := carve(t, dir, keys); len(found) != len(keys) {
		t.Fatalf("before any clear the scan finds %d of %d keys: it would prove nothing", len(found), len(keys))
	}

	// Clear four in every twelve, delete four, keep four.
	var destroyed, kept []escrowedKey
	for i, k := range keys {
		switch i % 6 {
		case 0, 1:
			if _, err := c.ClearPrivateKey(&model.ClearPrivateKeyRequest{KeypairName: k.name}); err != nil {
				t.Fatalf("clear %s: %v", k.name, err)
			}
			destroyed = append(destroyed, k)
		case 2, 3:
			if _, err := c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: k.name}); err != nil {
				t.Fatalf("delete %s: %v", k.name, err)
			}
			destroyed = append(destroyed, k)
		default:
			kept = append(kept, k)
		}
	}
	exportKept := func(c *kps.KpsClient) {
		t.Helper()
		// Each export is signed anew in a later second: the same signed
		// request twice is a replay.
		nextSigningSecond()
		for _, k := range kept {
			ex, err := c.ExportPrivateKey(&model.ExportPrivateKeyRequest{Body: &model.ExportPrivateKeyRequestBody{Keypair: &model.KeypairBean{Name: k.name}}})
			if err != nil || ex.Keypair.PrivateKey != k.private {
				t.Fatalf("export of %s, which was kept: %v", k.name, err)
			}
		}
	}

	if found := carve(t, dir, destroyed); len(found) != 0 {
		t.Errorf("keyhaven running: destroyed keys found on disk: %v", found)
	}
	exportKept(c)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if found := carve(t, dir, destroyed); len(found) != 0 {
		t.Errorf("keyhaven stopped: destroyed keys found on disk: %v", found)
	}
	if found := carve(t, dir, kept); len(found) != len(kept) {
		t.Errorf("keyhaven stopped: the scan finds %d of the %d kept keys' blobs: it proves nothing", len(found), len(kept))
	}

	addr = freeAddr(t)
	startKeyhaven(t, bin, dir, addr)
	srv = &testServer{URL: "http://" + addr}
	exportKept(kpsClient(t, srv, user))
}
