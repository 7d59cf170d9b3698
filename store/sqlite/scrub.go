package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Scrubbing a destroyed private key out of the database's files.
//
// When a write destroys a sealed private key (a clear, or the delete of a
// key pair that held one), secure_delete zeroes the freed bytes in the
// pages the write produces, but the write-ahead log still holds the older
// images of those pages, sealed key included, and any attacker with the
// data directory holds kms-local/master-*.key too, which opens it. Only a
// checkpoint in TRUNCATE mode fixes that: it copies the newest (zeroed)
// page images into the database file and cuts the WAL to zero bytes, so no
// file in the data directory keeps an old frame. A PASSIVE checkpoint, the
// kind SQLite runs on its own, is not enough: it leaves the WAL file at its
// size and the old frames in it until later writes happen to overwrite
// them.
//
// Per-key data keys would not help here: the wrapped data key lives in the
// same blob, in the same pages, so destroying it leaves the same traces.
//
// A TRUNCATE checkpoint has to wait for readers still using the WAL (a
// reader that began before the write sees the old pages until it ends).
// SQLite calls the busy handler while it waits, that is up to BusyTimeout;
// readers that begin after a complete backfill read the database file
// directly, so a steady stream of short reads does not starve it. Should it
// still not complete (a long read in another process), the write is not
// undone (it is committed, with its audit entry) and its caller is told of
// success; the store keeps retrying in the background until a checkpoint
// completes, and Close checkpoints too. A crash between the commit and the
// checkpoint leaves the old frames in the WAL, and recovery keeps them, so
// Open checkpoints as well. What no file system call can
// promise is that the freed disk blocks of the truncated WAL are erased on
// the device: that takes full-disk encryption (docs/scaling.md).

// scrubAttempts is how many TRUNCATE checkpoints a destroying write tries
// before it leaves the rest to the background retry; each waits up to
// BusyTimeout for readers.
const scrubAttempts = 3

// scrubRetry is how often the background retry tries again.
const scrubRetry = time.Second

// scrub empties the write-ahead log after a write that destroyed a sealed
// private key, or leaves that to the background retry when readers keep
// it from completing.
func (s *Store) scrub(ctx context.Context) {
	// The write is committed: finish the scrub even if the request that
	// made it is cancelled meanwhile.
	ctx = context.WithoutCancel(ctx)
	for range scrubAttempts {
		if err := s.checkpointTruncate(ctx); err == nil {
			return
		}
	}
	s.scrubSoon()
}

// scrubSoon leaves a scrub to the background loop, which runs it at once
// unless one is already due, so that many writes share one checkpoint.
func (s *Store) scrubSoon() {
	s.scrubOwed.Add(1)
	select {
	case s.scrubKick <- struct{}{}:
	default: // a retry is already due
	}
}

// errCheckpointBusy is a TRUNCATE checkpoint that readers or another
// process's writer kept from completing.
var errCheckpointBusy = errors.New("sqlite: checkpoint: readers kept it from completing")

// checkpointTruncate runs one TRUNCATE checkpoint on the writer and
// reports whether it completed: the WAL is then empty.
func (s *Store) checkpointTruncate(ctx context.Context) error {
	s.ckMu.Lock() // not beside checkpointLoop's PASSIVE one
	defer s.ckMu.Unlock()
	var busy, log, done int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("%w (%d of %d frames copied)", errCheckpointBusy, done, log)
	}
	return nil
}

// scrubLoop retries a scrub that did not complete, every scrubRetry, until
// one does; it ends when the store closes.
func (s *Store) scrubLoop() {
	defer close(s.scrubDone)
	tick := time.NewTicker(scrubRetry)
	defer tick.Stop()
	for {
		select {
		case <-s.scrubStop:
			return
		case <-s.scrubKick:
		case <-tick.C:
		}
		// A checkpoint that completes pays what was owed when it began; a
		// scrub failing meanwhile owes one more, so it is not forgotten.
		owed := s.scrubOwed.Load()
		if owed == s.scrubPaid.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if s.checkpointTruncate(ctx) == nil {
			s.scrubPaid.Store(owed)
		}
		cancel()
	}
}

// ScrubPending reports whether a destroyed private key may still be in
// the write-ahead log because no TRUNCATE checkpoint has completed since;
// the store is retrying.
func (s *Store) ScrubPending() bool { return s.scrubOwed.Load() != s.scrubPaid.Load() }
