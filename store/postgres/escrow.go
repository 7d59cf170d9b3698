package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
)

// UpdateDescription sets the description of the key pair with id and its
// UpdatedAt to now (UTC, to the microsecond), or fails with ENOTFOUND.
func (s *Store) UpdateDescription(ctx context.Context, id int64, description string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE key_pairs SET description = $1, updated_at = $2 WHERE id = $3`,
		description, now.UTC().UnixMicro(), id)
	return oneRow(tag, err, id, "update description")
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
// still old (nil: none). It reads the row FOR UPDATE, compares and writes
// in one transaction, so concurrent swaps of one key pair run one after
// the other and the later sees the earlier's result. It fails with
// ENOTFOUND when the key pair is gone and with ECONFLICT when its escrow
// differs from old. audit, when not nil, is appended last in the same
// transaction when the swap happens.
//
// Clearing sets both escrow columns to NULL. PostgreSQL's MVCC keeps the
// old row version, sealed key included, in the table's pages (and the WAL)
// until VACUUM reclaims it and the space is reused: unlike the SQLite
// engine's secure_delete, the bytes are not zeroed at once.
func (s *Store) SwapEscrow(ctx context.Context, id int64, old, next *keypair.Escrowed, now time.Time, audit *keypair.AuditEntry) error {
	if err := next.Check(); err != nil {
		return fmt.Errorf("postgres: swap escrow: %w", err)
	}
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var ref *string
		var blob []byte
		err := tx.QueryRow(ctx, `SELECT escrow_ref, escrow_blob FROM key_pairs WHERE id = $1 FOR UPDATE`, id).Scan(&ref, &blob)
		if errors.Is(err, pgx.ErrNoRows) {
			return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		var current *keypair.Escrowed
		if ref != nil {
			current = &keypair.Escrowed{KeyRef: *ref, Blob: blob}
		}
		if !sameEscrow(current, old) {
			return keypair.Errorf(keypair.ECONFLICT, "the escrowed private key changed meanwhile")
		}
		nextRef, nextBlob := escrowArgs(next)
		_, err = tx.Exec(ctx, `UPDATE key_pairs SET escrow_ref = $1, escrow_blob = $2, updated_at = $3 WHERE id = $4`,
			nextRef, nextBlob, now.UTC().UnixMicro(), id)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return wrapKP("swap escrow", err)
	}
	if audit != nil {
		committed(audit, entry)
	}
	return nil
}

// limitArg returns a LIMIT argument: NULL (no limit) when limit <= 0.
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

// ListEscrowed returns up to limit key pairs (all when limit <= 0) that
// hold an escrowed private key and have an ID above afterID, in ID order.
func (s *Store) ListEscrowed(ctx context.Context, afterID int64, limit int) ([]*keypair.KeyPair, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM key_pairs
		WHERE escrow_blob IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`, afterID, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list escrowed: %w", err)
	}
	defer rows.Close()
	kps := []*keypair.KeyPair{}
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list escrowed: %w", err)
		}
		kps = append(kps, kp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list escrowed: %w", err)
	}
	return kps, nil
}
