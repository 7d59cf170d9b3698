package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// taskColumns lists tasks columns in the order scanTask reads them.
const taskColumns = `seq, id, project_id, user_id, server_id, server_name, keypair_name, keypair_id,
	public_key, operation, phase, disable_password, port, owner, lease_until, error_code, error_message,
	created_at, started_at, finished_at`

// unfinished is the SQL condition of a task that is READY or RUNNING.
const unfinished = `phase IN ('READY', 'RUNNING')`

// eligible selects, with ? the owner, the seq of the task ClaimTask takes:
// the owner's oldest READY task whose server has no older unfinished one.
const eligible = `SELECT c.seq FROM tasks c WHERE c.phase = 'READY' AND c.owner = ?
	AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.server_id = c.server_id AND o.` + unfinished + ` AND o.seq < c.seq)
	ORDER BY c.seq LIMIT 1`

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
func scanTasks(rows *sql.Rows) ([]*task.Task, error) {
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

// CreateTask inserts t as READY with the next Seq, in one write
// transaction with audit (when not nil) and a check that its server is in
// the inventory (ENOTFOUND otherwise). t.ID must be a UUID (EINVALID
// otherwise; stored lower-case), and ECONFLICT when it is taken. It sets
// t.Seq, t.Phase and, when zero, t.CreatedAt.
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
	err := s.inWrite(ctx, "create task", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM servers WHERE id = ?`, t.ServerID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: create task: %w", err)
		}
		if n == 0 {
			return serverNotFound(t.ServerID)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO tasks (id, project_id, user_id, server_id, server_name,
			keypair_name, keypair_id, public_key, operation, phase, disable_password, port, owner, lease_until,
			created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY', ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING RETURNING seq`,
			t.ID, t.ProjectID, t.UserID, t.ServerID, t.ServerName, t.KeyPairName, t.KeyPairID, t.PublicKey,
			string(t.Operation), t.DisablePassword, t.Port, t.Owner, optMicros(t.LeaseUntil),
			created.UnixMicro()).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return keypair.Errorf(keypair.ECONFLICT, "task %s already exists", t.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create task: %w", err)
		}
		if audit != nil {
			entry, err = appendAudit(ctx, tx, audit)
		}
		return err
	})
	if err != nil {
		return err
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
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, canon))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, taskNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get task: %w", err)
	}
	return t, nil
}

// phaseList returns the SQL list literal of phases, validated against
// the domain's phases so nothing else reaches the query.
func phaseList(phases []task.Phase) (string, error) {
	if len(phases) == 0 {
		return "", errors.New("no phases")
	}
	quoted := make([]string, len(phases))
	for i, p := range phases {
		switch p {
		case task.Ready, task.Running, task.Success, task.Failed:
			quoted[i] = "'" + string(p) + "'"
		default:
			return "", fmt.Errorf("unknown phase %q", p)
		}
	}
	return "(" + strings.Join(quoted, ", ") + ")", nil
}

// ListTasks returns projectID's tasks in phases ordered by Seq, after
// offset and at most limit of them (all when limit <= 0), and how many
// there are in all; count and page come from one read transaction.
func (s *Store) ListTasks(ctx context.Context, projectID string, phases []task.Phase, offset, limit int) ([]*task.Task, int, error) {
	in, err := phaseList(phases)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	if limit <= 0 {
		limit = -1
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	defer tx.Rollback()
	var total int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM tasks WHERE project_id = ? AND phase IN `+in, projectID).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list tasks: count: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE project_id = ? AND phase IN `+in+`
		ORDER BY seq LIMIT ? OFFSET ?`, projectID, limit, max(offset, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	ts, err := scanTasks(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	return ts, total, nil
}

// ClaimTask moves to RUNNING (StartedAt now, lease until leaseUntil) and
// returns the oldest READY task of owner whose server has no unfinished
// task of lower Seq, or nil when there is none. The choice and the update
// are one statement inside a write transaction, and write transactions
// run one at a time across every process on the file, so two claims
// never return one task and a server never has two RUNNING tasks.
//
// A reader first looks for an eligible task, so the workers' idle polls
// (nothing READY, or every READY task behind another of its server) do
// not queue for the single writer; the write then picks again, as what
// the reader saw may have changed.
func (s *Store) ClaimTask(ctx context.Context, owner string, now, leaseUntil time.Time) (*task.Task, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, eligible, owner).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim task: %w", err)
	}
	var t *task.Task
	err = s.inWrite(ctx, "claim task", func(tx *sql.Tx) error {
		var err error
		t, err = scanTask(tx.QueryRowContext(ctx, `UPDATE tasks SET phase = 'RUNNING', started_at = ?, lease_until = ?
			WHERE seq = (`+eligible+`) RETURNING `+taskColumns, optMicros(now), optMicros(leaseUntil), owner))
		if errors.Is(err, sql.ErrNoRows) {
			t = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: claim task: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RenewLeases extends to leaseUntil the lease of every unfinished task of
// owner.
func (s *Store) RenewLeases(ctx context.Context, owner string, leaseUntil time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE tasks SET lease_until = ? WHERE owner = ? AND `+unfinished,
		optMicros(leaseUntil), owner)
	if err != nil {
		return fmt.Errorf("sqlite: renew leases: %w", err)
	}
	return nil
}
