package storebench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/keypair"
)

// The Go benchmarks share one seeded store per engine, built on first use
// and released by TestMain: benchRows key pairs over benchUsers users.
const (
	benchRows  = 100_000
	benchUsers = 1_000
)

// fixture is a seeded store shared by the benchmarks of one engine.
type fixture struct {
	once  sync.Once
	store keypair.Store
	data  *Dataset
	err   error
	skip  string
}

var (
	benchData struct {
		once sync.Once
		d    *Dataset
		err  error
	}
	fixtures = map[string]*fixture{"sqlite": {}, "postgres": {}}
	cleanups []func()
)

// TestMain runs the tests and benchmarks, then closes the shared stores.
func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// dataset returns the benchmarks' data set, generated once.
func dataset(b *testing.B) *Dataset {
	benchData.once.Do(func() {
		benchData.d, benchData.err = NewDataset(Config{Rows: benchRows, Users: benchUsers, Domains: 100, Seed: 1})
	})
	if benchData.err != nil {
		b.Fatal(benchData.err)
	}
	return benchData.d
}

// seeded returns engine's shared seeded store, building it on first use;
// it skips when the engine is unavailable (PostgreSQL not installed).
func seeded(b *testing.B, engine string) (keypair.Store, *Dataset) {
	d := dataset(b)
	f := fixtures[engine]
	f.once.Do(func() {
		switch engine {
		case "sqlite":
			dir, err := os.MkdirTemp("", "storebench-")
			if err != nil {
				f.err = err
				return
			}
			cleanups = append(cleanups, func() { os.RemoveAll(dir) })
			f.store, _, _ = openSQLite(b, dir, d)
		case "postgres":
			srv := pgtest.Start(b) // skips (or fails, when required) without PostgreSQL
			name := fmt.Sprintf("storebench_%d", os.Getpid())
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, srv.DSN)
			if err != nil {
				f.err = err
				return
			}
			_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
			conn.Close(ctx)
			if err != nil {
				f.err = err
				return
			}
			f.store, _ = openPostgres(b, srv.DatabaseDSN(name), d)
		}
		if f.store != nil {
			cleanups = append(cleanups, func() { f.store.Close() })
		}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	if f.store == nil {
		b.Skipf("%s store unavailable (set up failed or skipped in an earlier benchmark)", engine)
	}
	return f.store, d
}

// forEngines runs fn as a sub-benchmark per engine.
func forEngines(b *testing.B, fn func(b *testing.B, engine string, s keypair.Store, d *Dataset)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			s, d := seeded(b, engine)
			fn(b, engine, s, d)
		})
	}
}

// BenchmarkGet measures GetKeyPair of a random user's random key pair, the
// viewer knowing their domain, on a store of 100,000 key pairs.
func BenchmarkGet(b *testing.B) {
	forEngines(b, func(b *testing.B, _ string, s keypair.Store, d *Dataset) {
		rng := rand.New(rand.NewPCG(1, 1))
		for b.Loop() {
			u := &d.Users[rng.IntN(len(d.Users))]
			if _, err := s.GetKeyPair(b.Context(), keypair.Viewer{UserID: u.ID, DomainID: u.DomainID},
				u.Names[rng.IntN(len(u.Names))]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListFirst measures ListKeyPairs of the first 50 key pairs a
// random user (with their domain) sees, on a store of 100,000 key pairs.
func BenchmarkListFirst(b *testing.B) {
	forEngines(b, func(b *testing.B, _ string, s keypair.Store, d *Dataset) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			u := &d.Users[rng.IntN(len(d.Users))]
			if _, err := s.ListKeyPairs(b.Context(), keypair.Viewer{UserID: u.ID, DomainID: u.DomainID},
				keypair.Page{Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchSeq numbers created key pairs across benchmark runs, so names and
// UIDs stay unique when the benchmark function runs several times.
var benchSeq atomic.Int64

// BenchmarkCreate measures CreateKeyPair (quota 1000) of a new user-scope
// key pair for a random user, on a store of 100,000 key pairs.
func BenchmarkCreate(b *testing.B) {
	forEngines(b, func(b *testing.B, engine string, s keypair.Store, d *Dataset) {
		rng := rand.New(rand.NewPCG(1, 3))
		for b.Loop() {
			if err := s.CreateKeyPair(b.Context(), newKeyPair(engine, d, &d.Users[rng.IntN(len(d.Users))]), quota, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// newKeyPair returns a fresh user-scope key pair for u, unique across
// benchmark runs.
func newKeyPair(engine string, d *Dataset, u *User) *keypair.KeyPair {
	i := benchSeq.Add(1)
	line, fp := d.PublicKey(int(i))
	return &keypair.KeyPair{UID: fmt.Sprintf("gobench-%s-%d", engine, i), UserID: u.ID, ProjectID: u.ProjectID,
		DomainID: u.DomainID, Name: fmt.Sprintf("new-%08d", i), Type: keypair.TypeSSH, Scope: keypair.ScopeUser,
		PublicKey: line, Fingerprint: fp, Algorithm: "ed25519"}
}

// BenchmarkCount measures CountKeyPairs of a random user (100 key pairs
// each), on a store of 100,000 key pairs.
func BenchmarkCount(b *testing.B) {
	forEngines(b, func(b *testing.B, _ string, s keypair.Store, d *Dataset) {
		rng := rand.New(rand.NewPCG(1, 4))
		for b.Loop() {
			if _, err := s.CountKeyPairs(b.Context(), d.Users[rng.IntN(len(d.Users))].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDelete measures DeleteKeyPair of key pairs created (untimed)
// for random users just before, on a store of 100,000 key pairs.
func BenchmarkDelete(b *testing.B) {
	forEngines(b, func(b *testing.B, engine string, s keypair.Store, d *Dataset) {
		rng := rand.New(rand.NewPCG(1, 5))
		ids := make([]int64, b.N)
		for i := range ids {
			kp := newKeyPair(engine, d, &d.Users[rng.IntN(len(d.Users))])
			if err := s.CreateKeyPair(b.Context(), kp, quota, nil); err != nil {
				b.Fatal(err)
			}
			ids[i] = kp.ID
		}
		b.ResetTimer()
		for _, id := range ids {
			if err := s.DeleteKeyPair(b.Context(), id, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateOwnerSize measures CreateKeyPair for an owner who already
// has 8 or 8,000 key pairs (made untimed through the store): the cost of
// a create should not grow with the owner's count.
func BenchmarkCreateOwnerSize(b *testing.B) {
	for _, size := range []int{8, 8000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			forEngines(b, func(b *testing.B, engine string, s keypair.Store, d *Dataset) {
				u := &User{ID: fmt.Sprintf("owner-%s-%d-%d", engine, size, benchSeq.Add(1)), ProjectID: "p", DomainID: d.Users[0].DomainID}
				for range size {
					if err := s.CreateKeyPair(b.Context(), newKeyPair(engine, d, u), 1<<30, nil); err != nil {
						b.Fatal(err)
					}
				}
				for b.Loop() {
					if err := s.CreateKeyPair(b.Context(), newKeyPair(engine, d, u), 1<<30, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCreateParallel measures CreateKeyPair from 16 goroutines (8 per
// CPU on two) for random users: what batching concurrent writes buys.
func BenchmarkCreateParallel(b *testing.B) {
	forEngines(b, func(b *testing.B, engine string, s keypair.Store, d *Dataset) {
		b.SetParallelism(8)
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(2, seed.Add(1)))
			for pb.Next() {
				if err := s.CreateKeyPair(context.Background(), newKeyPair(engine, d, &d.Users[rng.IntN(len(d.Users))]), quota, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
