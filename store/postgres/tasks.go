package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// taskColumns lists tasks columns in the order scanTask reads them.
const taskColumns = `seq, id::text, project_id, user_id, server_id, server_name, keypair_name, keypair_id,
	public_key, operation, phase, disable_password, port, owner, lease_until, error_code, error_message,
	created_at, started_at, finished_at`

// unfinished is the SQL condition of a task that is READY or RUNNING.
const unfinished = `phase IN ('READY', 'RUNNING')`

// scanTask reads one row selected with taskColumns.
func scanTask(r rowScanner) (*task.Task, error) {
	var t task.Task
	var op, phase, code string
	var lease, created, started, finished int64
	if err := r.Scan(&t.Seq, &t.ID, &t.ProjectID, &t.UserID, &t.ServerID, &t.ServerName, &t.KeyPairName,
		&t.KeyPairID, &t.PublicKey, &op, &phase, &t.DisablePassword, &t.Port, &t.Owner, &lease, &code,
		&t.ErrorMessage, &created, &started, &finished); err != nil {
		return nil, err
	}
	t.Operation, t.Phase, t.ErrorCode = task.Operation(op), task.Phase(phase), task.FailureCode(code)
	t.LeaseUntil, t.CreatedAt, t.StartedAt, t.FinishedAt = optTime(lease), optTime(created), optTime(started), optTime(finished)
	return &t, nil
}

// scanTasks reads every row of rows selected with taskColumns.
func scanTasks(rows pgx.Rows) ([]*task.Task, error) {
	defer rows.Close()
	out := []*task.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// taskNotFound reports that there is no task id (for that caller).
func taskNotFound(id string) *keypair.Error {
	return keypair.Errorf(keypair.ENOTFOUND, "task %s not found", id)
}

// CreateTask inserts t as READY with the next Seq, in one transaction
// with audit (when not nil). It locks the server's inventory row first
// (ENOTFOUND when there is none), so a server's tasks are created, and
// take their Seq, one at a time and RemoveServer cannot slip in between.
// t.ID must be a UUID (EINVALID otherwise; stored canonical), ECONFLICT
// when it is taken. It sets t.Seq, t.Phase and, when zero, t.CreatedAt.
func (s *Store) CreateTask(ctx context.Context, t *task.Task, audit *keypair.AuditEntry) error {
	if err := t.CheckNew(); err != nil {
		return err
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	created = created.UTC().Truncate(time.Microsecond)
	var seq int64
	var entry keypair.AuditEntry
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM servers WHERE id = $1 FOR UPDATE`, t.ServerID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return serverNotFound(t.ServerID)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO tasks (id, project_id, user_id, server_id, server_name,
			keypair_name, keypair_id, public_key, operation, phase, disable_password, port, owner, lease_until,
			created_at) VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7, $8, $9, 'READY', $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO NOTHING RETURNING seq`,
			t.ID, t.ProjectID, t.UserID, t.ServerID, t.ServerName, t.KeyPairName, t.KeyPairID, t.PublicKey,
			string(t.Operation), t.DisablePassword, t.Port, t.Owner, optMicros(t.LeaseUntil),
			created.UnixMicro()).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return keypair.Errorf(keypair.ECONFLICT, "task %s already exists", t.ID)
		}
		if err != nil {
			return err
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return wrapKP("create task", err)
	}
	t.Seq, t.Phase, t.CreatedAt = seq, task.Ready, created
	if audit != nil {
		committed(audit, entry)
	}
	return nil
}

// GetTask returns the task with id (any case of a UUID), or ENOTFOUND.
func (s *Store) GetTask(ctx context.Context, id string) (*task.Task, error) {
	canon, ok := task.ParseID(id)
	if !ok {
		return nil, taskNotFound(id)
	}
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1::text::uuid`, canon))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taskNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get task: %w", err)
	}
	return t, nil
}

// phaseStrings returns phases as strings, checked against the domain's.
func phaseStrings(phases []task.Phase) ([]string, error) {
	if len(phases) == 0 {
		return nil, errors.New("no phases")
	}
	out := make([]string, len(phases))
	for i, p := range phases {
		switch p {
		case task.Ready, task.Running, task.Success, task.Failed:
			out[i] = string(p)
		default:
			return nil, fmt.Errorf("unknown phase %q", p)
		}
	}
	return out, nil
}

// ListTasks returns projectID's tasks in phases ordered by Seq, after
// offset and at most limit of them (all when limit <= 0), and how many
// there are in all; count and page come from one snapshot.
func (s *Store) ListTasks(ctx context.Context, projectID string, phases []task.Phase, offset, limit int) ([]*task.Task, int, error) {
	in, err := phaseStrings(phases)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list tasks: %w", err)
	}
	if unstorable(projectID) {
		return []*task.Task{}, 0, nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list tasks: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var total int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE project_id = $1 AND phase = ANY($2)`, projectID, in).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list tasks: count: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE project_id = $1 AND phase = ANY($2)
		ORDER BY seq LIMIT $3 OFFSET $4`, projectID, in, limitArg(limit), max(offset, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list tasks: %w", err)
	}
	ts, err := scanTasks(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list tasks: %w", err)
	}
	return ts, total, nil
}

// ClaimTask moves to RUNNING (StartedAt now, lease until leaseUntil) and
// returns the oldest READY task of owner whose server has no unfinished
// task of lower Seq, or nil when there is none. One statement picks the
// task FOR UPDATE SKIP LOCKED and updates it: a concurrent claim, on this
// instance or another, skips a task being claimed, and the next task of
// the same server is not eligible while the picked one is unfinished, so
// no task is returned twice. Should a claim still collide with a RUNNING
// task of the same server (the unique index tasks_one_running refuses
// it), it returns nil and the caller tries again later.
func (s *Store) ClaimTask(ctx context.Context, owner string, now, leaseUntil time.Time) (*task.Task, error) {
	if unstorable(owner) {
		return nil, nil
	}
	t, err := scanTask(s.pool.QueryRow(ctx, `WITH picked AS (
			SELECT id AS claim_id FROM tasks c WHERE c.phase = 'READY' AND c.owner = $1
			AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.server_id = c.server_id AND o.`+unfinished+` AND o.seq < c.seq)
			ORDER BY c.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE tasks SET phase = 'RUNNING', started_at = $2, lease_until = $3
		FROM picked WHERE id = picked.claim_id AND phase = 'READY'
		RETURNING `+taskColumns, owner, optMicros(now), optMicros(leaseUntil)))
	if errors.Is(err, pgx.ErrNoRows) || isCode(err, codeUniqueViolation) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: claim task: %w", err)
	}
	return t, nil
}

// RenewLeases extends to leaseUntil the lease of every unfinished task of
// owner.
func (s *Store) RenewLeases(ctx context.Context, owner string, leaseUntil time.Time) error {
	if unstorable(owner) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE tasks SET lease_until = $1 WHERE owner = $2 AND `+unfinished,
		optMicros(leaseUntil), owner)
	if err != nil {
		return fmt.Errorf("postgres: renew leases: %w", err)
	}
	return nil
}
