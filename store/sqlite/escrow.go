package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// UpdateDescription sets the description of the key pair with id and its
// UpdatedAt to now (UTC, to the microsecond), or fails with ENOTFOUND.
func (s *Store) UpdateDescription(ctx context.Context, id int64, description string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE key_pairs SET description = ?, updated_at = ? WHERE id = ?`,
		description, now.UTC().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("sqlite: update description: %w", err)
	}
	return oneRow(res, id, "update description")
}

// sameEscrow reports whether a and b are the same escrowed key: both nil,
// or the same KMS key reference and blob bytes.
func sameEscrow(a, b *keypair.Escrowed) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.KeyRef == b.KeyRef && bytes.Equal(a.Blob, b.Blob)
}

// SwapEscrow replaces the escrowed private key of the key pair with id by
// next (nil clears it) and sets its UpdatedAt to now, if the stored one is
// still old (nil: none). Read, comparison and write happen in one write
// transaction. It fails with ENOTFOUND when the key pair is gone and with
// ECONFLICT when its escrow differs from old.
//
// audit, when not nil, is appended in the same transaction when the swap
// happens.
//
// Clearing sets both escrow columns to NULL; the writer's secure_delete
// zeroes the freed bytes in the database file, and scrub then empties the
// write-ahead log, which still holds the old page images. Replacing a
// sealed copy schedules the same scrub in the background.
func (s *Store) SwapEscrow(ctx context.Context, id int64, old, next *keypair.Escrowed, now time.Time, audit *keypair.AuditEntry) error {
	if err := next.Check(); err != nil {
		return fmt.Errorf("sqlite: swap escrow: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: swap escrow: begin: %w", err)
	}
	defer tx.Rollback()

	var ref sql.NullString
	var blob []byte
	err = tx.QueryRowContext(ctx, `SELECT escrow_ref, escrow_blob FROM key_pairs WHERE id = ?`, id).Scan(&ref, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("sqlite: swap escrow: read: %w", err)
	}
	var current *keypair.Escrowed
	if ref.Valid {
		current = &keypair.Escrowed{KeyRef: ref.String, Blob: blob}
	}
	if !sameEscrow(current, old) {
		return keypair.Errorf(keypair.ECONFLICT, "the escrowed private key changed meanwhile")
	}

	nextRef, nextBlob := escrowArgs(next)
	_, err = tx.ExecContext(ctx, `UPDATE key_pairs SET escrow_ref = ?, escrow_blob = ?, updated_at = ? WHERE id = ?`,
		nextRef, nextBlob, now.UTC().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("sqlite: swap escrow: write: %w", err)
	}
	var entry keypair.AuditEntry
	if audit != nil {
		if entry, err = appendAudit(ctx, tx, audit); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: swap escrow: commit: %w", err)
	}
	if audit != nil {
		committed(audit, entry)
	}
	switch {
	case next == nil:
		s.scrub(ctx)
	case current != nil:
		// A replaced sealing (a rewrap, a re-seal under another KMS key)
		// leaves the old one in the WAL, and it opens with the old key,
		// which may be the local master key beside it. It is scrubbed in
		// the background: a rewrap of every key pair then costs a few
		// checkpoints, not one for each.
		s.scrubSoon()
	}
	return nil
}

// ListEscrowed returns up to limit key pairs (all when limit <= 0) that
// hold an escrowed private key and have an ID above afterID, in ID order.
func (s *Store) ListEscrowed(ctx context.Context, afterID int64, limit int) ([]*keypair.KeyPair, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+columns+` FROM key_pairs
		WHERE escrow_blob IS NOT NULL AND id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list escrowed: %w", err)
	}
	defer rows.Close()
	kps := []*keypair.KeyPair{}
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list escrowed: %w", err)
		}
		kps = append(kps, kp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list escrowed: %w", err)
	}
	return kps, nil
}
