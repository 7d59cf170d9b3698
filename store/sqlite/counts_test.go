package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// countsDiff returns the owners whose key_pair_counts row differs from
// their number of key_pairs rows (a missing row counts as 0), as
// "user: counter n, rows m" lines.
func countsDiff(ctx context.Context, t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, `
		WITH real AS (SELECT user_id, count(*) AS n FROM key_pairs GROUP BY user_id),
		     owners AS (SELECT user_id FROM real UNION SELECT user_id FROM key_pair_counts)
		SELECT o.user_id, coalesce(c.n, 0), coalesce(r.n, 0) FROM owners o
		LEFT JOIN key_pair_counts c ON c.user_id = o.user_id
		LEFT JOIN real r ON r.user_id = o.user_id
		WHERE coalesce(c.n, 0) <> coalesce(r.n, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		var c, r int
		if err := rows.Scan(&u, &c, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s: counter %d, rows %d", u, c, r))
	}
	return out
}

// TestCountsFilledByMigration: a database an older keyhaven wrote (key
// pairs a and b of alice and x of bob) gets its counters from the rows
// when 0008 runs, and they follow creates and deletes from then on.
func TestCountsFilledByMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	kept, _ := oldDatabase(t, path, 2) // its rows predate 0008 (and 0003)
	s := openTest(t, path, Options{})
	for user, want := range map[string]int{"alice": 2, "bob": 1, "carol": 0} {
		if n, err := s.CountKeyPairs(ctx, user); err != nil || n != want {
			t.Errorf("after upgrade CountKeyPairs(%s) = %d, %v; want %d", user, n, err, want)
		}
	}
	if err := s.CreateKeyPair(ctx, testKP("alice", "d"), 3, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKeyPair(ctx, kept[2].ID, nil); err != nil { // bob's x
		t.Fatal(err)
	}
	if d := countsDiff(ctx, t, s.w); d != nil {
		t.Errorf("counters differ from the rows: %v", d)
	}
	if n, _ := s.CountKeyPairs(ctx, "alice"); n != 3 {
		t.Errorf("alice has %d, want 3", n)
	}
}

// TestCountsInSnapshot: a VACUUM INTO snapshot (what keyhaven backup
// archives) carries the counters and their triggers, so a restored
// database counts on correctly.
func TestCountsInSnapshot(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openTest(t, filepath.Join(dir, "a.db"), Options{})
	for i := range 5 {
		if err := s.CreateKeyPair(ctx, testKP("alice", fmt.Sprint("k", i)), 10, nil); err != nil {
			t.Fatal(err)
		}
	}
	snap := filepath.Join(dir, "snap.db")
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, snap); err != nil {
		t.Fatal(err)
	}
	r := openTest(t, snap, Options{})
	if n, err := r.CountKeyPairs(ctx, "alice"); err != nil || n != 5 {
		t.Fatalf("restored CountKeyPairs = %d, %v; want 5", n, err)
	}
	if err := r.CreateKeyPair(ctx, testKP("alice", "k5"), 6, nil); err != nil {
		t.Fatal(err)
	}
	if d := countsDiff(ctx, t, r.w); d != nil {
		t.Errorf("restored counters differ from the rows: %v", d)
	}
}
