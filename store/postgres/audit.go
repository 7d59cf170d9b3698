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
	remote_addr, request_id, prev_hash, hash, server_id, task_id, result, detail`

// AppendAudit adds e to the audit log in a transaction of its own; see
// appendAudit. It sets e.Seq, e.PrevHash and e.Hash once committed.
func (s *Store) AppendAudit(ctx context.Context, e *keypair.AuditEntry) error {
	if e == nil {
		return errors.New("postgres: append audit: nil entry")
	}
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		entry, err = appendAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return wrapKP("append audit", err)
	}
	committed(e, entry)
	return nil
}

// appendAudit inserts a copy of e into the audit log inside tx and returns
// the copy as inserted. It takes the audit chain's transaction-level
// advisory lock (so appends from every Store on the database, in this
// process or another instance, run one at a time), reads the last entry's
// seq and hash (0 and 32 zero bytes when the log is empty), and gives the
// copy Seq one more, PrevHash that hash and Hash e.ComputeHash(PrevHash).
// The lock is held until tx ends, and at READ COMMITTED the next holder's
// read sees this entry, so the chain has no gaps or forks; the schema's
// triggers refuse any other insert, and every update, delete or truncate.
//
// Callers that also change key pairs call it last in their transaction:
// the audit lock is then the last lock taken, after any row or owner
// lock, which rules out deadlocks and keeps the time appends wait on one
// another short. e itself is changed only once the caller commits
// (committed).
func appendAudit(ctx context.Context, tx pgx.Tx, e *keypair.AuditEntry) (keypair.AuditEntry, error) {
	entry := *e
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockAudit); err != nil {
		return entry, fmt.Errorf("append audit: lock: %w", err)
	}
	var last int64
	prev := make([]byte, 32)
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return entry, fmt.Errorf("append audit: read last: %w", err)
	}
	entry.Seq = last + 1
	entry.PrevHash = prev
	entry.Hash = entry.ComputeHash(prev)
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		entry.Seq, entry.Time.UTC().UnixMicro(), string(entry.Action), entry.UserID, entry.ProjectID,
		entry.KeyPairID, entry.KeyPairUID, entry.KeyPairName, entry.RemoteAddr, entry.RequestID,
		entry.PrevHash, entry.Hash, entry.ServerID, entry.TaskID, entry.Result, entry.Detail)
	if err != nil {
		return entry, fmt.Errorf("append audit: insert: %w", err)
	}
	return entry, nil
}

// committed copies onto e what appendAudit assigned to its inserted copy.
func committed(e *keypair.AuditEntry, inserted keypair.AuditEntry) {
	e.Seq, e.PrevHash, e.Hash, e.KeyPairID = inserted.Seq, inserted.PrevHash, inserted.Hash, inserted.KeyPairID
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
	es, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	return es, nil
}

// scanAudit reads every row of a query selecting auditColumns.
func scanAudit(rows pgx.Rows) ([]*keypair.AuditEntry, error) {
	es := []*keypair.AuditEntry{}
	for rows.Next() {
		var e keypair.AuditEntry
		var micros int64
		var action string
		if err := rows.Scan(&e.Seq, &micros, &action, &e.UserID, &e.ProjectID, &e.KeyPairID,
			&e.KeyPairUID, &e.KeyPairName, &e.RemoteAddr, &e.RequestID, &e.PrevHash, &e.Hash,
			&e.ServerID, &e.TaskID, &e.Result, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = fromMicros(micros)
		e.Action = keypair.AuditAction(action)
		es = append(es, &e)
	}
	return es, rows.Err()
}
