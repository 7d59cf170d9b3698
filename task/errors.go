package task

import (
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// The reasons that refine the domain's error codes for association, so a
// dialect can give each its own code (KPS has one for each).
const (
	// ReasonServerNotFound: no server of that id in the caller's project.
	// A server of another project gets it too, with the same message, so
	// a caller learns nothing about other projects' inventories.
	ReasonServerNotFound keypair.Reason = "server_not_found"
	// ReasonAuthRequired: the request carries no server.auth; keyhaven
	// logs in over SSH and cannot act on a server without credentials.
	ReasonAuthRequired keypair.Reason = "auth_required"
	// ReasonNotAssociated: a disassociate of a server with no key pair
	// associated by keyhaven.
	ReasonNotAssociated keypair.Reason = "not_associated"
	// ReasonTaskNotFound: no task of that id in the caller's project, or
	// the id is not a task id.
	ReasonTaskNotFound keypair.Reason = "task_not_found"
	// ReasonFailedTaskNotFound: a delete of a failed task that does not
	// exist in the caller's project (or did not fail).
	ReasonFailedTaskNotFound keypair.Reason = "failed_task_not_found"
	// ReasonTaskInProgress: a delete of a task that is still READY or
	// RUNNING; only failed tasks can be deleted.
	ReasonTaskInProgress keypair.Reason = "task_in_progress"
	// ReasonStopping: this instance is shutting down and accepts no task
	// (its pool would not run it); another instance, or this one once
	// restarted, will.
	ReasonStopping keypair.Reason = "stopping"
	// ReasonTaskForbidden: policy refuses the caller this association
	// operation (a reader role).
	ReasonTaskForbidden keypair.Reason = "task_forbidden"
	// ReasonQueueFull: as many tasks as the instance may hold already
	// wait to run here; retry once some have finished.
	ReasonQueueFull keypair.Reason = "task_queue_full"
)

func serverNotFound(id, project string) error {
	return keypair.Errorf(keypair.ENOTFOUND, "Server %s is not in the inventory of project %s; an operator registers servers with `keyhaven servers add`.", id, project).
		WithReason(ReasonServerNotFound)
}

func authRequired() error {
	return keypair.Errorf(keypair.EINVALID, "server.auth is required: keyhaven logs in to the server over SSH with it (type password with the login user's password, or type keypair with a private key that logs in today); it cannot reset a stopped server's key offline.").
		WithReason(ReasonAuthRequired)
}

func notAssociated(id string) error {
	return keypair.Errorf(keypair.EINVALID, "Server %s has no key pair associated by keyhaven, so there is nothing to disassociate.", id).
		WithReason(ReasonNotAssociated)
}

func taskNotFound(id string) error {
	return keypair.Errorf(keypair.ENOTFOUND, "The task id %q is invalid: no task of that id exists in this project.", id).
		WithReason(ReasonTaskNotFound)
}

func failedTaskNotFound(id string) error {
	return keypair.Errorf(keypair.ENOTFOUND, "No failed task %q exists in this project.", id).
		WithReason(ReasonFailedTaskNotFound)
}

func taskInProgress(id string) error {
	return keypair.Errorf(keypair.ECONFLICT, "Task %s has not finished yet; only failed tasks can be deleted.", id).
		WithReason(ReasonTaskInProgress)
}

func forbidden(what string) error {
	e := keypair.Forbidden(keypair.Action(what))
	e.Message = fmt.Sprintf("Policy does not allow you to %s; a reader role may only look at tasks.", what)
	return e.WithReason(ReasonTaskForbidden)
}

func stopping() error {
	return keypair.Errorf(keypair.EUNAVAILABLE, "keyhaven is shutting down and accepts no task; nothing was done. Submit it again.").
		WithReason(ReasonStopping)
}

func queueFull(n int, retryAfter time.Duration) error {
	e := keypair.Busy(retryAfter)
	e.Message = fmt.Sprintf("%d association tasks already wait to run on this keyhaven instance, as many as it holds; nothing was done. Retry once some have finished.", n)
	return e.WithReason(ReasonQueueFull)
}

func projectQueueFull(n int, retryAfter time.Duration) error {
	e := keypair.Busy(retryAfter)
	e.Message = fmt.Sprintf("%d association tasks of this project already wait to run on this keyhaven instance, as many as it holds for one project; nothing was done. Retry once some have finished.", n)
	return e.WithReason(ReasonQueueFull)
}

func invalid(format string, args ...any) error {
	return keypair.Errorf(keypair.EINVALID, format, args...)
}
