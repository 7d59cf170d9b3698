package postgres

import (
	"testing"

	"github.com/keyhaven/keyhaven/internal/pgtest"
	"github.com/keyhaven/keyhaven/store/storetest"
)

// openBench opens a store on a new database, closed at the end.
func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.Context(), pgtest.NewDatabase(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkTaskCycle(b *testing.B) { storetest.BenchTaskCycle(b, openBench(b), 2000) }

func BenchmarkClaimIdle(b *testing.B) { storetest.BenchClaimIdle(b, openBench(b), 2000) }
