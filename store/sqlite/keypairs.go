package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// Store implements the domain's storage interface.
var _ keypair.Store = (*Store)(nil)

// columns lists key_pairs columns in the order scanKeyPair reads them.
const columns = `id, user_id, project_id, name, type, public_key, fingerprint, created_at`

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanKeyPair reads one row selected with columns.
func scanKeyPair(r rowScanner) (*keypair.KeyPair, error) {
	var kp keypair.KeyPair
	var typ string
	var micros int64
	if err := r.Scan(&kp.ID, &kp.UserID, &kp.ProjectID, &kp.Name, &typ,
		&kp.PublicKey, &kp.Fingerprint, &micros); err != nil {
		return nil, err
	}
	kp.Type = keypair.Type(typ)
	kp.CreatedAt = time.UnixMicro(micros).UTC()
	return &kp, nil
}

// CreateKeyPair inserts kp in one write transaction: it counts the owner's
// key pairs and fails with EQUOTA when there are quota or more, then inserts
// and fails with ECONFLICT when the owner already has that name. On success
// it sets kp.ID and kp.CreatedAt (UTC, to the microsecond).
func (s *Store) CreateKeyPair(ctx context.Context, kp *keypair.KeyPair, quota int) error {
	if kp == nil {
		return errors.New("sqlite: create key pair: nil key pair")
	}
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock now
	if err != nil {
		return fmt.Errorf("sqlite: create key pair: begin: %w", err)
	}
	defer tx.Rollback()

	var n int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM key_pairs WHERE user_id = ?`, kp.UserID).Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlite: create key pair: count: %w", err)
	}
	if n >= quota {
		return keypair.QuotaExceeded()
	}

	created := time.Now().UTC().Truncate(time.Microsecond)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO key_pairs
		(user_id, project_id, name, type, public_key, fingerprint, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, name) DO NOTHING
		RETURNING id`,
		kp.UserID, kp.ProjectID, kp.Name, string(kp.Type), kp.PublicKey, kp.Fingerprint,
		created.UnixMicro()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return keypair.Conflict(kp.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create key pair: insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create key pair: commit: %w", err)
	}
	kp.ID = id
	kp.CreatedAt = created
	return nil
}

// GetKeyPair returns the owner's key pair called name, or ENOTFOUND.
func (s *Store) GetKeyPair(ctx context.Context, userID, name string) (*keypair.KeyPair, error) {
	row := s.r.QueryRowContext(ctx,
		`SELECT `+columns+` FROM key_pairs WHERE user_id = ? AND name = ?`, userID, name)
	kp, err := scanKeyPair(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, keypair.NotFound(name, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get key pair: %w", err)
	}
	return kp, nil
}

// ListKeyPairs returns the owner's key pairs in byte order of name, those
// after page.Marker when it is set (EINVALID when the owner has no key pair
// of that name), at most page.Limit of them when Limit > 0.
//
// With a marker it runs one statement, name >= marker, and checks that the
// first row is the marker itself, so the check and the page come from the
// same snapshot.
func (s *Store) ListKeyPairs(ctx context.Context, userID string, page keypair.Page) ([]*keypair.KeyPair, error) {
	limit := int64(-1) // SQLite: a negative LIMIT means no limit
	if page.Limit > 0 {
		limit = int64(page.Limit)
	}
	var rows *sql.Rows
	var err error
	if page.Marker == "" {
		rows, err = s.r.QueryContext(ctx, `SELECT `+columns+` FROM key_pairs
			WHERE user_id = ? ORDER BY name LIMIT ?`, userID, limit)
	} else {
		if limit > 0 && limit < math.MaxInt64 {
			limit++ // room for the marker row
		}
		rows, err = s.r.QueryContext(ctx, `SELECT `+columns+` FROM key_pairs
			WHERE user_id = ? AND name >= ? ORDER BY name LIMIT ?`, userID, page.Marker, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
	}
	defer rows.Close()

	kps := []*keypair.KeyPair{}
	first := true
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
		}
		if first && page.Marker != "" {
			first = false
			if kp.Name != page.Marker {
				return nil, keypair.MarkerNotFound(page.Marker)
			}
			continue
		}
		kps = append(kps, kp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list key pairs: %w", err)
	}
	if first && page.Marker != "" {
		return nil, keypair.MarkerNotFound(page.Marker) // no row >= marker
	}
	return kps, nil
}

// CountKeyPairs returns how many key pairs the owner has.
func (s *Store) CountKeyPairs(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM key_pairs WHERE user_id = ?`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count key pairs: %w", err)
	}
	return n, nil
}

// DeleteKeyPair removes the owner's key pair called name, or ENOTFOUND.
func (s *Store) DeleteKeyPair(ctx context.Context, userID, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM key_pairs WHERE user_id = ? AND name = ?`, userID, name)
	if err != nil {
		return fmt.Errorf("sqlite: delete key pair: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: delete key pair: %w", err)
	}
	if n == 0 {
		return keypair.NotFound(name, userID)
	}
	return nil
}
