package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints off the write path. SQLite's automatic checkpoint runs on
// the connection that commits, inside its commit: with the default of
// 1,000 pages, one write in a few hundred paid for copying the WAL into the
// database file and an fsync of it, several milliseconds during which no
// other write could commit (the p99 of an import under load). A PASSIVE
// checkpoint on a connection of its own runs beside the writer instead:
// it takes the checkpoint lock, not the write lock, so commits go on, and
// it never waits for readers (it copies what no reader still needs, and
// the next round the rest). The writer keeps an automatic checkpoint at
// checkpointBackstop pages, reached only if this one falls behind, so the
// WAL stays bounded. Scrubs (scrub.go) still TRUNCATE on the writer.

// checkpointEvery is how often the checkpointer copies the WAL's new
// frames into the database file.
const checkpointEvery = 50 * time.Millisecond

// checkpointBackstop is the writer's own automatic checkpoint, in pages
// (4 KiB each: a WAL of about 40 MB).
const checkpointBackstop = 10_000

// openCheckpointer opens the one connection checkpointLoop uses.
func openCheckpointer(ctx context.Context, driver, path string, opts Options) (*sql.DB, error) {
	db, err := sql.Open(driver, dsn(path, opts, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s checkpointer: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s checkpointer: %w", path, err)
	}
	return db, nil
}

// checkpointLoop runs a PASSIVE checkpoint every checkpointEvery until
// stop is closed, then closes done. A failed round (a scrub's TRUNCATE
// holding the checkpoint lock past the busy timeout) is simply the next
// round's work.
func (s *Store) checkpointLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var busy, log, copied int
			// Not beside a scrub's TRUNCATE checkpoint: SQLite refuses a
			// second checkpoint at once rather than wait for the first.
			s.ckMu.Lock()
			_ = s.ck.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &copied)
			s.ckMu.Unlock()
			cancel()
		}
	}
}
