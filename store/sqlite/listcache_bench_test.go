package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// BenchmarkListPage reads the first page of 50 of a user holding 100 key
// pairs: kept (nothing changed since the last read), changed (another of
// the user's key pairs created before each read, untimed, so every page is
// read from the database with its versions), and straight from the
// database as the store read pages before it kept them.
func BenchmarkListPage(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 100 {
		if err := s.CreateKeyPair(b.Context(), testKP("reader", fmt.Sprintf("key-%04d", i)), 1<<30, nil); err != nil {
			b.Fatal(err)
		}
	}
	v := keypair.Viewer{UserID: "reader", DomainID: "d"}
	page := keypair.Page{Limit: 50}
	list := func(b *testing.B) {
		if kps, err := s.ListKeyPairs(b.Context(), v, page); err != nil || len(kps) != 50 {
			b.Fatal(len(kps), err)
		}
	}
	b.Run("kept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			list(b)
		}
	})
	made := 0
	b.Run("changed", func(b *testing.B) {
		// No ReportAllocs: it would make StopTimer read the memory stats.
		for b.Loop() {
			b.StopTimer()
			made++
			if err := s.CreateKeyPair(b.Context(), testKP("reader", fmt.Sprintf("zz-%08d", made)), 1<<30, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			list(b)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if kps, err := readList(b.Context(), s.st.rList, v, page, 50); err != nil || len(kps) != 50 {
				b.Fatal(len(kps), err)
			}
		}
	})
}
