package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// checkOutcome validates the outcome FinishTask is to record and returns
// the task's id in canonical form.
func checkOutcome(t *task.Task) (string, error) {
	id, ok := task.ParseID(t.ID)
	if !ok {
		return "", taskNotFound(t.ID)
	}
	if !t.Phase.Finished() {
		return "", keypair.Errorf(keypair.EINVALID, "task %s: cannot finish as %s", t.ID, t.Phase)
	}
	return id, nil
}

// FinishTask records the outcome of t (Phase SUCCESS or FAILED, with
// ErrorCode and ErrorMessage) if it is still RUNNING under owner, and
// fails with ENOTFOUND otherwise. On SUCCESS, and when server is not nil,
// it writes server's association fields (KeyPairName, KeyPairID,
// PublicKey, PasswordDisabled) to the inventory entry of t.ServerID; audit,
// when not nil, is appended; all in one write transaction. It sets
// t.FinishedAt (now when zero).
func (s *Store) FinishTask(ctx context.Context, t *task.Task, owner string, server *task.Server, audit *keypair.AuditEntry) error {
	id, err := checkOutcome(t)
	if err != nil {
		return err
	}
	finished := t.FinishedAt
	if finished.IsZero() {
		finished = time.Now()
	}
	finished = finished.UTC().Truncate(time.Microsecond)
	var entry keypair.AuditEntry
	err = s.inWrite(ctx, "finish task", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET phase = ?, error_code = ?, error_message = ?, finished_at = ?
			WHERE id = ? AND phase = 'RUNNING' AND owner = ?`,
			string(t.Phase), task.SafeText(string(t.ErrorCode)), task.SafeText(t.ErrorMessage), finished.UnixMicro(), id, owner)
		if err != nil {
			return fmt.Errorf("sqlite: finish task: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: finish task: %w", err)
		} else if n == 0 {
			return keypair.Errorf(keypair.ENOTFOUND, "task %s is no longer running here", t.ID)
		}
		if t.Phase == task.Success && server != nil {
			_, err := tx.ExecContext(ctx, `UPDATE servers SET keypair_name = ?, keypair_id = ?, public_key = ?,
				password_disabled = ?, updated_at = ? WHERE id = (SELECT server_id FROM tasks WHERE id = ?)`,
				server.KeyPairName, server.KeyPairID, server.PublicKey, server.PasswordDisabled,
				finished.UnixMicro(), id)
			if err != nil {
				return fmt.Errorf("sqlite: finish task: server: %w", err)
			}
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return err
	}
	t.ID, t.FinishedAt = id, finished
	if audit != nil {
		committed(audit, entry)
	}
	return nil
}

// FailExpired fails, with task.FailInterrupted and message, every READY
// or RUNNING task whose lease ended before now, and every unfinished task
// of owner when owner is not empty; for each it appends the audit entry
// recording the failure (task.Task.AuditEntry), in the same write
// transaction. It returns how many tasks it failed.
func (s *Store) FailExpired(ctx context.Context, owner string, now time.Time, message string) (int, error) {
	at := now.UTC().Truncate(time.Microsecond)
	n := 0
	err := s.inWrite(ctx, "fail expired tasks", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE tasks SET phase = 'FAILED', error_code = ?, error_message = ?,
			finished_at = ? WHERE `+unfinished+` AND (lease_until < ? OR (? <> '' AND owner = ?))
			RETURNING `+taskColumns,
			string(task.FailInterrupted), message, at.UnixMicro(), at.UnixMicro(), owner, owner)
		if err != nil {
			return fmt.Errorf("sqlite: fail expired tasks: %w", err)
		}
		failed, err := scanTasks(rows)
		if err != nil {
			return fmt.Errorf("sqlite: fail expired tasks: %w", err)
		}
		// RETURNING promises no order; the audit entries follow the tasks'.
		slices.SortFunc(failed, func(a, b *task.Task) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, t := range failed {
			if _, err := appendAudit(ctx, tx, t.AuditEntry(at)); err != nil {
				return err
			}
		}
		n = len(failed)
		return nil
	})
	return n, err
}

// DeleteFailedTask removes the FAILED task id of projectID, or fails with
// ENOTFOUND (no such task, another project's, or not FAILED).
func (s *Store) DeleteFailedTask(ctx context.Context, projectID, id string) error {
	canon, ok := task.ParseID(id)
	if !ok {
		return taskNotFound(id)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM tasks WHERE id = ? AND project_id = ? AND phase = 'FAILED'`, canon, projectID)
	if err != nil {
		return fmt.Errorf("sqlite: delete failed task: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete failed task: %w", err)
	} else if n == 0 {
		return taskNotFound(id)
	}
	return nil
}

// DeleteFailedTasks removes every FAILED task of projectID and returns how
// many.
func (s *Store) DeleteFailedTasks(ctx context.Context, projectID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM tasks WHERE project_id = ? AND phase = 'FAILED'`, projectID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete failed tasks: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete failed tasks: %w", err)
	}
	return int(n), nil
}
