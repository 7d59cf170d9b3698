package sqlite

// keypair.LifecycleStore: the tables of migration 0007 beside key_pairs.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// insertDetails writes the details of the new key pair id inside tx.
func insertDetails(ctx context.Context, tx *sql.Tx, id int64, d keypair.Details) error {
	if err := writeTags(ctx, tx, id, d.Tags); err != nil {
		return err
	}
	if d.ExpiresAt != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_pair_lifecycle (key_pair_id, expires_at) VALUES (?, ?)`,
			id, d.ExpiresAt.UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: write expiry: %w", err)
		}
	}
	return nil
}

// writeTags inserts tags for the key pair id inside tx.
func writeTags(ctx context.Context, tx *sql.Tx, id int64, tags []keypair.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_pair_tags (key_pair_id, tag_key, tag_value) VALUES (?, ?, ?)`,
			id, t.Key, t.Value); err != nil {
			return fmt.Errorf("sqlite: write tags: %w", err)
		}
	}
	return nil
}

// ListDetailed implements keypair.LifecycleStore: one statement over the
// viewer's key pairs with every condition of f, then the details of the
// page.
func (s *Store) ListDetailed(ctx context.Context, v *keypair.Viewer, f keypair.Filter, after keypair.Position, limit int, now time.Time) ([]*keypair.KeyPair, error) {
	var who keypair.Viewer
	if v != nil {
		who = *v
	}
	args := []any{who.UserID, who.DomainID, after.Name, limit, f.NamePrefix, f.Algorithm, f.Fingerprint, now.UnixMicro(), after.ID}
	// id and name, unqualified, are the key pair row's in both halves of
	// visible(); the subqueries' tables have no such columns.
	cond := `(name > ?3 OR (name = ?3 AND id > ?9)) AND substr(name, 1, length(?5)) = ?5 AND (?6 = '' OR algorithm = ?6) AND (?7 = '' OR fingerprint = ?7)
		AND NOT EXISTS (SELECT 1 FROM key_pair_lifecycle WHERE key_pair_id = id AND expires_at <= ?8)`
	for _, k := range f.TagKeys {
		args = append(args, k)
		cond += ` AND EXISTS (SELECT 1 FROM key_pair_tags WHERE key_pair_id = id AND tag_key = ?` + strconv.Itoa(len(args)) + `)`
	}
	for _, t := range f.Tags {
		args = append(args, t.Key, t.Value)
		cond += ` AND EXISTS (SELECT 1 FROM key_pair_tags WHERE key_pair_id = id AND tag_key = ?` + strconv.Itoa(len(args)-1) +
			` AND tag_value = ?` + strconv.Itoa(len(args)) + `)`
	}
	query := visible(cond)
	if v == nil {
		query = `SELECT ` + columns + ` FROM key_pairs WHERE ` + cond
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY name, id LIMIT ?4`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list detailed: %w", err)
	}
	kps := []*keypair.KeyPair{}
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: list detailed: %w", err)
		}
		kps = append(kps, kp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list detailed: %w", err)
	}
	return kps, s.LoadDetails(ctx, kps)
}

// inList returns "(?, ?, …)" for the ids of kps, with the ids as args.
func inList(kps []*keypair.KeyPair) (string, []any) {
	marks := make([]string, len(kps))
	args := make([]any, len(kps))
	for i, kp := range kps {
		marks[i], args[i] = "?", kp.ID
	}
	return "(" + strings.Join(marks, ", ") + ")", args
}

// LoadDetails implements keypair.LifecycleStore with one query per table.
func (s *Store) LoadDetails(ctx context.Context, kps []*keypair.KeyPair) error {
	if len(kps) == 0 {
		return nil
	}
	byID := make(map[int64]*keypair.KeyPair, len(kps))
	for _, kp := range kps {
		kp.Details = keypair.Details{}
		byID[kp.ID] = kp
	}
	in, args := inList(kps)
	rows, err := s.r.QueryContext(ctx, `SELECT key_pair_id, tag_key, tag_value FROM key_pair_tags
		WHERE key_pair_id IN `+in+` ORDER BY key_pair_id, tag_key`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: load tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var t keypair.Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: load tags: %w", err)
		}
		byID[id].Details.Tags = append(byID[id].Details.Tags, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: load tags: %w", err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT key_pair_id, expires_at, previous_public_key, previous_fingerprint,
		previous_algorithm, previous_rotated_at FROM key_pair_lifecycle WHERE key_pair_id IN `+in, args...)
	if err != nil {
		return fmt.Errorf("sqlite: load lifecycle: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var expires, rotated sql.NullInt64
		var pub, fp, alg sql.NullString
		if err := rows.Scan(&id, &expires, &pub, &fp, &alg, &rotated); err != nil {
			return fmt.Errorf("sqlite: load lifecycle: %w", err)
		}
		d := &byID[id].Details
		if expires.Valid {
			at := time.UnixMicro(expires.Int64).UTC()
			d.ExpiresAt = &at
		}
		if rotated.Valid {
			d.Previous = &keypair.Previous{PublicKey: pub.String, Fingerprint: fp.String, Algorithm: alg.String,
				RotatedAt: time.UnixMicro(rotated.Int64).UTC()}
		}
	}
	return rows.Err()
}

// UpdateDetails implements keypair.LifecycleStore in one write transaction.
func (s *Store) UpdateDetails(ctx context.Context, id int64, u keypair.DetailsUpdate, now time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: update details: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE key_pairs SET description = coalesce(?, description), updated_at = ? WHERE id = ?`,
		u.Description, now.UTC().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("sqlite: update details: %w", err)
	}
	if err := oneRow(res, id, "update details"); err != nil {
		return err
	}
	if u.Tags != nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM key_pair_tags WHERE key_pair_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: update details: %w", err)
		}
		if err := writeTags(ctx, tx, id, *u.Tags); err != nil {
			return err
		}
	}
	if u.Expiry != nil {
		var at any
		if *u.Expiry != nil {
			at = (*u.Expiry).UnixMicro()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_pair_lifecycle (key_pair_id, expires_at) VALUES (?, ?)
			ON CONFLICT (key_pair_id) DO UPDATE SET expires_at = excluded.expires_at`, id, at); err != nil {
			return fmt.Errorf("sqlite: update details: expiry: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: update details: commit: %w", err)
	}
	return nil
}

// RotateKeyPair implements keypair.LifecycleStore. BEGIN IMMEDIATE runs
// concurrent rotations one after the other, each reading what the one
// before it wrote; a replaced escrowed copy is scrubbed.
func (s *Store) RotateKeyPair(ctx context.Context, id int64, r keypair.Rotation, audit *keypair.AuditEntry) (*keypair.Previous, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rotate: begin: %w", err)
	}
	defer tx.Rollback()
	prev := keypair.Previous{RotatedAt: r.At.UTC()}
	var escrowed bool
	err = tx.QueryRowContext(ctx, `SELECT public_key, fingerprint, algorithm, escrow_blob IS NOT NULL FROM key_pairs WHERE id = ?`, id).
		Scan(&prev.PublicKey, &prev.Fingerprint, &prev.Algorithm, &escrowed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: rotate: read: %w", err)
	}
	if escrowed != r.Escrowed {
		return nil, keypair.Errorf(keypair.ECONFLICT, "The key pair's private key in escrow changed while it was rotated; retry.")
	}
	ref, blob := escrowArgs(r.Escrow)
	if _, err := tx.ExecContext(ctx, `UPDATE key_pairs SET public_key = ?, fingerprint = ?, algorithm = ?,
		escrow_ref = ?, escrow_blob = ?, updated_at = ? WHERE id = ?`,
		r.PublicKey, r.Fingerprint, r.Algorithm, ref, blob, r.At.UTC().UnixMicro(), id); err != nil {
		return nil, fmt.Errorf("sqlite: rotate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO key_pair_lifecycle
		(key_pair_id, previous_public_key, previous_fingerprint, previous_algorithm, previous_rotated_at)
		VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key_pair_id) DO UPDATE SET previous_public_key = ?2,
		previous_fingerprint = ?3, previous_algorithm = ?4, previous_rotated_at = ?5`,
		id, prev.PublicKey, prev.Fingerprint, prev.Algorithm, prev.RotatedAt.UnixMicro()); err != nil {
		return nil, fmt.Errorf("sqlite: rotate: keep previous: %w", err)
	}
	var entry keypair.AuditEntry
	if audit != nil {
		if entry, err = appendAudit(ctx, tx, audit); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: rotate: commit: %w", err)
	}
	if audit != nil {
		committed(audit, entry)
	}
	if escrowed {
		s.scrub(ctx)
	}
	return &prev, nil
}

// DeleteExpired implements keypair.LifecycleStore: DELETE … RETURNING and
// the audit entries in one write transaction, which BEGIN IMMEDIATE makes
// the only one on the database file while it runs.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int, audit func(*keypair.KeyPair) *keypair.AuditEntry) ([]*keypair.KeyPair, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete expired: begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `DELETE FROM key_pairs WHERE id IN (SELECT key_pair_id FROM key_pair_lifecycle
		WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING `+columns, now.UTC().UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete expired: %w", err)
	}
	var gone []*keypair.KeyPair
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: delete expired: %w", err)
		}
		gone = append(gone, kp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: delete expired: %w", err)
	}
	scrub := false
	for _, kp := range gone {
		scrub = scrub || kp.Escrow != nil
		if _, err := appendAudit(ctx, tx, audit(kp)); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: delete expired: commit: %w", err)
	}
	if scrub {
		s.scrub(ctx)
	}
	return gone, nil
}

// ForgetPrevious implements keypair.LifecycleStore.
func (s *Store) ForgetPrevious(ctx context.Context, cutoff time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE key_pair_lifecycle SET previous_public_key = NULL, previous_fingerprint = NULL,
		previous_algorithm = NULL, previous_rotated_at = NULL WHERE previous_rotated_at < ?`, cutoff.UTC().UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlite: forget previous: %w", err)
	}
	return nil
}

// SearchAudit implements keypair.LifecycleStore.
func (s *Store) SearchAudit(ctx context.Context, f keypair.AuditFilter) ([]*keypair.AuditEntry, error) {
	var until any
	if !f.Until.IsZero() {
		until = f.Until.UTC().UnixMicro()
	}
	var since int64
	if !f.Since.IsZero() {
		since = f.Since.UTC().UnixMicro()
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ?1
		AND (?2 = '' OR user_id = ?2) AND (?3 = '' OR action = ?3) AND (?4 = '' OR keypair_name = ?4)
		AND time >= ?5 AND (?6 IS NULL OR time < ?6) ORDER BY seq LIMIT ?7`,
		f.AfterSeq, f.UserID, string(f.Action), f.KeyPairName, since, until, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search audit: %w", err)
	}
	defer rows.Close()
	es := []*keypair.AuditEntry{}
	for rows.Next() {
		var e keypair.AuditEntry
		var micros int64
		var action string
		if err := rows.Scan(&e.Seq, &micros, &action, &e.UserID, &e.ProjectID, &e.KeyPairID,
			&e.KeyPairUID, &e.KeyPairName, &e.RemoteAddr, &e.RequestID, &e.PrevHash, &e.Hash,
			&e.ServerID, &e.TaskID, &e.Result, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: search audit: %w", err)
		}
		e.Time = time.UnixMicro(micros).UTC()
		e.Action = keypair.AuditAction(action)
		es = append(es, &e)
	}
	return es, rows.Err()
}
