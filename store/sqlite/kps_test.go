package sqlite

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestAuditAppendOnly writes around the store, straight into audit_log on
// the writer: the schema's triggers must refuse every change, removal and
// out-of-chain insert, leaving the chain intact.
func TestAuditAppendOnly(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	for i := range 3 {
		e := &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditExport, UserID: "u", KeyPairID: int64(i)}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	const cols = `(seq, time, action, user_id, project_id, keypair_id, keypair_uid, keypair_name, remote_addr, request_id, prev_hash, hash)`
	for _, q := range []string{
		`UPDATE audit_log SET user_id = 'mallory' WHERE seq = 2`,
		`UPDATE audit_log SET hash = zeroblob(32)`,
		`DELETE FROM audit_log WHERE seq = 3`,
		`DELETE FROM audit_log`,
		`INSERT OR REPLACE INTO audit_log ` + cols + ` SELECT seq, time, action, 'mallory', project_id, keypair_id,
			keypair_uid, keypair_name, remote_addr, request_id, prev_hash, hash FROM audit_log WHERE seq = 2`,
		`INSERT INTO audit_log ` + cols + ` VALUES (9, 0, 'export-private-key', '', '', 0, '', '', '', '',
			(SELECT hash FROM audit_log WHERE seq = 3), zeroblob(32))`,
		`INSERT INTO audit_log ` + cols + ` VALUES (4, 0, 'export-private-key', '', '', 0, '', '', '', '',
			zeroblob(32), zeroblob(32))`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "audit_log") {
			t.Errorf("%s: %v, want the triggers to refuse it", q, err)
		}
	}
	es, err := s.ListAudit(ctx, 0, 0)
	if err != nil || len(es) != 3 {
		t.Fatalf("ListAudit = %d entries, %v; want the 3 appended", len(es), err)
	}
	prev := make([]byte, 32)
	for i, e := range es {
		if e.Seq != int64(i+1) || e.UserID != "u" || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ComputeHash(prev)) {
			t.Errorf("entry %d changed: %+v", i+1, e)
		}
		prev = e.Hash
	}
}

// TestSchemaChecks writes around the store's own checks: the schema must
// still refuse what would make a key pair ambiguous or half-escrowed.
func TestSchemaChecks(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	kp := testKP("u", "shared")
	kp.DomainID, kp.Scope = "d", keypair.ScopeDomain
	if err := s.CreateKeyPair(ctx, kp, 10, nil); err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO key_pairs (uid, user_id, project_id, domain_id, name, type, scope, public_key,
		fingerprint, created_at, updated_at, escrow_ref, escrow_blob) VALUES `
	for _, q := range []string{
		ins + `('', 'v', 'p', '', 'k', 'ssh', 'user', 'pk', 'fp', 0, 0, NULL, NULL)`,
		ins + `('` + kp.UID + `', 'v', 'p', '', 'k', 'ssh', 'user', 'pk', 'fp', 0, 0, NULL, NULL)`,
		ins + `('x1', 'v', 'p', '', 'k', 'ssh', 'project', 'pk', 'fp', 0, 0, NULL, NULL)`,
		ins + `('x2', 'v', 'p', '', 'k', 'ssh', 'domain', 'pk', 'fp', 0, 0, NULL, NULL)`,
		ins + `('x3', 'v', 'p', 'd', 'shared', 'ssh', 'domain', 'pk', 'fp', 0, 0, NULL, NULL)`,
		ins + `('x4', 'v', 'p', '', 'k', 'ssh', 'user', 'pk', 'fp', 0, 0, 'local/k', NULL)`,
		ins + `('x5', 'v', 'p', '', 'k', 'ssh', 'user', 'pk', 'fp', 0, 0, NULL, x'00')`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}

// fileHolds reports whether any of the store's files (database, WAL)
// holds needle.
func fileHolds(t *testing.T, s *Store, needle []byte) bool {
	t.Helper()
	for _, p := range []string{s.path, s.path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, needle) {
			return true
		}
	}
	return false
}

// checkpoint copies the WAL into the database file and truncates it.
func checkpoint(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.w.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
}

// TestClearedEscrowLeavesNoTrace: once SwapEscrow has cleared a sealed key
// (or DeleteKeyPair removed one), its bytes are nowhere in the database
// files, with no checkpoint of the test's own: secure_delete zeroes them in
// the pages the write produces, and the store's scrub truncates the WAL,
// which held the older page images. Small blobs live in the row's page,
// large ones in overflow pages; the blob may be in the WAL only, or
// already checkpointed into the database file.
func TestClearedEscrowLeavesNoTrace(t *testing.T) {
	for _, size := range []int{200, 20000} {
		for _, how := range []string{"clear", "delete"} {
			for _, where := range []string{"wal", "db"} {
				t.Run(fmt.Sprint(how, size, where), func(t *testing.T) {
					s, kp := escrowedAmongOthers(t, Options{}, size)
					if where == "db" {
						checkpoint(t, s)
					}
					blob := kp.Escrow.Blob
					needle := blob[size/2 : size/2+32]
					if !fileHolds(t, s, needle) {
						t.Fatal("the escrowed blob is not in the database files: the test cannot see it")
					}
					destroy(t, s, kp, how)
					if fileHolds(t, s, needle) || fileHolds(t, s, blob[:16]) || fileHolds(t, s, blob[size-16:]) {
						t.Errorf("after %s the blob's bytes are still in the database files", how)
					}
					if s.ScrubPending() {
						t.Error("a scrub is pending with no reader in the way")
					}
				})
			}
		}
	}
}

// TestScrubWaitsOutReaders: a reader that began before a clear keeps the
// WAL's old frames alive, so the clear's own scrub cannot complete; the
// clear still succeeds, and the store's retry scrubs the WAL as soon as the
// reader ends.
func TestScrubWaitsOutReaders(t *testing.T) {
	s, kp := escrowedAmongOthers(t, Options{BusyTimeout: 20 * time.Millisecond}, 3000)
	needle := kp.Escrow.Blob[1000:1032]
	tx, err := s.r.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(t.Context(), `SELECT count(*) FROM key_pairs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	destroy(t, s, kp, "clear")
	if !s.ScrubPending() || !fileHolds(t, s, needle) {
		t.Fatalf("with a reader in the way: scrub pending %v, blob in the files %v; want both (the test sees nothing otherwise)",
			s.ScrubPending(), fileHolds(t, s, needle))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for i := 0; s.ScrubPending(); i++ {
		if i == 300 {
			t.Fatal("the retry never scrubbed the WAL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fileHolds(t, s, needle) {
		t.Error("after the retry the cleared blob is still in the database files")
	}
}

// TestOpenScrubsAfterCrash: a crash after a clear committed but before its
// scrub completed (here a reader kept it from completing, and the files are
// copied as they are, as a crash would leave them) leaves the cleared blob
// in the WAL; the next Open scrubs it.
func TestOpenScrubsAfterCrash(t *testing.T) {
	s, kp := escrowedAmongOthers(t, Options{BusyTimeout: 20 * time.Millisecond}, 3000)
	needle := kp.Escrow.Blob[1000:1032]
	tx, err := s.r.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(t.Context(), `SELECT count(*) FROM key_pairs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	destroy(t, s, kp, "clear")
	crashed := filepath.Join(t.TempDir(), "k.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(s.path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(crashed + "-wal"); !bytes.Contains(b, needle) {
		t.Fatal("the crash image's WAL does not hold the cleared blob: the test sees nothing")
	}
	after := openTest(t, crashed, Options{})
	if fileHolds(t, after, needle) || after.ScrubPending() {
		t.Errorf("after Open of the crash image: blob in the files %v, scrub pending %v; want neither", fileHolds(t, after, needle), after.ScrubPending())
	}
	if got, err := after.GetKeyPair(t.Context(), keypair.Viewer{UserID: "u"}, "escrowed"); err != nil || got.Escrow != nil {
		t.Errorf("after Open of the crash image the key pair is %+v, %v; want it without escrow", got, err)
	}
}

// escrowedAmongOthers opens a store holding an escrowed key pair with a
// random blob of size bytes between neighbours without escrow (so that
// its page is not simply dropped).
func escrowedAmongOthers(t *testing.T, opts Options, size int) (*Store, *keypair.KeyPair) {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), opts)
	ctx := t.Context()
	blob := make([]byte, size)
	rand.Read(blob)
	for i := range 5 {
		if err := s.CreateKeyPair(ctx, testKP("u", fmt.Sprint("n", i)), 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	kp := testKP("u", "escrowed")
	kp.Escrow = &keypair.Escrowed{KeyRef: "local/k", Blob: blob}
	if err := s.CreateKeyPair(ctx, kp, 100, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := s.CreateKeyPair(ctx, testKP("u", fmt.Sprint("m", i)), 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s, kp
}

// destroy clears kp's escrowed key or deletes kp, with an audit entry.
func destroy(t *testing.T, s *Store, kp *keypair.KeyPair, how string) {
	t.Helper()
	var err error
	if how == "clear" {
		err = s.SwapEscrow(t.Context(), kp.ID, kp.Escrow, nil, time.Now(), &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditClear})
	} else {
		err = s.DeleteKeyPair(t.Context(), kp.ID, &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditDeleteEscrowed})
	}
	if err != nil {
		t.Fatalf("%s: %v", how, err)
	}
}

// TestReplacedEscrowScrubbed: a sealed copy replaced by another (a rewrap,
// or a re-seal under another KMS key) leaves the files once the
// background scrub has run, while the new copy stays.
func TestReplacedEscrowScrubbed(t *testing.T) {
	for _, size := range []int{200, 20000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s, kp := escrowedAmongOthers(t, Options{}, size)
			old := kp.Escrow.Blob
			next := &keypair.Escrowed{KeyRef: "local/other@v1", Blob: bytes.Repeat([]byte{0x5a}, size)}
			if err := s.SwapEscrow(t.Context(), kp.ID, kp.Escrow, next, time.Now(), &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditReseal}); err != nil {
				t.Fatal(err)
			}
			// The scrub runs in the background: wait for it, bounded.
			for i := 0; s.ScrubPending() && i < 100; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			if s.ScrubPending() {
				t.Fatal("the background scrub did not run")
			}
			if fileHolds(t, s, old[size/2:size/2+32]) || fileHolds(t, s, old[:16]) {
				t.Error("the replaced sealed copy is still in the database files")
			}
			if !fileHolds(t, s, next.Blob[:32]) {
				t.Error("the new sealed copy is not in the database files: the test sees nothing")
			}
		})
	}
}
