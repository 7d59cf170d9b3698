package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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
// PublicKey, PasswordDisabled) to the inventory entry of t's server;
// audit, when not nil, is appended last; all in one transaction. It sets
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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var serverID string
		err := tx.QueryRow(ctx, `UPDATE tasks SET phase = $1, error_code = $2, error_message = $3, finished_at = $4
			WHERE id = $5::text::uuid AND phase = 'RUNNING' AND owner = $6 RETURNING server_id`,
			string(t.Phase), task.SafeText(string(t.ErrorCode)), task.SafeText(t.ErrorMessage), finished.UnixMicro(), id, owner).Scan(&serverID)
		if errors.Is(err, pgx.ErrNoRows) {
			return keypair.Errorf(keypair.ENOTFOUND, "task %s is no longer running here", t.ID)
		}
		if err != nil {
			return err
		}
		if t.Phase == task.Success && server != nil {
			if unstorable(server.KeyPairName, server.PublicKey) {
				return keypair.Errorf(keypair.EINVALID, "server %s: association holds NUL or invalid UTF-8", serverID)
			}
			_, err := tx.Exec(ctx, `UPDATE servers SET keypair_name = $1, keypair_id = $2, public_key = $3,
				password_disabled = $4, updated_at = $5 WHERE id = $6`,
				server.KeyPairName, server.KeyPairID, server.PublicKey, server.PasswordDisabled,
				finished.UnixMicro(), serverID)
			if err != nil {
				return err
			}
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return wrapKP("finish task", err)
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
// recording the failure (task.Task.AuditEntry), in the same transaction.
// It locks the tasks in Seq order, skipping those another transaction
// holds (a claim or finish under way, or another instance failing them
// now), so concurrent calls neither deadlock nor fail a task twice. It
// returns how many tasks it failed.
func (s *Store) FailExpired(ctx context.Context, owner string, now time.Time, message string) (int, error) {
	if unstorable(owner, message) {
		return 0, keypair.Errorf(keypair.EINVALID, "fail expired tasks: owner or message holds NUL or invalid UTF-8")
	}
	at := now.UTC().Truncate(time.Microsecond)
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH picked AS (
				SELECT id AS fail_id FROM tasks WHERE `+unfinished+` AND (lease_until < $3 OR ($4::text <> '' AND owner = $4))
				ORDER BY seq FOR UPDATE SKIP LOCKED)
			UPDATE tasks SET phase = 'FAILED', error_code = $1, error_message = $2, finished_at = $3
			FROM picked WHERE id = picked.fail_id RETURNING `+taskColumns,
			string(task.FailInterrupted), message, at.UnixMicro(), owner)
		if err != nil {
			return err
		}
		failed, err := scanTasks(rows)
		if err != nil {
			return err
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
	if err != nil {
		return 0, wrapKP("fail expired tasks", err)
	}
	return n, nil
}

// DeleteFailedTask removes the FAILED task id of projectID, or fails with
// ENOTFOUND (no such task, another project's, or not FAILED).
func (s *Store) DeleteFailedTask(ctx context.Context, projectID, id string) error {
	canon, ok := task.ParseID(id)
	if !ok || unstorable(projectID) {
		return taskNotFound(id)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks WHERE id = $1::text::uuid AND project_id = $2 AND phase = 'FAILED'`, canon, projectID)
	if err != nil {
		return fmt.Errorf("postgres: delete failed task: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return taskNotFound(id)
	}
	return nil
}

// DeleteFailedTasks removes every FAILED task of projectID and returns how
// many.
func (s *Store) DeleteFailedTasks(ctx context.Context, projectID string) (int, error) {
	if unstorable(projectID) {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks WHERE project_id = $1 AND phase = 'FAILED'`, projectID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete failed tasks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
