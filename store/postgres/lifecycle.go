package postgres

// keypair.LifecycleStore: the tables of migration 0007 beside key_pairs.
// Every transaction here that locks a key pair locks its key_pairs row
// first (as DeleteKeyPair's cascade does), and the audit chain last, so
// they cannot deadlock with each other or with the other writes.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
)

// insertDetails writes the details of the new key pair id inside tx.
func insertDetails(ctx context.Context, tx pgx.Tx, id int64, d keypair.Details) error {
	if err := writeTags(ctx, tx, id, d.Tags); err != nil {
		return err
	}
	if d.ExpiresAt != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO key_pair_lifecycle (key_pair_id, expires_at) VALUES ($1, $2)`,
			id, d.ExpiresAt.UnixMicro()); err != nil {
			return fmt.Errorf("write expiry: %w", err)
		}
	}
	return nil
}

// writeTags inserts tags for the key pair id inside tx.
func writeTags(ctx context.Context, tx pgx.Tx, id int64, tags []keypair.Tag) error {
	for _, t := range tags {
		if _, err := tx.Exec(ctx, `INSERT INTO key_pair_tags (key_pair_id, tag_key, tag_value) VALUES ($1, $2, $3)`,
			id, t.Key, t.Value); err != nil {
			return fmt.Errorf("write tags: %w", err)
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
	args := []any{who.UserID, who.DomainID, after.Name, int64(limit), f.NamePrefix, f.Algorithm, f.Fingerprint, now.UnixMicro(), after.ID}
	// id and name, unqualified, are the key pair row's in both halves of
	// visible(); the subqueries' tables have no such columns.
	cond := `(name > $3 OR (name = $3 AND id > $9::bigint)) AND starts_with(name, $5::text) AND ($6::text = '' OR algorithm = $6) AND ($7::text = '' OR fingerprint = $7)
		AND NOT EXISTS (SELECT 1 FROM key_pair_lifecycle WHERE key_pair_id = id AND expires_at <= $8)`
	for _, k := range f.TagKeys {
		args = append(args, k)
		cond += ` AND EXISTS (SELECT 1 FROM key_pair_tags WHERE key_pair_id = id AND tag_key = $` + strconv.Itoa(len(args)) + `::text)`
	}
	for _, t := range f.Tags {
		args = append(args, t.Key, t.Value)
		cond += ` AND EXISTS (SELECT 1 FROM key_pair_tags WHERE key_pair_id = id AND tag_key = $` + strconv.Itoa(len(args)-1) +
			`::text AND tag_value = $` + strconv.Itoa(len(args)) + `::text)`
	}
	if unstorable(args...) {
		return []*keypair.KeyPair{}, nil // no stored text holds NUL
	}
	query := visible(cond)
	if v == nil {
		// Every owner's: the viewer parameters are unused but typed, as
		// PostgreSQL wants every parameter to be.
		query = `SELECT ` + columns + ` FROM key_pairs WHERE $1::text IS NOT NULL AND $2::text IS NOT NULL AND ` + cond
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY name, id LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list detailed: %w", err)
	}
	kps := []*keypair.KeyPair{}
	for rows.Next() {
		kp, err := scanKeyPair(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: list detailed: %w", err)
		}
		kps = append(kps, kp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list detailed: %w", err)
	}
	return kps, s.LoadDetails(ctx, kps)
}

// LoadDetails implements keypair.LifecycleStore with one query per table.
func (s *Store) LoadDetails(ctx context.Context, kps []*keypair.KeyPair) error {
	if len(kps) == 0 {
		return nil
	}
	byID := make(map[int64]*keypair.KeyPair, len(kps))
	ids := make([]int64, len(kps))
	for i, kp := range kps {
		kp.Details = keypair.Details{}
		byID[kp.ID], ids[i] = kp, kp.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT key_pair_id, tag_key, tag_value FROM key_pair_tags
		WHERE key_pair_id = ANY($1) ORDER BY key_pair_id, tag_key`, ids)
	if err != nil {
		return fmt.Errorf("postgres: load tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var t keypair.Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: load tags: %w", err)
		}
		byID[id].Details.Tags = append(byID[id].Details.Tags, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: load tags: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT key_pair_id, expires_at, previous_public_key, previous_fingerprint,
		previous_algorithm, previous_rotated_at FROM key_pair_lifecycle WHERE key_pair_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("postgres: load lifecycle: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var expires, rotated *int64
		var pub, fp, alg *string
		if err := rows.Scan(&id, &expires, &pub, &fp, &alg, &rotated); err != nil {
			return fmt.Errorf("postgres: load lifecycle: %w", err)
		}
		d := &byID[id].Details
		if expires != nil {
			at := fromMicros(*expires)
			d.ExpiresAt = &at
		}
		if rotated != nil && pub != nil && fp != nil && alg != nil {
			d.Previous = &keypair.Previous{PublicKey: *pub, Fingerprint: *fp, Algorithm: *alg, RotatedAt: fromMicros(*rotated)}
		}
	}
	return rows.Err()
}

// UpdateDetails implements keypair.LifecycleStore in one transaction.
func (s *Store) UpdateDetails(ctx context.Context, id int64, u keypair.DetailsUpdate, now time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE key_pairs SET description = coalesce($1, description), updated_at = $2 WHERE id = $3`,
			u.Description, now.UTC().UnixMicro(), id)
		if err := oneRow(tag, err, id, "update details"); err != nil {
			return err
		}
		if u.Tags != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM key_pair_tags WHERE key_pair_id = $1`, id); err != nil {
				return err
			}
			if err := writeTags(ctx, tx, id, *u.Tags); err != nil {
				return err
			}
		}
		if u.Expiry != nil {
			var at *int64
			if *u.Expiry != nil {
				v := (*u.Expiry).UnixMicro()
				at = &v
			}
			if _, err := tx.Exec(ctx, `INSERT INTO key_pair_lifecycle (key_pair_id, expires_at) VALUES ($1, $2)
				ON CONFLICT (key_pair_id) DO UPDATE SET expires_at = excluded.expires_at`, id, at); err != nil {
				return fmt.Errorf("expiry: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return wrapKP("update details", err)
	}
	return nil
}

// RotateKeyPair implements keypair.LifecycleStore: the key pair's row is
// locked (FOR UPDATE) before it is read, so concurrent rotations run one
// after the other, each replacing what the one before it committed.
func (s *Store) RotateKeyPair(ctx context.Context, id int64, r keypair.Rotation, audit *keypair.AuditEntry) (*keypair.Previous, error) {
	prev := keypair.Previous{RotatedAt: r.At.UTC()}
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var escrowed bool
		err := tx.QueryRow(ctx, `SELECT public_key, fingerprint, algorithm, escrow_blob IS NOT NULL FROM key_pairs
			WHERE id = $1 FOR UPDATE`, id).Scan(&prev.PublicKey, &prev.Fingerprint, &prev.Algorithm, &escrowed)
		if errors.Is(err, pgx.ErrNoRows) {
			return keypair.Errorf(keypair.ENOTFOUND, "Keypair %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if escrowed != r.Escrowed {
			return keypair.Errorf(keypair.ECONFLICT, "The key pair's private key in escrow changed while it was rotated; retry.")
		}
		ref, blob := escrowArgs(r.Escrow)
		if _, err := tx.Exec(ctx, `UPDATE key_pairs SET public_key = $1, fingerprint = $2, algorithm = $3,
			escrow_ref = $4, escrow_blob = $5, updated_at = $6 WHERE id = $7`,
			r.PublicKey, r.Fingerprint, r.Algorithm, ref, blob, r.At.UTC().UnixMicro(), id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO key_pair_lifecycle
			(key_pair_id, previous_public_key, previous_fingerprint, previous_algorithm, previous_rotated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_pair_id) DO UPDATE SET previous_public_key = $2,
			previous_fingerprint = $3, previous_algorithm = $4, previous_rotated_at = $5`,
			id, prev.PublicKey, prev.Fingerprint, prev.Algorithm, prev.RotatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("keep previous: %w", err)
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return nil, wrapKP("rotate", err)
	}
	if audit != nil {
		committed(audit, entry)
	}
	return &prev, nil
}

// DeleteExpired implements keypair.LifecycleStore. It claims the expired
// key pairs' rows with FOR UPDATE SKIP LOCKED, so instances reaping at
// once take disjoint sets without waiting on each other, and deletes them
// with RETURNING in the transaction that appends their audit entries: a
// row another transaction deleted meanwhile is not returned, so no key
// pair is deleted or audited twice.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int, audit func(*keypair.KeyPair) *keypair.AuditEntry) ([]*keypair.KeyPair, error) {
	var gone []*keypair.KeyPair
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		gone = nil
		rows, err := tx.Query(ctx, `DELETE FROM key_pairs WHERE id IN (
			SELECT k.id FROM key_pairs AS k JOIN key_pair_lifecycle AS l ON l.key_pair_id = k.id
			WHERE l.expires_at <= $1 ORDER BY l.expires_at LIMIT $2 FOR UPDATE OF k SKIP LOCKED)
			RETURNING `+columns, now.UTC().UnixMicro(), int64(limit))
		if err != nil {
			return err
		}
		for rows.Next() {
			kp, err := scanKeyPair(rows)
			if err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, kp)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, kp := range gone {
			if _, err := appendAudit(ctx, tx, audit(kp)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapKP("delete expired", err)
	}
	return gone, nil
}

// ForgetPrevious implements keypair.LifecycleStore.
func (s *Store) ForgetPrevious(ctx context.Context, cutoff time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE key_pair_lifecycle SET previous_public_key = NULL, previous_fingerprint = NULL,
		previous_algorithm = NULL, previous_rotated_at = NULL WHERE previous_rotated_at < $1`, cutoff.UTC().UnixMicro())
	if err != nil {
		return fmt.Errorf("postgres: forget previous: %w", err)
	}
	return nil
}

// SearchAudit implements keypair.LifecycleStore.
func (s *Store) SearchAudit(ctx context.Context, f keypair.AuditFilter) ([]*keypair.AuditEntry, error) {
	var until *int64
	if !f.Until.IsZero() {
		v := f.Until.UTC().UnixMicro()
		until = &v
	}
	var since int64
	if !f.Since.IsZero() {
		since = f.Since.UTC().UnixMicro()
	}
	if unstorable(f.UserID, string(f.Action), f.KeyPairName) {
		return []*keypair.AuditEntry{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1
		AND ($2::text = '' OR user_id = $2) AND ($3::text = '' OR action = $3) AND ($4::text = '' OR keypair_name = $4)
		AND at >= $5 AND ($6::bigint IS NULL OR at < $6) ORDER BY seq LIMIT $7`,
		f.AfterSeq, f.UserID, string(f.Action), f.KeyPairName, since, until, int64(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: search audit: %w", err)
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
			return nil, fmt.Errorf("postgres: search audit: %w", err)
		}
		e.Time = fromMicros(micros)
		e.Action = keypair.AuditAction(action)
		es = append(es, &e)
	}
	return es, rows.Err()
}
