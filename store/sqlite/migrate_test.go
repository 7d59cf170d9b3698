package sqlite

import (
	"database/sql"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
)

// oldDatabase makes at path what a keyhaven knowing only the migrations up
// to version did, holding key pairs a, b and c of alice and x of bob (c,
// the newest, deleted again, so that a reused id would show), written as
// that keyhaven wrote them. It returns the surviving key pairs and c's id.
func oldDatabase(t *testing.T, path string, version int) (kept []*keypair.KeyPair, deleted int64) {
	t.Helper()
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(driverName, dsn(path, Options{BusyTimeout: DefaultBusyTimeout}, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	old := &Store{path: path, w: db}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:version] {
		if err := old.apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	for i, kp := range []*keypair.KeyPair{testKP("alice", "a"), testKP("alice", "b"), testKP("bob", "x"), testKP("alice", "c")} {
		kp.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		err := db.QueryRowContext(ctx, `INSERT INTO key_pairs
			(user_id, project_id, name, type, public_key, fingerprint, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			kp.UserID, kp.ProjectID, kp.Name, string(kp.Type), kp.PublicKey, kp.Fingerprint,
			kp.CreatedAt.UnixMicro()).Scan(&kp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if kp.Name == "c" {
			deleted = kp.ID
			continue
		}
		kept = append(kept, kp)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM key_pairs WHERE id = ?`, deleted); err != nil {
		t.Fatal(err)
	}
	return kept, deleted
}

// TestMigrateKeepsKeyPairs upgrades databases made by keyhavens that knew
// migrations up to 0001 and 0002, holding key pairs, to the current
// schema: the key pairs keep their ids and fields, and the new columns are
// backfilled.
func TestMigrateKeepsKeyPairs(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, from := range []int{1, 2} {
		t.Run(ms[from-1].Name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "old.db")
			kept, deleted := oldDatabase(t, path, from)

			s := openTest(t, path, Options{})
			if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
				t.Fatalf("after upgrade SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
			}
			uids := map[string]bool{}
			for _, want := range kept {
				got, err := s.GetKeyPair(ctx, keypair.Viewer{UserID: want.UserID}, want.Name)
				if err != nil {
					t.Fatalf("after upgrade GetKeyPair(%s, %s): %v", want.UserID, want.Name, err)
				}
				if !hex32.MatchString(got.UID) || uids[got.UID] {
					t.Errorf("backfilled UID %q: want 32 lower-case hex digits, distinct", got.UID)
				}
				uids[got.UID] = true
				want.UID = got.UID
				want.UpdatedAt = want.CreatedAt // backfilled
				if got.ID != want.ID || got.UserID != want.UserID || got.ProjectID != want.ProjectID ||
					got.Name != want.Name || got.Type != want.Type || got.PublicKey != want.PublicKey ||
					got.Fingerprint != want.Fingerprint || !got.CreatedAt.Equal(want.CreatedAt) ||
					!got.UpdatedAt.Equal(want.UpdatedAt) || got.DomainID != "" || got.Scope != keypair.ScopeUser ||
					got.Algorithm != "" || got.Description != "" || got.Escrow != nil {
					t.Errorf("after upgrade got %+v, want %+v", got, want)
				}
			}

			// UNIQUE (user_id, name) survives; ids are not reused.
			err := s.CreateKeyPair(ctx, testKP("alice", "a"), 10, nil)
			if keypair.ErrorCode(err) != keypair.ECONFLICT {
				t.Errorf("create of an existing name after upgrade: %v, want ECONFLICT", err)
			}
			kp := testKP("alice", "d")
			if err := s.CreateKeyPair(ctx, kp, 10, nil); err != nil {
				t.Fatal(err)
			}
			if kp.ID <= deleted {
				t.Errorf("new ID %d after upgrade reuses the deleted key pair's ID %d", kp.ID, deleted)
			}
			if err := s.AppendAudit(ctx, &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditExport}); err != nil {
				t.Errorf("audit log missing after upgrade: %v", err)
			}
			if err := s.CreateDomain(ctx, &identity.Domain{ID: "default", Name: "Default", Enabled: true}); err != nil {
				t.Errorf("identity tables missing after upgrade: %v", err)
			}
			if got := pragma(t, s.w, "integrity_check"); got != "ok" {
				t.Errorf("PRAGMA integrity_check = %s after upgrade", got)
			}
			rows, err := s.w.QueryContext(ctx, `PRAGMA foreign_key_check`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if rows.Next() {
				t.Error("PRAGMA foreign_key_check reports violations after upgrade")
			}
		})
	}
}
