package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
)

// auditColumns lists audit_log columns in the order ListAudit reads them.
const auditColumns = `seq, at, action, user_id, project_id, keypair_id, keypair_uid, keypair_name,
	remote_addr, request_id, prev_hash, hash`

// AppendAudit adds e to the audit log in one transaction: it takes the
// audit chain's transaction-level advisory lock (so appends from every
// Store on the database run one at a time), reads the last entry's seq and
// hash (0 and 32 zero bytes when the log is empty), and inserts e with Seq
// one more, PrevHash that hash and Hash e.ComputeHash(PrevHash), which it
// sets on e once committed. The lock is held until commit, and at READ
// COMMITTED the next holder reads this entry, so the chain has no gaps or
// forks; the schema's triggers refuse any other insert, and every update,
// delete or truncate.
func (s *Store) AppendAudit(ctx context.Context, e *keypair.AuditEntry) error {
	if e == nil {
		return errors.New("postgres: append audit: nil entry")
	}
	entry := *e
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockAudit); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var last int64
		prev := make([]byte, 32)
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read last: %w", err)
		}
		entry.Seq = last + 1
		entry.PrevHash = prev
		entry.Hash = entry.ComputeHash(prev)
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			entry.Seq, entry.Time.UTC().UnixMicro(), string(entry.Action), entry.UserID, entry.ProjectID,
			entry.KeyPairID, entry.KeyPairUID, entry.KeyPairName, entry.RemoteAddr, entry.RequestID,
			entry.PrevHash, entry.Hash)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	e.Seq, e.PrevHash, e.Hash = entry.Seq, entry.PrevHash, entry.Hash
	return nil
}

// ListAudit returns up to limit entries (all when limit <= 0) with a seq
// above afterSeq, in seq order, times in UTC.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*keypair.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	defer rows.Close()
	es := []*keypair.AuditEntry{}
	for rows.Next() {
		var e keypair.AuditEntry
		var micros int64
		var action string
		if err := rows.Scan(&e.Seq, &micros, &action, &e.UserID, &e.ProjectID, &e.KeyPairID,
			&e.KeyPairUID, &e.KeyPairName, &e.RemoteAddr, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("postgres: list audit: %w", err)
		}
		e.Time = fromMicros(micros)
		e.Action = keypair.AuditAction(action)
		es = append(es, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	return es, nil
}
