package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

var _ identity.SignatureLedger = (*Store)(nil)

// RecordSignature records sig until expiresAt unless it is recorded with
// an expiry not before now. It is one INSERT … ON CONFLICT: of two
// instances racing with one signature, the second waits for the first's
// row and then finds it, so exactly one reports true.
func (s *Store) RecordSignature(ctx context.Context, sig string, expiresAt, now time.Time) (bool, error) {
	if err := need("record signature", "signature", sig); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO aksk_signatures (signature, expires_at) VALUES ($1, $2)
		ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at
		WHERE aksk_signatures.expires_at < $3`,
		sig, expiresAt.UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("postgres: record signature: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneSignatures deletes the signatures that expired before now.
func (s *Store) PruneSignatures(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM aksk_signatures WHERE expires_at < $1`, now.UnixMicro()); err != nil {
		return fmt.Errorf("postgres: prune signatures: %w", err)
	}
	return nil
}
