package sqlite

import (
	"bytes"
	"encoding/binary"
	"os"
)

// A WAL stamp tells, without a statement, whether any transaction has
// committed to the database since an earlier stamp: kept answers whose
// stamp is the current one are served without even the probe of their
// versions, which cost about a fifth of a show's CPU.
//
// The stamp is the header of SQLite's WAL index, the first 48 bytes of the
// -shm file beside the database (https://www.sqlite.org/walformat.html,
// "The WAL-Index Header"). Every commit, by any connection of any process,
// rewrites it before the commit is visible to readers: mxFrame and iChange
// grow, and a WAL restart changes the salts. SQLite writes the header
// twice, the second copy first, and a reader that finds both copies equal
// has a header no writer was halfway through. The stamp is read with
// pread, not a mapping, so a file shorter than the header (an instance
// starting over while no connection holds it) is a short read rather than
// a fault. Anything unexpected (another iVersion, a header not yet
// initialised, copies that differ, a wrong checksum, a read error) gives
// no stamp, and the caches fall back to the probe. The handle is shared by
// the process's Stores of the database and closed after the last of them
// (openfiles.go): closing it earlier would drop SQLite's locks.
//
// Soundness: a stamp is read before the statement whose answer it is kept
// with, so that statement's snapshot is at least as new as the stamp. A
// later equal stamp means no commit since, so that snapshot is still the
// database's.

// walIndexVersion is the iVersion of the WAL index this format has had
// since SQLite 3.7.0.
const walIndexVersion = 3007000

// walStamp is one WAL index header; the zero value is no stamp.
type walStamp [48]byte

// walStamps reads stamps from one database's -shm file.
type walStamps struct{ f *os.File }

// openWALStamps opens the -shm file of the database at path, which an open
// connection in WAL mode has created; nil when it cannot be read, which
// gives no stamps.
func openWALStamps(path string) *walStamps {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil
	}
	return &walStamps{f: f}
}

// read returns the current stamp, or the zero stamp when there is none.
func (w *walStamps) read() walStamp {
	var none walStamp
	if w == nil {
		return none
	}
	var buf [2 * len(none)]byte
	if n, err := w.f.ReadAt(buf[:], 0); n != len(buf) || err != nil {
		return none
	}
	first, second := buf[:len(none)], buf[len(none):]
	const isInit = 12 // byte offset of isInit
	if !bytes.Equal(first, second) || binary.NativeEndian.Uint32(first) != walIndexVersion || first[isInit] != 1 ||
		!headerSumOK(first) {
		return none
	}
	return walStamp(first)
}

// headerSumOK checks a header's own checksum (aCksum, its last 8 bytes,
// over the 40 before), as SQLite's readers do: equal copies of a header no
// writer ever wrote, from a torn read, do not pass it.
func headerSumOK(h []byte) bool {
	var s1, s2 uint32
	for i := 0; i < 40; i += 8 {
		s1 += binary.NativeEndian.Uint32(h[i:]) + s2
		s2 += binary.NativeEndian.Uint32(h[i+4:]) + s1
	}
	return s1 == binary.NativeEndian.Uint32(h[40:]) && s2 == binary.NativeEndian.Uint32(h[44:])
}

// close closes the -shm file.
func (w *walStamps) close() error {
	if w == nil {
		return nil
	}
	return w.f.Close()
}
