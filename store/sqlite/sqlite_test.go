package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/storetest"
)

// openTest opens a store on path, closing it when the test ends.
func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testKP returns a user-scope key pair fixture owned by user, whose
// domain is unknown.
func testKP(user, name string) *keypair.KeyPair {
	return &keypair.KeyPair{
		UID:    rand.Text(),
		UserID: user, ProjectID: "p", Name: name, Type: keypair.TypeSSH, Scope: keypair.ScopeUser,
		PublicKey:   "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGnfXxBmdWbQw1v6H4mNq2fO5yKc6Jm0X2kqQ8pRzB1 t@h",
		Fingerprint: "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keypair.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyhaven.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestAuditFaults: an escrow change whose audit entry fails (a trigger
// refuses every insert into audit_log) is rolled back with it.
func TestAuditFaults(t *testing.T) {
	storetest.RunAuditFaults(t, func(t *testing.T) keypair.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyhaven.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}, func(t *testing.T, s keypair.Store) {
		_, err := s.(*Store).w.ExecContext(t.Context(), `CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log
			BEGIN SELECT RAISE(ABORT, 'test: the audit log is broken'); END`)
		if err != nil {
			t.Fatal(err)
		}
	})
}

// pragma reads one PRAGMA on a connection of db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{BusyTimeout: 1500 * time.Millisecond})
	for _, pool := range []struct {
		name      string
		db        *sql.DB
		queryOnly string
	}{{"writer", s.w, "0"}, {"reader", s.r, "1"}} {
		want := map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": "1500",
			"query_only":   pool.queryOnly,
		}
		if pool.name == "writer" {
			want["secure_delete"] = "1"
		}
		for name, w := range want {
			if got := pragma(t, pool.db, name); got != w {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool.name, name, got, w)
			}
		}
	}
	if got := pragma(t, openTest(t, filepath.Join(t.TempDir(), "d.db"), Options{}).w, "busy_timeout"); got != "5000" {
		t.Errorf("default busy_timeout = %s, want 5000", got)
	}
}

func TestReadersCannotWrite(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	_, err := s.r.ExecContext(t.Context(), `DELETE FROM key_pairs`)
	if err == nil {
		t.Fatal("a reader connection could write")
	}
}

func TestMigrationsWellFormed(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	for _, m := range ms {
		if m.Version != want {
			t.Errorf("migration %s has version %d, want %d (no gaps)", m.Name, m.Version, want)
		}
		want++
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %s is empty", m.Name)
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatalf("Open #%d: %v", round+1, err)
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
		v, err := s.SchemaVersion(t.Context())
		if err != nil || v != ms[len(ms)-1].Version {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].Version)
		}
		var n int
		if err := s.w.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
			t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s := openTest(t, path, Options{})
	if _, err := s.w.Exec(`INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v, want an error saying it is newer", err)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s := openTest(t, path, Options{})
	var kept []*keypair.KeyPair
	var newest int64
	for _, name := range []string{"a", "b", "c"} {
		kp := testKP("alice", name)
		if err := s.CreateKeyPair(t.Context(), kp, 10, nil); err != nil {
			t.Fatal(err)
		}
		if name != "c" {
			kept = append(kept, kp)
		}
		newest = kp.ID
	}
	// Delete the newest, so that a reused ID would show.
	if err := s.DeleteKeyPair(t.Context(), newest, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("after Close the WAL holds %d bytes, want it checkpointed", fi.Size())
	}

	s = openTest(t, path, Options{})
	list, err := s.ListKeyPairs(t.Context(), keypair.Viewer{UserID: "alice"}, keypair.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(kept) {
		t.Fatalf("after reopen ListKeyPairs returned %d key pairs, want %d", len(list), len(kept))
	}
	for i, l := range list {
		want := kept[i]
		got, err := s.GetKeyPair(t.Context(), keypair.Viewer{UserID: "alice"}, l.Name)
		if err != nil {
			t.Fatal(err)
		}
		if l != keypair.ListedOf(want) || got.ID != want.ID || got.UID != want.UID || got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) || got.PublicKey != want.PublicKey {
			t.Errorf("after reopen got %+v (listed %+v), want %+v", got, l, want)
		}
	}
	kp := testKP("alice", "d")
	if err := s.CreateKeyPair(t.Context(), kp, 10, nil); err != nil {
		t.Fatal(err)
	}
	if kp.ID <= newest {
		t.Errorf("new ID %d reuses the deleted key pair's ID %d", kp.ID, newest)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNotADatabase(t *testing.T) {
	for _, content := range []string{"short", "this is a text file, not an SQLite database\n"} {
		path := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(t.Context(), path, Options{})
		if err == nil || !strings.Contains(err.Error(), "not an SQLite 3 database") || !strings.Contains(err.Error(), path) {
			t.Errorf("Open of a text file: %v, want a clear error naming it", err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("Open changed the file it refused")
		}
	}
}

func TestEmptyFileIsNewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	openTest(t, path, Options{})
}

func TestOpenErrors(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:k.db?mode=memory", filepath.Join(t.TempDir(), "missing", "k.db")} {
		if s, err := Open(t.Context(), path, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestAwkwardPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.db")
	s := openTest(t, path, Options{})
	if err := s.CreateKeyPair(t.Context(), testKP("u", "k"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database is not at the path given: %v", err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
}

// TestTwoStoresOneFile stands in for two processes sharing a database: the
// quota must hold across them and BEGIN IMMEDIATE with the busy timeout
// must queue their writers instead of failing with "database is locked".
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	stores := []*Store{openTest(t, path, Options{}), openTest(t, path, Options{})}
	const n, quota = 60, 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = stores[i%2].CreateKeyPair(t.Context(), testKP("alice", fmt.Sprint("k", i)), quota, nil)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch keypair.ErrorCode(err) {
		case "":
			ok++
		case keypair.EQUOTA:
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != quota {
		t.Errorf("%d creates succeeded across two stores, want %d", ok, quota)
	}
}

// TestReadWriteMix runs readers and writers together under -race; any
// error that is not a domain outcome (a "database is locked") fails it.
func TestReadWriteMix(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx := t.Context()
	var wg sync.WaitGroup
	fail := func(what string, err error) {
		if err != nil && keypair.ErrorCode(err) == keypair.EINTERNAL {
			t.Errorf("%s: %v", what, err)
		}
	}
	for w := range 8 {
		user := fmt.Sprint("u", w%2)
		v := keypair.Viewer{UserID: user, DomainID: "d"}
		wg.Go(func() {
			for i := range 25 {
				kp := testKP(user, fmt.Sprintf("w%d-%02d", w, i))
				kp.DomainID = "d"
				if i%4 == 1 {
					kp.Scope = keypair.ScopeDomain
				}
				fail("create", s.CreateKeyPair(ctx, kp, 1000, nil))
				if i%3 == 0 && kp.ID != 0 {
					fail("delete", s.DeleteKeyPair(ctx, kp.ID, nil))
				}
			}
		})
		wg.Go(func() {
			for i := range 50 {
				_, err := s.GetKeyPair(ctx, v, fmt.Sprintf("w%d-%02d", w, i%25))
				fail("get", err)
				_, err = s.ListKeyPairs(ctx, v, keypair.Page{Limit: 10})
				fail("list", err)
				_, err = s.CountKeyPairs(ctx, user)
				fail("count", err)
			}
		})
	}
	wg.Wait()
}

func TestCreateNil(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	if err := s.CreateKeyPair(t.Context(), nil, 1, nil); err == nil {
		t.Error("CreateKeyPair(nil) succeeded")
	}
}

func TestInternalErrorsWrapped(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	kp := testKP("u", "k")
	err = s.CreateKeyPair(context.Background(), kp, 1, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") || keypair.ErrorCode(err) != keypair.EINTERNAL {
		t.Fatalf("create on a closed store: %v, want a wrapped internal error", err)
	}
	if !errors.Is(err, sql.ErrConnDone) && !strings.Contains(err.Error(), "closed") {
		t.Errorf("error %q does not wrap the cause", err)
	}
	if strings.Contains(err.Error(), kp.PublicKey) {
		t.Error("error contains the public key")
	}
}

func TestTaskContract(t *testing.T) {
	storetest.RunTasks(t, func(t *testing.T) storetest.TaskStore {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyhaven.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}, func(t *testing.T, first storetest.TaskStore) storetest.TaskStore {
		s, err := Open(t.Context(), first.(*Store).Path(), Options{})
		if err != nil {
			t.Fatalf("Open a second store: %v", err)
		}
		return s
	})
}
