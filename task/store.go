package task

import (
	"context"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// Store persists the server inventory and the tasks. Every engine
// (store/sqlite, store/postgres) implements it and passes the contract
// suite in store/storetest. Methods return *keypair.Error values for the
// outcomes callers branch on (ENOTFOUND, ECONFLICT); anything else is an
// internal error. Audit entries passed in are appended to the key pair
// audit log in the same transaction as the change, as keypair.Store does.
type Store interface {
	// PutServer adds s, or replaces the entry with its ID (keeping its
	// association fields and CreatedAt); it sets s's CreatedAt, UpdatedAt
	// and association fields to what is stored. EINVALID when s.Check
	// refuses it.
	PutServer(ctx context.Context, s *Server) error
	// GetServer returns the server with id, or ENOTFOUND.
	GetServer(ctx context.Context, id string) (*Server, error)
	// ListServers returns the inventory ordered by ID, of one project when
	// projectID is not empty.
	ListServers(ctx context.Context, projectID string) ([]*Server, error)
	// RemoveServer deletes the entry with id, or ENOTFOUND; ECONFLICT while
	// one of its tasks is READY or RUNNING.
	RemoveServer(ctx context.Context, id string) error

	// CreateTask inserts t (Phase READY) with the next Seq; audit, when not
	// nil, is appended in the same transaction. ENOTFOUND when t's server
	// is not in the inventory (checked in that transaction, so a
	// concurrent RemoveServer cannot strand the task), EINVALID when
	// t.CheckNew refuses it (t.ID must be a UUID; it is stored in
	// canonical form), ECONFLICT when the id is taken. It sets t.Seq,
	// t.Phase and, when zero, t.CreatedAt. t.LeaseUntil must be set: a
	// task whose lease has ended is failed by FailExpired.
	CreateTask(ctx context.Context, t *Task, audit *keypair.AuditEntry) error
	// GetTask returns the task with id (a UUID in any case), or ENOTFOUND
	// (also for an id that is not a UUID).
	GetTask(ctx context.Context, id string) (*Task, error)
	// ListTasks returns a project's tasks in the given phases (READY and
	// RUNNING for running-tasks, FAILED for failed-tasks) ordered by Seq,
	// after offset, at most limit (all when limit <= 0), and how many
	// there are in all.
	ListTasks(ctx context.Context, projectID string, phases []Phase, offset, limit int) ([]*Task, int, error)
	// ClaimTask moves to RUNNING, and returns, the oldest READY task owned
	// by owner whose server has no unfinished task of lower Seq, extending
	// its lease to leaseUntil; nil when there is none. Concurrent claims
	// (on every instance) never return the same task, and a server never
	// has two RUNNING tasks. now becomes the task's StartedAt.
	ClaimTask(ctx context.Context, owner string, now, leaseUntil time.Time) (*Task, error)
	// RenewLeases extends to leaseUntil the lease of every unfinished task
	// owned by owner.
	RenewLeases(ctx context.Context, owner string, leaseUntil time.Time) error
	// FinishTask records the outcome of a RUNNING task (Phase SUCCESS or
	// FAILED with ErrorCode and ErrorMessage, stored through SafeText); on
	// SUCCESS, when server is not nil, it also writes server's association
	// fields (KeyPairName, KeyPairID, PublicKey, PasswordDisabled: all of
	// them, so UNBIND passes them empty) to the inventory entry of the
	// task's server in the same transaction; audit, when not nil, is
	// appended there too. ENOTFOUND when the task is no longer RUNNING
	// under owner (another instance failed it after its lease ran out),
	// EINVALID when t.Phase is not final. It sets t.FinishedAt (now when
	// zero).
	FinishTask(ctx context.Context, t *Task, owner string, server *Server, audit *keypair.AuditEntry) error
	// FailExpired fails, with FailInterrupted and message, every READY or
	// RUNNING task whose lease ended before now (and, when owner is not
	// empty, every unfinished task of owner: the instance restarted), and
	// returns how many. For each it appends, in the same transaction, the
	// audit entry Task.AuditEntry makes (FAILED_..., with the message), so
	// every association's end is audited even when no instance ran it.
	FailExpired(ctx context.Context, owner string, now time.Time, message string) (int, error)
	// DeleteFailedTask removes the FAILED task id of projectID, or
	// ENOTFOUND (also when it is another project's or not FAILED).
	DeleteFailedTask(ctx context.Context, projectID, id string) error
	// DeleteFailedTasks removes every FAILED task of projectID.
	DeleteFailedTasks(ctx context.Context, projectID string) (int, error)
}
