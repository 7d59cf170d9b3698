package task

import (
	"context"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/policy"
)

// DefaultListLimit and MaxListLimit bound a page of tasks, as Huawei's
// KPS does.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 1000
)

// Get returns the task id of the caller's project. A task of another
// project is answered as an unknown one.
func (s *Service) Get(ctx context.Context, actor keypair.Actor, id string) (*Task, error) {
	if err := authorize(actor, policy.TaskShow, "look at tasks"); err != nil {
		return nil, err
	}
	return s.task(ctx, actor, id, taskNotFound)
}

func (s *Service) task(ctx context.Context, actor keypair.Actor, id string, missing func(string) error) (*Task, error) {
	if _, ok := ParseID(id); !ok {
		return nil, missing(id)
	}
	t, err := s.cfg.Store.GetTask(ctx, id)
	if keypair.ErrorCode(err) == keypair.ENOTFOUND || (err == nil && t.ProjectID != actor.ProjectID) {
		return nil, missing(id)
	}
	return t, err
}

// Running returns a page of the caller's project's unfinished tasks
// (READY and RUNNING) in the order they were accepted, and how many there
// are in all.
func (s *Service) Running(ctx context.Context, actor keypair.Actor, offset, limit int) ([]*Task, int, error) {
	return s.list(ctx, actor, []Phase{Ready, Running}, offset, limit)
}

// Failed returns a page of the caller's project's failed tasks, and how
// many there are in all.
func (s *Service) Failed(ctx context.Context, actor keypair.Actor, offset, limit int) ([]*Task, int, error) {
	return s.list(ctx, actor, []Phase{Failed}, offset, limit)
}

func (s *Service) list(ctx context.Context, actor keypair.Actor, phases []Phase, offset, limit int) ([]*Task, int, error) {
	if err := authorize(actor, policy.TaskList, "list tasks"); err != nil {
		return nil, 0, err
	}
	if offset < 0 {
		return nil, 0, invalid("offset must be 0 or more.")
	}
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 1 || limit > MaxListLimit {
		return nil, 0, invalid("limit must be from 1 to %d.", MaxListLimit)
	}
	return s.cfg.Store.ListTasks(ctx, actor.ProjectID, phases, offset, limit)
}

// DeleteFailed removes a failed task of the caller's project. A task that
// has not finished cannot be deleted (it would run on regardless); one
// that succeeded is not a failed task.
func (s *Service) DeleteFailed(ctx context.Context, actor keypair.Actor, id string) error {
	if err := authorize(actor, policy.TaskDelete, "delete tasks"); err != nil {
		return err
	}
	t, err := s.task(ctx, actor, id, failedTaskNotFound)
	if err != nil {
		return err
	}
	switch t.Phase {
	case Ready, Running:
		return taskInProgress(id)
	case Success:
		return failedTaskNotFound(id)
	}
	if err := s.cfg.Store.DeleteFailedTask(ctx, actor.ProjectID, id); keypair.ErrorCode(err) == keypair.ENOTFOUND {
		return failedTaskNotFound(id)
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteAllFailed removes every failed task of the caller's project and
// returns how many.
func (s *Service) DeleteAllFailed(ctx context.Context, actor keypair.Actor) (int, error) {
	if err := authorize(actor, policy.TaskDelete, "delete tasks"); err != nil {
		return 0, err
	}
	return s.cfg.Store.DeleteFailedTasks(ctx, actor.ProjectID)
}
