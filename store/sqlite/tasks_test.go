package sqlite

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestMigrateKeepsAuditChain: a log written before migration 0007 (the
// old columns only) still verifies after it, and association entries
// chain onto it.
func TestMigrateKeepsAuditChain(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	// Migrate to 6 and write three entries as a keyhaven at schema 6 did:
	// the old columns only.
	old, err := sql.Open(driverName, dsn(path, Options{BusyTimeout: DefaultBusyTimeout}, false))
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:6] {
		if err := (&Store{path: path, w: old}).apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	prev := make([]byte, 32)
	for i := range 3 {
		e := keypair.AuditEntry{Seq: int64(i + 1), Time: time.Date(2025, 1, 2, 3, 4, i, 0, time.UTC),
			Action: keypair.AuditExport, UserID: "alice", ProjectID: "p", KeyPairID: 1, KeyPairUID: "u", KeyPairName: "a"}
		e.Hash = e.ComputeHash(prev)
		_, err := old.ExecContext(ctx, `INSERT INTO audit_log (seq, time, action, user_id, project_id, keypair_id,
			keypair_uid, keypair_name, remote_addr, request_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, ?)`,
			e.Seq, e.Time.UnixMicro(), string(e.Action), e.UserID, e.ProjectID, e.KeyPairID, e.KeyPairUID, e.KeyPairName,
			prev, e.Hash)
		if err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	old.Close()

	s := openTest(t, path, Options{})
	if err := s.AppendAudit(ctx, &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditAssociate,
		UserID: "alice", ProjectID: "p", ServerID: "srv", TaskID: "t", Result: "SUCCESS_BIND"}); err != nil {
		t.Fatal(err)
	}
	es, err := s.ListAudit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d entries after upgrade, want 4", len(es))
	}
	prev = make([]byte, 32)
	for _, e := range es {
		if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ComputeHash(prev)) {
			t.Fatalf("entry %d does not verify after upgrade", e.Seq)
		}
		prev = e.Hash
	}
	if last := es[3]; last.ServerID != "srv" || last.TaskID != "t" || last.Result != "SUCCESS_BIND" {
		t.Errorf("association entry read back as %+v", last)
	}
}
