package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/storetest"
)

// openFresh opens a Store on a new, empty database.
func openFresh(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), pgtest.NewDatabase(t), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// openOn opens a Store on the database dsn, closed when the test ends.
func openOn(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keypair.Store { return openFresh(t) })
}

// TestAuditFaults: an escrow change whose audit entry fails (a trigger
// refuses every insert into audit_log) is rolled back with it.
func TestAuditFaults(t *testing.T) {
	storetest.RunAuditFaults(t, func(t *testing.T) keypair.Store { return openFresh(t) }, func(t *testing.T, s keypair.Store) {
		_, err := s.(*Store).pool.Exec(t.Context(), `CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'test: the audit log is broken'; END; $$;
			CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_broken()`)
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestIdentityContract(t *testing.T) {
	storetest.RunIdentity(t, func(t *testing.T) identity.Store { return openFresh(t) })
}

func TestMigrateIdempotent(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s := openOn(t, dsn)
	want, err := s.SchemaVersion(t.Context())
	if err != nil || want < 3 {
		t.Fatalf("SchemaVersion = %d, %v; want at least 3", want, err)
	}
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	s2 := openOn(t, dsn)
	if v, err := s2.SchemaVersion(t.Context()); err != nil || v != want {
		t.Errorf("after reopening SchemaVersion = %d, %v; want %d", v, err, want)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations has %d rows, %v; want one per migration, %d", n, err, len(ms))
	}
}

// TestConcurrentOpen: Stores opening one empty database together all
// succeed; the advisory lock makes them migrate one after the other.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn, Options{MaxConns: 2}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		if v, err := stores[i].SchemaVersion(t.Context()); err != nil || v < 3 {
			t.Errorf("store %d: SchemaVersion = %d, %v", i, v, err)
		}
		stores[i].Close()
	}
}

func TestAuditAppendOnly(t *testing.T) {
	s := openOn(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	for i := range 2 {
		if err := s.AppendAudit(ctx, &keypair.AuditEntry{Action: keypair.AuditExport, UserID: fmt.Sprint("u", i)}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	for _, q := range []string{
		`UPDATE audit_log SET user_id = 'mallory' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 2`,
		`TRUNCATE audit_log`,
		`INSERT INTO audit_log SELECT seq + 10, at, action, user_id, project_id, keypair_id, keypair_uid,
			keypair_name, remote_addr, request_id, prev_hash, hash FROM audit_log WHERE seq = 2`,
	} {
		if _, err := s.pool.Exec(ctx, q); err == nil {
			t.Errorf("%s: succeeded", q)
		}
	}
	es, err := s.ListAudit(ctx, 0, 0)
	if err != nil || len(es) != 2 || es[0].UserID != "u0" {
		t.Errorf("after refused changes ListAudit = %d entries, %v", len(es), err)
	}
}

// TestTwoInstancesSameName races creates of one name on two Stores (two
// pools, as two keyhaven instances) on one database, by one owner and by
// several users of one domain in both scopes: exactly one wins.
func TestTwoInstancesSameName(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := openOn(t, dsn), openOn(t, dsn)
	const n = 50
	for _, mode := range []string{"one owner", "mixed scopes"} {
		t.Run(mode, func(t *testing.T) {
			name := "same-" + mode
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				s := a
				if i%2 == 1 {
					s = b
				}
				kp := &keypair.KeyPair{
					UID: fmt.Sprintf("uid-%s-%d", mode, i), UserID: "alice", ProjectID: "p", DomainID: "d",
					Name: name, Type: keypair.TypeSSH, Scope: keypair.ScopeUser, PublicKey: "ssh-ed25519 AAAA",
				}
				if mode == "mixed scopes" {
					kp.UserID = fmt.Sprint("user", i%5)
					if i%3 == 0 {
						kp.Scope = keypair.ScopeDomain
					}
				}
				wg.Go(func() {
					<-start
					errs[i] = s.CreateKeyPair(context.Background(), kp, 1000, nil)
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch keypair.ErrorCode(err) {
				case "":
					won++
				case keypair.ECONFLICT:
				default:
					t.Errorf("create %d: %v", i, err)
				}
			}
			if mode == "one owner" && won != 1 {
				t.Errorf("%d of %d concurrent creates of one name by one owner succeeded, want 1", won, n)
			}
			if mode == "mixed scopes" {
				// Either one shared key pair and nothing else of that
				// name in the domain, or one per user and none shared.
				var shared, total int
				err := a.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE scope = 'domain'), count(*)
					FROM key_pairs WHERE name = $1`, name).Scan(&shared, &total)
				if err != nil {
					t.Fatal(err)
				}
				if shared > 1 || shared == 1 && total != 1 || total > 5 || total != won {
					t.Errorf("%d created, %d shared, %d rows of the name; want one shared alone or up to one per user", won, shared, total)
				}
			}
		})
	}
}

// TestConnectionFailure: an unreachable server gives a plain error, not a
// domain one.
func TestConnectionFailure(t *testing.T) {
	srv := pgtest.Start(t)
	s := openOn(t, pgtest.NewDatabase(t))
	s.Close()
	_, err := s.GetKeyPair(t.Context(), keypair.Viewer{UserID: "alice"}, "k")
	if err == nil || keypair.ErrorCode(err) != keypair.EINTERNAL {
		t.Errorf("GetKeyPair on a closed store: %v (code %q), want an internal error", err, keypair.ErrorCode(err))
	}
	_, err = Open(t.Context(), srv.DatabaseDSN("no_such_database"), Options{})
	if err == nil || keypair.ErrorCode(err) != keypair.EINTERNAL || errors.Is(err, identity.ErrNotFound) {
		t.Errorf("Open of a missing database: %v, want a plain error", err)
	}
}

// TestTwoInstancesAuditChain races escrowed creates and clears, each with
// its audit entry, on two Stores (two instances) on one database: every
// change has its entry and the chain has no gap or fork.
func TestTwoInstancesAuditChain(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := openOn(t, dsn), openOn(t, dsn)
	const n = 40
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			kp := &keypair.KeyPair{
				UID: fmt.Sprint("uid-", i), UserID: fmt.Sprint("user", i%4), ProjectID: "p", DomainID: "d",
				Name: fmt.Sprint("k", i), Type: keypair.TypeSSH, Scope: keypair.ScopeUser, PublicKey: "ssh-ed25519 AAAA",
				Escrow: &keypair.Escrowed{KeyRef: "local/k", Blob: []byte(fmt.Sprint("sealed ", i))},
			}
			entry := func(action keypair.AuditAction) *keypair.AuditEntry {
				return &keypair.AuditEntry{Time: time.Now(), Action: action, UserID: kp.UserID, KeyPairID: kp.ID, KeyPairUID: kp.UID, KeyPairName: kp.Name}
			}
			if errs[i] = s.CreateKeyPair(context.Background(), kp, 1000, entry(keypair.AuditCreateEscrowed)); errs[i] != nil {
				return
			}
			errs[i] = s.SwapEscrow(context.Background(), kp.ID, kp.Escrow, nil, time.Now(), entry(keypair.AuditClear))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	es, err := b.ListAudit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2*n {
		t.Fatalf("the log holds %d entries after %d audited changes", len(es), 2*n)
	}
	prev := make([]byte, 32)
	created := map[int64]bool{}
	for i, e := range es {
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ComputeHash(prev)) {
			t.Fatalf("the chain breaks at entry %d", e.Seq)
		}
		prev = e.Hash
		switch e.Action {
		case keypair.AuditCreateEscrowed:
			created[e.KeyPairID] = true
		case keypair.AuditClear:
			if !created[e.KeyPairID] {
				t.Fatalf("entry %d clears key pair %d before its create entry", e.Seq, e.KeyPairID)
			}
		}
	}
}

func TestTaskContract(t *testing.T) {
	storetest.RunTasks(t, func(t *testing.T) storetest.TaskStore { return openFresh(t) },
		func(t *testing.T, first storetest.TaskStore) storetest.TaskStore {
			// Another instance: its own pool on the same database.
			s, err := Open(t.Context(), first.(*Store).pool.Config().ConnString(), Options{})
			if err != nil {
				t.Fatalf("Open a second store: %v", err)
			}
			return s
		})
}
