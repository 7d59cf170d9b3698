package storebench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
