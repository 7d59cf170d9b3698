package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// TestWALStampChangesOnEveryCommit checks the stamp against what the caches
// rely on: it stays while nothing commits (reads by either of two stores
// on one file) and changes with every commit, by this store or the other,
// across a WAL restart too.
func TestWALStampChangesOnEveryCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s := openTest(t, path, Options{})
	other := openTest(t, path, Options{})
	alice := keypair.Viewer{UserID: "alice"}
	last := s.stamps.read()
	if last == (walStamp{}) {
		t.Fatal("no stamp from an open store")
	}
	same := func(what string) {
		t.Helper()
		if now := s.stamps.read(); now != last {
			t.Fatalf("%s changed the stamp", what)
		}
		if now := other.stamps.read(); now != last {
			t.Fatalf("%s: the other store reads another stamp", what)
		}
	}
	changed := func(what string) {
		t.Helper()
		now := s.stamps.read()
		if now == last || now == (walStamp{}) {
			t.Fatalf("%s left the stamp as it was", what)
		}
		last = now
	}
	kp := testKP("alice", "a")
	mustCreateKP(t, s, kp)
	changed("a create")
	for _, st := range []*Store{s, other} {
		if _, err := st.GetKeyPair(t.Context(), alice, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ListKeyPairs(t.Context(), alice, keypair.Page{}); err != nil {
			t.Fatal(err)
		}
	}
	same("gets and lists")
	mustCreateKP(t, other, testKP("bob", "b"))
	changed("another process's create")
	if err := s.UpdateDescription(t.Context(), kp.ID, "words", kp.CreatedAt); err != nil {
		t.Fatal(err)
	}
	changed("an update")
	if err := s.checkpointTruncate(t.Context()); err != nil {
		t.Fatal(err)
	}
	last = s.stamps.read()
	if err := other.DeleteKeyPair(t.Context(), kp.ID, nil); err != nil {
		t.Fatal(err)
	}
	changed("a delete after the WAL was truncated")
}

// TestWALStampNone checks that anything but a whole, settled WAL index
// header gives no stamp.
func TestWALStampNone(t *testing.T) {
	dir := t.TempDir()
	if w := openWALStamps(filepath.Join(dir, "none.db")); w != nil || w.read() != (walStamp{}) {
		t.Fatal("a stamp without a -shm file")
	}
	s := openTest(t, filepath.Join(dir, "k.db"), Options{})
	good, err := os.ReadFile(filepath.Join(dir, "k.db-shm"))
	if err != nil {
		t.Fatal(err)
	}
	for name, mangle := range map[string]func([]byte) []byte{
		"short":           func(b []byte) []byte { return b[:60] },
		"copies differ":   func(b []byte) []byte { b[16]++; return b },
		"other version":   func(b []byte) []byte { b[0]++; b[48]++; return b },
		"not initialised": func(b []byte) []byte { b[12], b[60] = 0, 0; return b },
		"wrong checksum":  func(b []byte) []byte { b[16]++; b[64]++; return b },
	} {
		path := filepath.Join(dir, name+".db")
		if err := os.WriteFile(path+"-shm", mangle(append([]byte(nil), good[:96]...)), 0o600); err != nil {
			t.Fatal(err)
		}
		w := openWALStamps(path)
		if got := w.read(); got != (walStamp{}) {
			t.Errorf("%s: a stamp", name)
		}
		w.close()
	}
	if s.stamps.read() == (walStamp{}) {
		t.Fatal("the good header gives no stamp")
	}
}

// TestCacheHitsWithoutProbe: with nothing committed since, a kept key pair
// or page is served without the probe; a commit elsewhere costs one probe,
// after which the answer is served without one again.
func TestCacheHitsWithoutProbe(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	alice := keypair.Viewer{UserID: "alice", DomainID: "d1"}
	mustCreateKP(t, s, testKP("alice", "a"))
	read := func() {
		t.Helper()
		if _, err := s.GetKeyPair(t.Context(), alice, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListKeyPairs(t.Context(), alice, keypair.Page{Limit: 50}); err != nil {
			t.Fatal(err)
		}
	}
	read() // kept
	want := func(hits, stamped int64) {
		t.Helper()
		if g, l := s.gets, s.lists; g.hits.Load() != hits || g.stamped.Load() != stamped ||
			l.hits.Load() != hits || l.stamped.Load() != stamped {
			t.Fatalf("get %d hits, %d without a probe; list %d, %d; want %d, %d each",
				g.hits.Load(), g.stamped.Load(), l.hits.Load(), l.stamped.Load(), hits, stamped)
		}
	}
	read()
	read()
	want(2, 2)
	mustCreateKP(t, s, testKP("bob", "b")) // a commit alice cannot see
	read()
	want(3, 2)
	read()
	want(4, 3)
}
