package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// auditColumns lists audit_log columns in the order scanAudit reads them.
const auditColumns = `seq, time, action, user_id, project_id, keypair_id, keypair_uid, keypair_name,
	remote_addr, request_id, prev_hash, hash, server_id, task_id, result, detail`

// AppendAudit adds e to the audit log in a write transaction of its own;
// see appendAudit. It sets e.Seq, e.PrevHash and e.Hash once committed.
func (s *Store) AppendAudit(ctx context.Context, e *keypair.AuditEntry) error {
	if e == nil {
		return errors.New("sqlite: append audit: nil entry")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: append audit: begin: %w", err)
	}
	defer tx.Rollback()
	entry, err := appendAudit(ctx, tx, e)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: append audit: commit: %w", err)
	}
	committed(e, entry)
	return nil
}

// appendAudit inserts a copy of e into the audit log inside tx, a write
// transaction, and returns the copy as inserted: it reads the last
// entry's seq and hash (0 and 32 zero bytes when the log is empty) and
// gives the copy Seq one more, PrevHash that hash and Hash
// e.ComputeHash(PrevHash). The single writer and BEGIN IMMEDIATE
// serialise write transactions, in this process and others, so the chain
// has no gaps or forks; the schema's triggers refuse any other insert,
// and every update or delete. e itself is changed only once the caller
// commits (committed), so a rolled-back entry leaves no trace on it.
func appendAudit(ctx context.Context, tx *sql.Tx, e *keypair.AuditEntry) (keypair.AuditEntry, error) {
	var last int64
	prev := make([]byte, 32)
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return keypair.AuditEntry{}, fmt.Errorf("sqlite: append audit: read last: %w", err)
	}
	entry := *e
	entry.Seq = last + 1
	entry.PrevHash = prev
	entry.Hash = entry.ComputeHash(prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		entry.Seq, entry.Time.UTC().UnixMicro(), string(entry.Action), entry.UserID, entry.ProjectID,
		entry.KeyPairID, entry.KeyPairUID, entry.KeyPairName, entry.RemoteAddr, entry.RequestID,
		entry.PrevHash, entry.Hash, entry.ServerID, entry.TaskID, entry.Result, entry.Detail)
	if err != nil {
		return keypair.AuditEntry{}, fmt.Errorf("sqlite: append audit: insert: %w", err)
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
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	defer rows.Close()
	es, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	return es, nil
}

// scanAudit reads every row of a query selecting auditColumns.
func scanAudit(rows *sql.Rows) ([]*keypair.AuditEntry, error) {
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
		e.Time = time.UnixMicro(micros).UTC()
		e.Action = keypair.AuditAction(action)
		es = append(es, &e)
	}
	return es, rows.Err()
}
