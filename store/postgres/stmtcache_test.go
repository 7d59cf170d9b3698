package postgres

import (
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/keypair"
)

// TestHotStatementsPrepared checks that pgx's statement cache serves the
// key pair hot path: on a one-connection pool, after each operation ran
// once, running them all again prepares nothing new (every shape is one
// cached server-side statement, not re-parsed per call).
func TestHotStatementsPrepared(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	v := keypair.Viewer{UserID: "u1", DomainID: "d1"}
	round := func(i int) {
		for _, scope := range []keypair.Scope{keypair.ScopeUser, keypair.ScopeDomain} {
			kp := &keypair.KeyPair{UID: fmt.Sprintf("uid-%d-%s", i, scope), UserID: "u1", ProjectID: "p1", DomainID: "d1",
				Name: fmt.Sprintf("k%d-%s", i, scope), Type: keypair.TypeSSH, Scope: scope,
				PublicKey: "ssh-ed25519 AAAA", Fingerprint: "fp", Algorithm: "ed25519"}
			if err := s.CreateKeyPair(ctx, kp, 100, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetKeyPair(ctx, v, kp.Name); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ListKeyPairs(ctx, v, keypair.Page{Limit: 50}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ListKeyPairs(ctx, v, keypair.Page{Limit: 50, Marker: kp.Name}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CountKeyPairs(ctx, "u1"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteKeyPair(ctx, kp.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	prepared := func() int {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	round(0)
	before := prepared()
	if before < 6 {
		t.Fatalf("%d prepared statements after one round, want the hot path's (>= 6): is the statement cache off?", before)
	}
	for i := 1; i <= 3; i++ {
		round(i)
	}
	if after := prepared(); after != before {
		t.Fatalf("prepared statements grew from %d to %d over three more rounds: a query shape varies per call", before, after)
	}
}
