//go:build sqlitedrivers

// The driver benchmark behind DRIVER.md. It runs the same Store, DSN and
// schema on both database/sql drivers; the build tag keeps the cgo driver
// out of normal builds:
//
//	go test -tags sqlitedrivers -run '^$' -bench . -benchtime 2000x ./store/sqlite/

package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver (cgo)

	"github.com/keyhaven/keyhaven/keypair"
)

// benchSeed is how many key pairs the reading user owns.
const benchSeed = 100

// BenchmarkDrivers measures, per driver: CreateKeyPair with its quota
// check, GetKeyPair, ListKeyPairs of 50, one of each in sequence (mix),
// and the mix on GOMAXPROCS goroutines.
func BenchmarkDrivers(b *testing.B) {
	for _, d := range []struct{ name, driver string }{
		{"modernc", driverName},
		{"mattn", "sqlite3"},
	} {
		b.Run(d.name, func(b *testing.B) {
			s, err := openDriver(b.Context(), d.driver, filepath.Join(b.TempDir(), "bench.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var seeded []string
			for i := range benchSeed {
				kp := testKP("reader", fmt.Sprintf("key-%04d", i))
				if err := s.CreateKeyPair(b.Context(), kp, benchSeed, nil); err != nil {
					b.Fatal(err)
				}
				seeded = append(seeded, kp.Name)
			}
			var seq atomic.Int64
			create := func() error {
				i := seq.Add(1)
				kp := testKP(fmt.Sprintf("writer-%02d", i%50), fmt.Sprintf("key-%08d", i))
				return s.CreateKeyPair(b.Context(), kp, 1<<30, nil)
			}
			get := func(i int) error {
				_, err := s.GetKeyPair(b.Context(), keypair.Viewer{UserID: "reader"}, seeded[i%benchSeed])
				return err
			}
			list := func() error {
				kps, err := s.ListKeyPairs(b.Context(), keypair.Viewer{UserID: "reader"}, keypair.Page{Limit: 50})
				if err == nil && len(kps) != 50 {
					err = fmt.Errorf("listed %d key pairs, want 50", len(kps))
				}
				return err
			}
			mix := func(i int) error {
				return errors.Join(create(), get(i), list())
			}

			for _, bm := range []struct {
				name string
				op   func(i int) error
			}{
				{"create", func(int) error { return create() }},
				{"get", get},
				{"list50", func(int) error { return list() }},
				{"mix", mix},
			} {
				b.Run(bm.name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if err := bm.op(i); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
			b.Run("mix-parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if err := mix(i); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
