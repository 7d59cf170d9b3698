package storebench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/store/postgres"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

var (
	scaleFlag   = flag.Bool("scale", false, "run TestScale (also KEYHAVEN_SCALE=1)")
	rowsFlag    = flag.Int("rows", 1_000_000, "TestScale: key pairs to seed per engine")
	rowsSQLite  = flag.Int("rows-sqlite", 0, "TestScale: key pairs to seed in SQLite (0: -rows)")
	rowsPG      = flag.Int("rows-postgres", 0, "TestScale: key pairs to seed in PostgreSQL (0: -rows)")
	usersFlag   = flag.Int("users", 0, "TestScale: users owning them (0: one per 100 key pairs)")
	samplesFlag = flag.Int("samples", 2000, "TestScale: samples per measured operation")
	enginesFlag = flag.String("engines", "sqlite,postgres", "TestScale: engines to run, comma-separated")
)

// scaleEnabled reports whether the opt-in scale run was asked for.
func scaleEnabled() bool { return *scaleFlag || os.Getenv("KEYHAVEN_SCALE") == "1" }

// quota is the per-user key pair quota the creates run with.
const quota = 1000

// engine is one store under test plus what the plans need.
type engine struct {
	name    string
	store   keypair.Store
	explain func(t *testing.T, label, query string, args ...any) string
	// sql returns the statements whose plans are checked, by label.
	sql map[string]string
}

// openSQLite opens a migrated SQLite store in dir, seeds it with d and
// reopens it; it returns the store and the seeding time.
func openSQLite(tb testing.TB, dir string, d *Dataset) (keypair.Store, string, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "keyhaven.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil { // migrated; the seed writes with its own connection
		tb.Fatal(err)
	}
	start := time.Now()
	if err := SeedSQLite(ctx, path, d); err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return s, path, took
}

// openPostgres opens a migrated PostgreSQL store on dsn and seeds it with d;
// it returns the store and the seeding time.
func openPostgres(tb testing.TB, dsn string, d *Dataset) (*postgres.Store, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := SeedPostgres(ctx, s.Pool(), d); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	return s, time.Since(start)
}

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
		"create-check": `SELECT
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

// TestScale seeds each engine with -rows key pairs (default 1,000,000
// over 10,000 users), prints and checks the query plans of the store's
// statements, then measures the store's operations and prints a Markdown
// table. It only runs with -scale or KEYHAVEN_SCALE=1 and never asserts
// times.
func TestScale(t *testing.T) {
	if !scaleEnabled() {
		t.Skip("scale benchmark: set KEYHAVEN_SCALE=1 or pass -scale")
	}
	ctx := context.Background()
	datasets := map[int]*Dataset{}
	dataset := func(rows int) *Dataset {
		if d := datasets[rows]; d != nil {
			return d
		}
		users := *usersFlag
		if users <= 0 {
			users = max(1, rows/100)
		}
		start := time.Now()
		d, err := NewDataset(Config{Rows: rows, Users: users, Domains: 100, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d users, %d rows in %v", len(d.Users), d.Config.Rows, time.Since(start).Round(time.Millisecond))
		datasets[rows] = d
		return d
	}
	rowsFor := func(n int) int {
		if n > 0 {
			return n
		}
		return *rowsFlag
	}
	t.Logf("fsync on %s: %s", t.TempDir(), fsyncLatency(t, t.TempDir(), 200))

	var names []string
	var all [][]Stats
	for _, name := range strings.Split(*enginesFlag, ",") {
		var e engine
		var d *Dataset
		switch name {
		case "sqlite":
			d = dataset(rowsFor(*rowsSQLite))
			dir := t.TempDir()
			s, path, took := openSQLite(t, dir, d)
			t.Cleanup(func() { s.Close() })
			t.Logf("sqlite: seeded %d rows in %v (%.0f rows/s)", d.Config.Rows, took.Round(time.Millisecond),
				float64(d.Config.Rows)/took.Seconds())
			if fi, err := os.Stat(path); err == nil {
				t.Logf("sqlite: database file %.1f MiB", float64(fi.Size())/(1<<20))
			}
			e = engine{name: "sqlite", store: s, explain: sqliteExplain(ctx, path), sql: sqliteSQL}
		case "postgres":
			d = dataset(rowsFor(*rowsPG))
			dsn := pgtest.NewDatabase(t)
			s, took := openPostgres(t, dsn, d)
			t.Cleanup(func() { s.Close() })
			t.Logf("postgres: seeded %d rows in %v (%.0f rows/s)", d.Config.Rows, took.Round(time.Millisecond),
				float64(d.Config.Rows)/took.Seconds())
			var size string
			if err := s.Pool().QueryRow(ctx, `SELECT pg_size_pretty(pg_total_relation_size('key_pairs'))`).Scan(&size); err == nil {
				t.Logf("postgres: key_pairs with indexes %s", size)
			}
			var settings string
			if err := s.Pool().QueryRow(ctx, `SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
				WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'server_version')`).Scan(&settings); err == nil {
				t.Logf("postgres: %s", settings)
			}
			e = engine{name: "postgres", store: s, explain: pgExplain(ctx, s), sql: pgSQL}
		default:
			t.Fatalf("unknown engine %q", name)
		}
		explainAll(t, &e, d)
		names = append(names, fmt.Sprintf("%s (%d rows)", e.name, d.Config.Rows))
		all = append(all, measure(t, e.name, e.store, d, *samplesFlag))
	}
	table := Table(names, all)
	t.Logf("results (100 key pairs per user unless -users, GOMAXPROCS as set):\n\n%s", table)
	fmt.Print("\n" + table)
}

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

// measure times the store operations, n samples each, and returns their
// stats in table order.
func measure(t *testing.T, engine string, s keypair.Store, d *Dataset, n int) []Stats {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 3))
	user := func() *User { return &d.Users[rng.IntN(len(d.Users))] }
	viewer := func(u *User) keypair.Viewer { return keypair.Viewer{UserID: u.ID, DomainID: u.DomainID} }
	run := func(op string, fn func() error) Stats {
		lat := make([]time.Duration, n)
		wall := time.Now()
		for i := range n {
			t0 := time.Now()
			if err := fn(); err != nil {
				t.Fatalf("%s %s: %v", engine, op, err)
			}
			lat[i] = time.Since(t0)
		}
		st := Summarize(op, 1, lat, time.Since(wall))
		t.Logf("%s %-28s p50 %s p99 %s mean %s max %s %.0f ops/s", engine, op, ms(st.P50), ms(st.P99), ms(st.Mean), ms(st.Max), st.OpsPerSec)
		logOutliers(t, engine, op, lat)
		return st
	}
	var out []Stats
	// Warm up the caches a little (connections, prepared statements).
	for range 100 {
		u := user()
		if _, err := s.GetKeyPair(ctx, viewer(u), u.Names[0]); err != nil {
			t.Fatal(err)
		}
	}
	out = append(out, run("get (show)", func() error {
		u := user()
		kp, err := s.GetKeyPair(ctx, viewer(u), u.Names[rng.IntN(len(u.Names))])
		if err == nil && kp.UserID != u.ID {
			err = errors.New("wrong owner")
		}
		return err
	}))
	out = append(out, run("list first page (50)", func() error {
		u := user()
		kps, err := s.ListKeyPairs(ctx, viewer(u), keypair.Page{Limit: 50})
		if err == nil && len(kps) != min(50, len(u.Names)) {
			err = fmt.Errorf("got %d key pairs", len(kps))
		}
		return err
	}))
	deepMarker := func(u *User) string { return u.Names[min(89, len(u.Names)-1)] }
	out = append(out, run("list deep page, user viewer", func() error {
		u := user()
		_, err := s.ListKeyPairs(ctx, keypair.Viewer{UserID: u.ID}, keypair.Page{Marker: deepMarker(u), Limit: 50})
		return err
	}))
	out = append(out, run("list deep page, domain viewer", func() error {
		u := user()
		_, err := s.ListKeyPairs(ctx, viewer(u), keypair.Page{Marker: deepMarker(u), Limit: 50})
		return err
	}))
	var seq atomic.Int64
	out = append(out, run("create", func() error {
		u := user()
		i := seq.Add(1)
		line, fp := d.PublicKey(int(i))
		kp := &keypair.KeyPair{UID: fmt.Sprintf("bench-%s-%d", engine, i), UserID: u.ID, ProjectID: u.ProjectID,
			DomainID: u.DomainID, Name: fmt.Sprintf("new-%06d", i), Type: keypair.TypeSSH, Scope: keypair.ScopeUser,
			PublicKey: line, Fingerprint: fp, Algorithm: "ed25519"}
		return s.CreateKeyPair(ctx, kp, quota, nil)
	}))
	// get with 8 goroutines, n samples in all, after a first round that
	// fills the connection pools (not measured).
	const g = 8
	lat := concurrentGets(t, s, d, g, n/4)
	lat = concurrentGets(t, s, d, g, n)
	st := Summarize("get (show)", g, lat.lat, lat.wall)
	t.Logf("%s %-28s p50 %s p99 %s mean %s max %s %.0f ops/s", engine, "get x8", ms(st.P50), ms(st.P99), ms(st.Mean), ms(st.Max), st.OpsPerSec)
	logOutliers(t, engine, "get x8", lat.lat)
	out = append(out, st)
	// create with 16 goroutines: SQLite commits them in groups.
	lat = concurrentCreates(t, engine, s, d, 16, n)
	st = Summarize("create", 16, lat.lat, lat.wall)
	t.Logf("%s %-28s p50 %s p99 %s mean %s max %s %.0f ops/s", engine, "create x16", ms(st.P50), ms(st.P99), ms(st.Mean), ms(st.Max), st.OpsPerSec)
	logOutliers(t, engine, "create x16", lat.lat)
	return append(out, st)
}

// timed is the latencies of a concurrent run and its wall time.
type timed struct {
	lat  []time.Duration
	wall time.Duration
}

// concurrentGets runs n GetKeyPair calls of random users' key pairs on g
// goroutines and returns their latencies.
func concurrentGets(t *testing.T, s keypair.Store, d *Dataset, g, n int) timed {
	return concurrently(t, "get", g, n, func(r *rand.Rand, _ int) error {
		u := &d.Users[r.IntN(len(d.Users))]
		_, err := s.GetKeyPair(context.Background(), keypair.Viewer{UserID: u.ID, DomainID: u.DomainID}, u.Names[r.IntN(len(u.Names))])
		return err
	})
}

// concurrentCreates runs n CreateKeyPair calls for random users on g
// goroutines and returns their latencies.
func concurrentCreates(t *testing.T, engine string, s keypair.Store, d *Dataset, g, n int) timed {
	return concurrently(t, "create", g, n, func(r *rand.Rand, i int) error {
		u := &d.Users[r.IntN(len(d.Users))]
		line, fp := d.PublicKey(i)
		kp := &keypair.KeyPair{UID: fmt.Sprintf("bench-%s-par-%d", engine, i), UserID: u.ID, ProjectID: u.ProjectID,
			DomainID: u.DomainID, Name: fmt.Sprintf("par-%06d", i), Type: keypair.TypeSSH, Scope: keypair.ScopeUser,
			PublicKey: line, Fingerprint: fp, Algorithm: "ed25519"}
		return s.CreateKeyPair(context.Background(), kp, quota, nil)
	})
}

// concurrently runs fn(rng, i) for i in [0, n) on g goroutines and
// returns the latency of each call and the wall time.
func concurrently(t *testing.T, op string, g, n int, fn func(r *rand.Rand, i int) error) timed {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	wall := time.Now()
	for w := range g {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(n)))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				err := fn(r, i)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatalf("concurrent %s: %v", op, failed)
	}
	return timed{lat: lat, wall: time.Since(wall)}
}

// logOutliers logs the samples (by sequence number) slower than 20 ms,
// at most ten of them, to tell a slow tail from a few stalls.
func logOutliers(t *testing.T, engine, op string, lat []time.Duration) {
	var out []string
	count := 0
	for i, l := range lat {
		if l > 20*time.Millisecond {
			count++
			if len(out) < 10 {
				out = append(out, fmt.Sprintf("#%d %s", i, ms(l)))
			}
		}
	}
	if count > 0 {
		t.Logf("%s %s: %d samples over 20 ms: %s", engine, op, count, strings.Join(out, ", "))
	}
}

// fsyncLatency reports the median and p99 of writing 4 KiB and calling
// fsync on a file in dir, the floor under every durable commit there.
func fsyncLatency(t *testing.T, dir string, n int) string {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	lat := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	st := Summarize("fsync", 1, lat, 0)
	return fmt.Sprintf("4 KiB write+fsync p50 %s p99 %s mean %s", ms(st.P50), ms(st.P99), ms(st.Mean))
}
