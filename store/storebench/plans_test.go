package storebench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/store/postgres"
)

// The statements the stores run, copied from store/sqlite/keypairs.go and
// store/postgres/keypairs.go (visible, GetKeyPair, ListKeyPairs' page and
// the count and name check of CreateKeyPair for a user-scope key pair).
const (
	sqliteColumns = `id, uid, user_id, project_id, domain_id, name, type, scope, public_key,
	fingerprint, algorithm, description, created_at, updated_at, escrow_ref, escrow_blob`
	pgColumns = sqliteColumns
)

func sqliteVisible(cond string) string {
	return `SELECT ` + sqliteColumns + ` FROM key_pairs WHERE user_id = ?1 AND ` + cond + `
		UNION ALL
		SELECT ` + sqliteColumns + ` FROM key_pairs AS k
		WHERE ?2 <> '' AND domain_id = ?2 AND scope = 'domain' AND user_id <> ?1 AND ` + cond + `
		AND NOT EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = k.name)`
}

func pgVisible(cond string) string {
	return `SELECT ` + pgColumns + ` FROM key_pairs WHERE user_id = $1 AND ` + cond + `
		UNION ALL
		SELECT ` + pgColumns + ` FROM key_pairs AS k
		WHERE $2::text <> '' AND domain_id = $2 AND scope = 'domain' AND user_id <> $1 AND ` + cond + `
		AND NOT EXISTS (SELECT 1 FROM key_pairs AS o WHERE o.user_id = $1 AND o.name = k.name)`
}

var (
	sqliteSQL = map[string]string{
		"get":          sqliteVisible(`name = ?3`) + ` LIMIT 1`,
		"list":         sqliteVisible(`name >= ?3`) + ` ORDER BY name LIMIT ?4`,
		"create-count": `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?), 0)`,
		"create-check": `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = ?1), 0),
		EXISTS (SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = ?2) OR
		EXISTS (SELECT 1 FROM key_pairs WHERE ?3 <> '' AND domain_id = ?3 AND scope = 'domain' AND name = ?2)`,
	}
	pgSQL = map[string]string{
		"get": pgVisible(`name = $3`) + ` LIMIT 1`,
		"list": `SELECT * FROM (
		(SELECT ` + pgColumns + ` FROM key_pairs WHERE user_id = $1 AND name >= $3 ORDER BY name LIMIT $4)
		UNION ALL
		(SELECT ` + pgColumns + ` FROM key_pairs AS k
		WHERE $2::text <> '' AND domain_id = $2 AND scope = 'domain' AND user_id <> $1 AND name >= $3
		AND NOT EXISTS (SELECT 1 FROM key_pairs AS o WHERE o.user_id = $1 AND o.name = k.name OFFSET 0)
		ORDER BY name LIMIT $4)
	) AS page ORDER BY name LIMIT $4`,
		"create-count": `SELECT coalesce((SELECT n FROM key_pair_counts WHERE user_id = $1), 0)`,
		"create-check": `SELECT
			EXISTS (SELECT 1 FROM key_pairs WHERE user_id = $1 AND name = $2) OR
			EXISTS (SELECT 1 FROM key_pairs WHERE $3::text <> '' AND domain_id = $3 AND scope = 'domain' AND name = $2)`,
	}
)

// sqliteExplain returns SQLite's EXPLAIN QUERY PLAN of query, one line per
// plan node, indented by depth.
func sqliteExplain(ctx context.Context, path string) func(t *testing.T, label, query string, args ...any) string {
	return func(t *testing.T, label, query string, args ...any) string {
		t.Helper()
		db, err := openRawSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatalf("explain %s: %v", label, err)
		}
		defer rows.Close()
		depth := map[int]int{0: 0}
		var b strings.Builder
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			depth[id] = depth[parent] + 1
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth[id]-1), detail)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
}

// bareScan matches a full table scan of key_pairs (under any alias the
// statements use) that no index serves.
var bareScan = regexp.MustCompile(`(?m)^\s*SCAN (key_pairs|k|o)\s*$`)

// checkSQLitePlan fails when plan scans key_pairs without an index.
func checkSQLitePlan(t *testing.T, label, plan string) {
	t.Helper()
	uses := strings.Contains(plan, "USING INDEX") || strings.Contains(plan, "USING COVERING INDEX") ||
		strings.Contains(plan, "USING INTEGER PRIMARY KEY") || strings.Contains(plan, "USING PRIMARY KEY")
	if !uses || bareScan.MatchString(plan) || strings.Contains(plan, "SCAN key_pairs\n") {
		t.Errorf("sqlite %s: plan does not use an index for every access to key_pairs:\n%s", label, plan)
	}
}

// pgExplain returns PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of query.
func pgExplain(ctx context.Context, s *postgres.Store) func(t *testing.T, label, query string, args ...any) string {
	return func(t *testing.T, label, query string, args ...any) string {
		t.Helper()
		rows, err := s.Pool().Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+query, args...)
		if err != nil {
			t.Fatalf("explain %s: %v", label, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("explain %s: %v", label, err)
		}
		return strings.Join(lines, "\n") + "\n"
	}
}

// checkPGPlan fails when plan scans key_pairs sequentially or uses no
// index, and for a list page when a scan of key_pairs returns more rows
// than the page asks for (limit): the page must not read every key pair
// of the user or the domain before it sorts.
func checkPGPlan(t *testing.T, label, plan string, limit int) {
	t.Helper()
	// The counters' table is small at small scales, where PostgreSQL
	// rightly reads it whole; key_pairs must always go through an index.
	counters := strings.Contains(plan, "on key_pair_counts") && !strings.Contains(plan, "on key_pairs")
	if !counters && !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan on key_pairs ") {
		t.Errorf("postgres %s: plan does not use an index for every access to key_pairs:\n%s", label, plan)
	}
	if limit <= 0 {
		return
	}
	for _, m := range scanRows.FindAllStringSubmatch(plan, -1) {
		if n, _ := strconv.Atoi(m[1]); n > limit {
			t.Errorf("postgres %s: a scan of key_pairs returned %d rows for a page of %d:\n%s", label, n, limit, plan)
		}
	}
}

// scanRows matches the actual rows of a scan of key_pairs (index, index
// only, bitmap heap) in EXPLAIN ANALYZE.
var scanRows = regexp.MustCompile(`(?:Index (?:Only )?Scan|Bitmap Heap Scan) .*actual time=\S+ rows=(\d+)`)

// explainAll prints and checks the plans of the get, list (first and deep
// page) and create statements for a user with a domain.
func explainAll(t *testing.T, e *engine, d *Dataset) {
	u := d.Users[len(d.Users)/2]
	deep := u.Names[min(89, len(u.Names)-1)]
	for _, c := range []struct {
		label, sql string
		args       []any
		limit      int // a page's size, for the bounded-reads check
	}{
		{"get", e.sql["get"], []any{u.ID, u.DomainID, u.Names[len(u.Names)/2]}, 0},
		{"list-first-page", e.sql["list"], []any{u.ID, u.DomainID, "", int64(50)}, 50},
		{"list-deep-page", e.sql["list"], []any{u.ID, u.DomainID, deep, int64(51)}, 51},
		{"create-count", e.sql["create-count"], []any{u.ID}, 0},
		{"create-check", e.sql["create-check"], []any{u.ID, "new-name", u.DomainID}, 0},
	} {
		plan := e.explain(t, c.label, c.sql, c.args...)
		t.Logf("%s plan of %s:\n%s", e.name, c.label, plan)
		if e.name == "sqlite" {
			checkSQLitePlan(t, c.label, plan)
		} else {
			checkPGPlan(t, c.label, plan, c.limit)
		}
	}
}
