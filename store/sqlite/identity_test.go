package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/storetest"
)

func TestIdentityContract(t *testing.T) {
	storetest.RunIdentity(t, func(t *testing.T) identity.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyhaven.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestMigrateKeepsKeyPairs upgrades a database made by a keyhaven that knew
// only migration 0001, holding key pairs, to the current schema.
func TestMigrateKeepsKeyPairs(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].version != 1 || len(ms) < 2 {
		t.Fatalf("migrations %v: want 0001 and at least one more", ms)
	}

	// What the old binary did: its Migrate, with only 0001 embedded.
	db, err := sql.Open(driverName, dsn(path, Options{BusyTimeout: DefaultBusyTimeout}, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	old := &Store{path: path, w: db}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := old.apply(ctx, ms[0]); err != nil {
		t.Fatal(err)
	}
	old.r = db // reads may share the one connection here
	var kept []*keypair.KeyPair
	for _, name := range []string{"a", "b"} {
		kp := testKP("alice", name)
		if err := old.CreateKeyPair(ctx, kp, 10); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, kp)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, path, Options{})
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("after upgrade SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].version)
	}
	list, err := s.ListKeyPairs(ctx, "alice", keypair.Page{})
	if err != nil || len(list) != len(kept) {
		t.Fatalf("after upgrade ListKeyPairs = %d key pairs, %v; want %d", len(list), err, len(kept))
	}
	for i, got := range list {
		want := kept[i]
		if got.ID != want.ID || got.Name != want.Name || got.PublicKey != want.PublicKey || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("after upgrade got %+v, want %+v", got, want)
		}
	}
	if err := s.CreateDomain(ctx, &identity.Domain{ID: "default", Name: "Default", Enabled: true}); err != nil {
		t.Errorf("identity tables missing after upgrade: %v", err)
	}
	rows, err := s.w.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("PRAGMA foreign_key_check reports violations after upgrade")
	}
}

// TestForeignKeysEnforced writes around the store's own checks, straight
// into the tables on the writer: the schema's foreign keys must refuse it.
func TestForeignKeysEnforced(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO projects (id, name, domain_id) VALUES ('p', 'p', 'no-such-domain')`,
		`INSERT INTO assignments (user_id, project_id, role_id) VALUES ('u', 'p', 'r')`,
		`INSERT OR IGNORE INTO assignments (user_id, project_id, role_id) VALUES ('u', 'p', 'r')`,
		`INSERT INTO ec2_credentials (access, sealed_secret, user_id, project_id, created_at) VALUES ('a', x'00', 'u', 'p', 0)`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
			t.Errorf("%s: %v, want a foreign key error", q, err)
		}
	}
}

// TestIdentityCascade checks the ON DELETE CASCADE of the schema, for the
// delete methods the interface will grow.
func TestIdentityCascade(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateDomain(ctx, &identity.Domain{ID: "d", Name: "d"}))
	must(s.CreateProject(ctx, &identity.Project{ID: "p", Name: "p", DomainID: "d"}))
	must(s.CreateUser(ctx, &identity.User{ID: "u", Name: "u", DomainID: "d"}))
	must(s.CreateRole(ctx, &identity.Role{ID: "r", Name: "r"}))
	must(s.AddAssignment(ctx, identity.Assignment{UserID: "u", ProjectID: "p", RoleID: "r"}))
	must(s.CreateEC2Credential(ctx, &identity.EC2Credential{Access: "a", SealedSecret: []byte{1}, UserID: "u", ProjectID: "p"}))
	_, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = 'u'`)
	must(err)
	if as, err := s.ListAssignments(ctx, identity.Filter{}); err != nil || len(as) != 0 {
		t.Errorf("after deleting the user ListAssignments = %v, %v; want none", as, err)
	}
	if _, err := s.GetEC2Credential(ctx, "a"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after deleting the user GetEC2Credential = %v, want ErrNotFound", err)
	}
}

func TestIdentityErrorsWrapped(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = s.SetPassword(t.Context(), "u", "$argon2id$HASH")
	if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") || strings.Contains(err.Error(), "HASH") {
		t.Errorf("SetPassword on a closed store: %v, want a wrapped error without the hash", err)
	}
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrConflict) {
		t.Errorf("SetPassword on a closed store: %v is a domain outcome", err)
	}
	if err := s.Revoke(t.Context(), identity.Revocation{AuditID: "x", ExpiresAt: time.Now()}); err == nil {
		t.Error("Revoke on a closed store succeeded")
	}
}
