package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// driverName is the database/sql driver Open uses: modernc.org/sqlite.
const driverName = "sqlite"

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another process before failing, when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long SQLite waits for a lock another connection
	// or process holds before giving up; 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxReaders caps the reader pool; 0 means max(4, GOMAXPROCS).
	MaxReaders int
	// OnBatch, when set, is called with the number of key pair writes
	// each group commit applied (groupcommit.go), after the commit: for
	// metrics. It must not block.
	OnBatch func(n int)
}

// Store is a keypair.Store and an identity.Store on one SQLite database
// file. It is safe for concurrent use; all writes go through one
// connection, reads through a pool.
type Store struct {
	path string
	real string  // path with its links resolved: its key in processFiles
	w    *sql.DB // exactly one connection; every write goes through it
	r    *sql.DB // query-only connections for reads
	ck   *sql.DB // one connection for checkpoints (checkpoint.go)
	st   stmts   // the hot path's prepared statements
	gc   committer
	// lists keeps recent list pages (listcache.go).
	lists *listCache
	// gets keeps recently read key pairs (getcache.go).
	gets *getCache
	// stamps reads the WAL index header the caches check first
	// (walstamp.go); nil reads no stamps.
	stamps *walStamps
	// onBatch is Options.OnBatch, or what SetBatchObserver set since:
	// atomic, because writers read it while the caller may set it.
	onBatch atomic.Pointer[func(n int)]

	// scrubOwed counts destroying writes whose scrub did not complete;
	// scrubPaid is scrubOwed as it was when scrubLoop's last complete
	// TRUNCATE checkpoint began. While they differ, a destroyed private
	// key may still be in the WAL.
	scrubOwed, scrubPaid atomic.Uint64
	scrubKick            chan struct{} // wakes scrubLoop early (buffered, 1)
	scrubStop            chan struct{} // closed by Close
	scrubDone            chan struct{} // closed when scrubLoop has returned

	ckMu   sync.Mutex    // one checkpoint of this store at a time: SQLite refuses a second (checkpoint.go, scrub.go)
	ckStop chan struct{} // closed by Close
	ckDone chan struct{} // closed when checkpointLoop has returned

	closeOnce sync.Once
	closeErr  error
}

// sqliteHeader starts every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// Open opens (creating it if missing) the SQLite database file at path,
// switches it to WAL mode, applies any pending migrations and returns a
// Store over it. path is a file system path; in-memory databases are not
// supported because the reader and writer pools must share one database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return openDriver(ctx, driverName, path, opts)
}

// openDriver is Open with a choice of database/sql driver; the driver
// benchmark uses it to run the same store on github.com/mattn/go-sqlite3.
func openDriver(ctx context.Context, driver, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need a file system path (in-memory databases and URIs are not supported)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	real := realPath(abs)
	if err := processFiles.acquire(real, func() error { return checkHeader(abs) }); err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			processFiles.release(real)
		}
	}()
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = max(4, runtime.GOMAXPROCS(0))
	}

	s := &Store{path: abs, real: real, lists: newListCache(), gets: newGetCache()}
	if opts.OnBatch != nil {
		s.SetBatchObserver(opts.OnBatch)
	}
	s.w, err = sql.Open(driver, dsn(abs, opts, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal (is the file on a file system without shared memory?)", abs, mode)
	}
	var secure int
	if err := s.w.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secure); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if secure != 1 {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s: secure_delete is %d, want 1", abs, secure)
	}
	if err := s.Migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}

	s.r, err = sql.Open(driver, dsn(abs, opts, true))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s readers: %w", abs, err)
	}
	s.r.SetMaxOpenConns(opts.MaxReaders)
	s.r.SetMaxIdleConns(opts.MaxReaders)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	if err := s.r.PingContext(ctx); err != nil {
		s.r.Close()
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s readers: %w", abs, err)
	}
	if s.ck, err = openCheckpointer(ctx, driver, abs, opts); err != nil {
		s.r.Close()
		s.w.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.ck.Close()
		s.r.Close()
		s.w.Close()
		return nil, err
	}
	s.ckStop, s.ckDone = make(chan struct{}), make(chan struct{})
	go s.checkpointLoop(s.ckStop, s.ckDone)
	s.gc.wake, s.gc.done = make(chan struct{}, 1), make(chan struct{})
	go s.writeLoop()
	s.stamps = processFiles.stampsFor(real) // the connections above made the -shm file
	s.scrubKick, s.scrubStop, s.scrubDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.scrubLoop()
	// A crash between a destroying write's commit and its scrub leaves
	// the old frames in the WAL, which recovery keeps: scrub at every
	// start, and leave it to the retry if a reader is in the way.
	if s.checkpointTruncate(ctx) != nil {
		s.scrubOwed.Add(1)
	}
	opened = true
	return s, nil
}

// checkHeader fails clearly when path exists, is not empty and is not an
// SQLite database, before the driver reports a terse "file is not a
// database" from deep inside the first PRAGMA.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return nil // empty file: SQLite treats it as a new database
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	case !bytes.Equal(head[:n], sqliteHeader):
		return fmt.Errorf("sqlite: open %s: not an SQLite 3 database file", path)
	}
	return nil
}

// uriEscaper escapes the characters that would end or corrupt the path
// part of an SQLite URI.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// dsn builds the data source name for the writer or the readers. Both
// drivers accept the same underscore keys: busy_timeout first, journal_mode
// (persistent, so only the writer sets it), synchronous, foreign_keys,
// BEGIN IMMEDIATE for the writer's transactions and query_only for readers.
//
// The writer also runs secure_delete=ON, so SQLite zeroes the content it
// frees: a cleared escrowed private key or a deleted key pair does not
// linger in free pages of the database file. (Old page images stay in the
// WAL until a TRUNCATE checkpoint cuts it: scrub runs one after every
// write that destroys a private key, and Close runs one.) Its automatic
// checkpoint waits for checkpointBackstop pages: checkpoint.go copies the
// WAL beside it.
// modernc takes it as _pragma, mattn as _secure_delete; each ignores the
// other's key, and Open checks that it took.
func dsn(path string, opts Options, reader bool) string {
	ms := opts.BusyTimeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	q := "_busy_timeout=" + strconv.FormatInt(ms, 10) +
		"&_synchronous=FULL&_foreign_keys=1"
	if reader {
		q += "&_query_only=1"
	} else {
		q += "&_journal_mode=WAL&_txlock=immediate&_pragma=secure_delete(1)&_secure_delete=on" +
			"&_pragma=wal_autocheckpoint(" + strconv.Itoa(checkpointBackstop) + ")"
	}
	return "file:" + uriEscaper.Replace(path) + "?" + q
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the readers, checkpoints the write-ahead log into the
// database file (truncating it, which also completes any scrub still
// pending) and closes the writer. It is safe to call more than once;
// later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopWriting()
		close(s.scrubStop)
		<-s.scrubDone
		close(s.ckStop)
		<-s.ckDone
		var errs []error
		if err := s.ck.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close checkpointer: %w", err))
		}
		if err := s.closeStmts(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close statements: %w", err))
		}
		if err := s.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close readers: %w", err))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.w.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: optimize: %w", err))
		}
		// A reader in another process may keep the checkpoint from
		// completing; that is no failure of Close (the WAL then stays for
		// the next writer to checkpoint), only a SQL error is.
		if err := s.checkpointTruncate(ctx); err != nil && !errors.Is(err, errCheckpointBusy) {
			errs = append(errs, err)
		}
		if err := s.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close writer: %w", err))
		}
		if err := processFiles.release(s.real); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close the WAL index: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// SetBatchObserver makes f receive the size of every group commit from now
// on (nil: none), for metrics wired after the store opened.
func (s *Store) SetBatchObserver(f func(n int)) {
	if f == nil {
		s.onBatch.Store(nil)
		return
	}
	s.onBatch.Store(&f)
}
