package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

var _ identity.SignatureLedger = (*Store)(nil)

// RecordSignature records sig until expiresAt unless it is recorded with
// an expiry not before now: one upsert on the writer, so the check and the
// record are atomic.
func (s *Store) RecordSignature(ctx context.Context, sig string, expiresAt, now time.Time) (bool, error) {
	if err := need("record signature", "signature", sig); err != nil {
		return false, err
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO aksk_signatures (signature, expires_at) VALUES (?, ?)
		ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at
		WHERE aksk_signatures.expires_at < ?`,
		sig, expiresAt.UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("sqlite: record signature: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: record signature: %w", err)
	}
	return n == 1, nil
}

// PruneSignatures deletes the signatures that expired before now.
func (s *Store) PruneSignatures(ctx context.Context, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM aksk_signatures WHERE expires_at < ?`, now.UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: prune signatures: %w", err)
	}
	return nil
}
