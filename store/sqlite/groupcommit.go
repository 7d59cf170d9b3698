package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Group commit: concurrent key pair writes (create, delete) share one
// write transaction, so one WAL fsync (synchronous=FULL) makes a whole
// batch durable instead of each request paying its own.
//
// One goroutine per Store, the committer (writeLoop), runs the batches:
// writers queue their writes and wait; it begins a transaction, runs every
// write queued by then (at most maxBatch), commits, and only then answers
// them all, so an answered write is on disk. Writes arriving while a
// commit is in flight queue for the next batch, which it begins as soon as
// it has answered this one. (A writer that led the batch itself and handed
// the lead on to a queued one left the log idle until that goroutine was
// scheduled, about 80 µs a batch under load, a fifth of the cycle.) Each
// write runs in its own SAVEPOINT: a write that fails (duplicate name,
// quota, a statement's error) is rolled back to it and fails alone. A
// write of one statement after reads (a plain create) needs none: a
// failed statement leaves nothing behind. Each
// write sees the ones before it in the batch, so quotas and name checks
// stay exact. A failure of the transaction itself (begin, a savepoint,
// commit) fails every write of the batch, none of which is then applied.
//
// Readers use their own connections and the WAL, so they never wait for
// a batch.

// maxBatch bounds how many writes one transaction carries, which bounds
// how long the last of them waits for its answer.
const maxBatch = 64

// write is one queued key pair write.
type write struct {
	ctx context.Context
	// run applies the write in tx, inside its savepoint.
	run func(ctx context.Context, tx *sql.Tx) error
	// done, when set, runs after the batch committed and before the
	// answer, for a write whose run succeeded.
	done func()
	// scrub asks for a scrub (scrub.go) after the commit, before the
	// answer: set by run when it destroyed an escrowed private key.
	scrub bool
	// single says run changes the database with one statement at most,
	// after reads only: a failure leaves nothing to undo (SQLite undoes a
	// failed statement, its triggers included, by itself), so the write
	// needs no savepoint of its own.
	single bool
	res    chan error
	err    error
}

// committer queues key pair writes for writeLoop.
type committer struct {
	mu     sync.Mutex
	queue  []*write
	taken  int           // writes of the batch being run, until they are answered
	closed bool          // set by Close: no write is queued any more
	wake   chan struct{} // a write was queued (buffered, 1)
	done   chan struct{} // closed when writeLoop has returned
}

// errClosed answers a write made after Close.
var errClosed = errors.New("sqlite: the store is closed")

// groupWrite runs fn as one write of a batch and returns its result once
// the batch is committed. done runs, on success, after the commit. single
// is write.single.
func (s *Store) groupWrite(ctx context.Context, single bool, fn func(ctx context.Context, tx *sql.Tx, w *write) error, done func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, done: done, single: single, res: make(chan error, 1)}
	w.run = func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx, w) }
	c := &s.gc
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, w)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // already woken; it takes the whole queue
	}
	return <-w.res
}

// writeLoop runs the queued writes in batches until Close, then the
// writes still queued, and returns.
func (s *Store) writeLoop() {
	c := &s.gc
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			n := min(len(c.queue), maxBatch)
			c.taken = n
			if n == 0 {
				closed := c.closed
				c.mu.Unlock()
				if closed {
					return
				}
				break
			}
			batch := append([]*write(nil), c.queue[:n]...)
			rest := copy(c.queue, c.queue[n:])
			clear(c.queue[rest:]) // answered writes are not kept reachable
			c.queue = c.queue[:rest]
			c.mu.Unlock()

			s.runBatch(batch)
			c.mu.Lock()
			c.taken = 0
			c.mu.Unlock()
			for _, w := range batch {
				w.res <- w.err
			}
		}
	}
}

// stopWriting makes later writes fail with errClosed and returns once the
// queued ones are answered and writeLoop has returned.
func (s *Store) stopWriting() {
	c := &s.gc
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

// runBatch applies batch in one write transaction, setting each write's
// err, and runs the done and scrub of those that succeeded once it has
// committed.
func (s *Store) runBatch(batch []*write) {
	// The transaction outlives any one request: a cancelled request must
	// not interrupt a statement, which would roll back the whole batch.
	ctx := context.Background()
	fail := func(err error) {
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock now
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	defer tx.Rollback()
	// A batch of one needs no savepoint: if it fails, nothing commits.
	alone := len(batch) == 1
	var w *write
	step := func(st *sql.Stmt, what string) bool {
		if alone || w.single {
			return true
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx); err != nil {
			fail(fmt.Errorf("%s: %w", what, err))
			return false
		}
		return true
	}
	ran := 0
	for _, w = range batch {
		if w.err = w.ctx.Err(); w.err != nil {
			continue // given up on before its turn: not applied
		}
		if !step(s.st.wSavepoint, "savepoint") {
			return
		}
		w.err = runOne(w, tx)
		if w.err != nil && w.single && !alone && mayEndTransaction(w.err) {
			fail(w.err) // the writes before it may be undone, those after it unapplied
			return
		}
		if w.err != nil {
			if !step(s.st.wRollbackTo, "rollback to savepoint") {
				return
			}
		} else {
			ran++
		}
		if !step(s.st.wRelease, "release savepoint") {
			return
		}
	}
	if ran == 0 {
		return // nothing to commit; the deferred Rollback ends it
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	if f := s.onBatch.Load(); f != nil {
		(*f)(ran)
	}
	scrub := false
	for _, w := range batch {
		if w.err == nil {
			if w.done != nil {
				w.done()
			}
			scrub = scrub || w.scrub
		}
	}
	if scrub {
		s.scrub(ctx)
	}
}

// mayEndTransaction says whether SQLite may have rolled the whole
// transaction back on err, as it may on a full disk, an I/O error or no
// memory, after which a batch's later statements would each commit on
// their own. A write's own refusal (a domain error) or a constraint's
// undoes its statement only. With a savepoint, the failed ROLLBACK TO
// shows it; a write without one (write.single) has nothing to show it.
func mayEndTransaction(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT
}

// runOne runs w in tx. A panic in it becomes its error: it runs on the
// committer's goroutine, whose death would end the process (no handler's
// recover is above it) and leave every writer waiting.
func runOne(w *write, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a batched write: %v", p)
		}
	}()
	return w.run(context.WithoutCancel(w.ctx), tx)
}
