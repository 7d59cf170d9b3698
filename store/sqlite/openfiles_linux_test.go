package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fOFDGetLK is Linux's F_OFD_GETLK: which lock, if any, would conflict
// with one asked for on this open file description. The process's own
// POSIX locks conflict with it, so it shows what SQLite holds.
const fOFDGetLK = 36

// lockedAt says whether the process holds a lock on bytes [start,
// start+n) of the file f is open on.
func lockedAt(t *testing.T, f *os.File, start, n int64) bool {
	t.Helper()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: start, Len: n}
	if err := syscall.FcntlFlock(f.Fd(), fOFDGetLK, &lk); err != nil {
		t.Fatalf("F_OFD_GETLK: %v", err)
	}
	return lk.Type != syscall.F_UNLCK
}

// TestStoresKeepEachOthersLocks: a second Store on a database, opened and
// closed, leaves the first one's SQLite locks in place: on the database
// file (its WAL-mode shared lock, which checkHeader's handle would drop)
// and on the -shm file (the DMS lock at byte 128, which the WAL stamps'
// handle would drop), so no other process can reset the WAL index under
// it. Also through a symbolic link to the database.
func TestStoresKeepEachOthersLocks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.db")
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, path, Options{})
	// Held open to the end: closing these would drop the locks too.
	db, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	shm, err := os.Open(path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); db.Close(); shm.Close() })
	const sharedFirst, sharedSize = 0x40000002, 510 // SQLite's shared lock bytes
	if !lockedAt(t, db, sharedFirst, sharedSize) || !lockedAt(t, shm, 128, 1) {
		t.Fatal("an open store holds no lock to check")
	}
	for _, p := range []string{path, link} {
		other, err := Open(t.Context(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if other.stamps != s.stamps {
			t.Errorf("a second store through %s reads another -shm handle", filepath.Base(p))
		}
		if err := other.Close(); err != nil {
			t.Fatal(err)
		}
		if !lockedAt(t, db, sharedFirst, sharedSize) {
			t.Errorf("opening and closing a store through %s dropped the first one's database lock", filepath.Base(p))
		}
		if !lockedAt(t, shm, 128, 1) {
			t.Errorf("opening and closing a store through %s dropped the first one's -shm lock", filepath.Base(p))
		}
	}
	if s.stamps.read() == (walStamp{}) {
		t.Error("no stamp after the other stores closed")
	}
}
