package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/keypair"
)

// countsDiff returns the owners whose key_pair_counts row differs from
// their number of key_pairs rows (a missing row counts as 0).
func countsDiff(ctx context.Context, t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.pool.Query(ctx, `
		WITH r AS (SELECT user_id, count(*) AS n FROM key_pairs GROUP BY user_id)
		SELECT coalesce(c.user_id, r.user_id), coalesce(c.n, 0), coalesce(r.n, 0)
		FROM key_pair_counts c FULL JOIN r ON r.user_id = c.user_id
		WHERE coalesce(c.n, 0) <> coalesce(r.n, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		var c, r int64
		if err := rows.Scan(&u, &c, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s: counter %d, rows %d", u, c, r))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// countKP is a user-scope key pair of user in domain d1.
func countKP(user, name string) *keypair.KeyPair {
	return &keypair.KeyPair{UID: fmt.Sprintf("%s-%s", user, name), UserID: user, ProjectID: "p", DomainID: "d1",
		Name: name, Type: keypair.TypeSSH, Scope: keypair.ScopeUser, PublicKey: "ssh-ed25519 AAAA", Fingerprint: "fp"}
}

// TestCountsFollowRows: the counters equal the rows after concurrent
// creates and deletes, after 0008 is applied to rows already there (a
// database a keyhaven before it wrote), after RecountKeyPairs repairs
// counters a restore doubled, and after TRUNCATE.
func TestCountsFollowRows(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	s := openOn(t, dsn)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			user := fmt.Sprint("u", w%3)
			for i := range 20 {
				kp := countKP(user, fmt.Sprintf("w%d-%d", w, i))
				if err := s.CreateKeyPair(ctx, kp, 25, nil); err != nil && keypair.ErrorCode(err) != keypair.EQUOTA {
					t.Error(err)
					return
				} else if err == nil && i%3 == 0 {
					if err := s.DeleteKeyPair(ctx, kp.ID, nil); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if d := countsDiff(ctx, t, s); d != nil {
		t.Fatalf("after concurrent writes the counters differ from the rows: %v", d)
	}
	for u := range 3 {
		if n, _ := s.CountKeyPairs(ctx, fmt.Sprint("u", u)); n > 25 {
			t.Errorf("u%d has %d key pairs over a quota of 25", u, n)
		}
	}

	// As if 0008 had never run: its objects gone, rows written without it.
	if _, err := s.pool.Exec(ctx, `DROP TABLE key_pair_counts;
		DROP FUNCTION key_pair_counts_change, key_pair_counts_truncate CASCADE;
		DROP TABLE key_pair_tags, key_pair_lifecycle; -- 0009's, applied again after 0008
		DELETE FROM schema_migrations WHERE version >= 8;
		INSERT INTO key_pairs (uid, user_id, project_id, domain_id, name, type, scope, public_key, fingerprint,
			algorithm, description, created_at, updated_at)
		VALUES ('old-1', 'old', 'p', '', 'a', 'ssh', 'user', 'k', 'f', '', '', 0, 0),
		       ('old-2', 'old', 'p', '', 'b', 'ssh', 'user', 'k', 'f', '', '', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	s2 := openOn(t, dsn)
	if n, err := s2.CountKeyPairs(ctx, "old"); err != nil || n != 2 {
		t.Fatalf("after 0008 on existing rows CountKeyPairs(old) = %d, %v; want 2", n, err)
	}
	if d := countsDiff(ctx, t, s2); d != nil {
		t.Fatalf("after 0008 on existing rows the counters differ: %v", d)
	}
	// What a data-only restore into a migrated schema does: the rows'
	// triggers count on top of the restored counters.
	if _, err := s2.pool.Exec(ctx, `UPDATE key_pair_counts SET n = n * 2; INSERT INTO key_pair_counts VALUES ('ghost', 3)`); err != nil {
		t.Fatal(err)
	}
	if fixed, err := s2.RecountKeyPairs(ctx); err != nil || fixed == 0 {
		t.Fatalf("RecountKeyPairs = %d, %v; want the wrong counters fixed", fixed, err)
	}
	if d := countsDiff(ctx, t, s2); d != nil {
		t.Fatalf("after RecountKeyPairs the counters differ: %v", d)
	}
	if fixed, err := s2.RecountKeyPairs(ctx); err != nil || fixed != 0 {
		t.Fatalf("second RecountKeyPairs = %d, %v; want 0", fixed, err)
	}
	if _, err := s2.pool.Exec(ctx, `TRUNCATE key_pairs CASCADE`); err != nil {
		t.Fatal(err)
	}
	if d := countsDiff(ctx, t, s2); d != nil {
		t.Fatalf("after TRUNCATE the counters differ: %v", d)
	}
}
