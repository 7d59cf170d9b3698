package task

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/policy"
)

// runTask does one claimed task and records its outcome. stop is closed
// when the shutdown grace is over: a task cut off then is failed as
// interrupted rather than as a timeout.
func (s *Service) runTask(ctx context.Context, stop <-chan struct{}, t *Task) {
	defer func() {
		// A bug here must not take the process down with every other
		// task; the value is not logged, it could hold the credentials.
		if v := recover(); v != nil {
			s.log.Error("task panicked", "task", t.ID, "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			s.finish(ctx, t, nil, nil, &Failure{Code: FailInternal, Message: "an unexpected error stopped the task; the operator's log has the details"})
		}
	}()
	p := s.take(t.ID)
	if p == nil {
		// Accepted by an earlier run of this instance's name: its
		// credentials are gone.
		s.finish(ctx, t, nil, nil, &Failure{Code: FailInterrupted, Message: InterruptedMessage})
		return
	}
	defer p.wipe()
	if f := s.stillAllowed(ctx, t, p); f != nil {
		s.finish(ctx, t, p, nil, f)
		return
	}
	srv, err := s.cfg.Store.GetServer(ctx, t.ServerID)
	if err == nil && srv.ProjectID != t.ProjectID {
		// Registered again under another project while the task waited:
		// to this project it is gone, as if removed.
		err = keypair.Errorf(keypair.ENOTFOUND, "server %s moved to another project", t.ServerID)
	}
	if err != nil {
		msg := "the server is no longer in the project's inventory"
		if keypair.ErrorCode(err) != keypair.ENOTFOUND {
			s.log.Error("reading a task's server", "task", t.ID, "server", t.ServerID, "error", err)
			msg = "the server's inventory entry could not be read"
		}
		s.finish(ctx, t, p, nil, &Failure{Code: FailInternal, Message: msg})
		return
	}
	job := s.job(t, srv, p)
	tctx, cancel := context.WithTimeout(ctx, s.cfg.TaskTimeout)
	err = s.execute(tctx, job)
	cancel()
	job.Credentials = Credentials{}
	if err == nil {
		s.finish(ctx, t, p, associated(t, srv), nil)
		return
	}
	var f *Failure
	if !errors.As(err, &f) {
		s.log.Error("task failed unexpectedly", "task", t.ID, "server", t.ServerID, "error", err)
		f = &Failure{Code: FailInternal, Message: "an unexpected error stopped the task; the operator's log has the details"}
	}
	select {
	case <-stop:
		f = &Failure{Code: FailInterrupted, Message: InterruptedMessage}
	default:
		if errors.Is(tctx.Err(), context.DeadlineExceeded) && f.Code != FailTimeout {
			f = Failf(FailTimeout, "the task did not finish within %s (%s)", s.cfg.TaskTimeout, f.Message)
		}
	}
	s.finish(ctx, t, p, nil, f)
}

// stillAllowed asks, when a task comes to run, whether the user who
// submitted it may still do it: their access, or the key pair it puts on
// the server, may have been withdrawn while it waited READY. It fails
// closed: when the answer cannot be had, the task does not act.
func (s *Service) stillAllowed(ctx context.Context, t *Task, p *pending) *Failure {
	const unsure = "keyhaven could not confirm that the task may still run (its user's access, its key pair), so it did not act; submit it again"
	actor := keypair.Actor{UserID: t.UserID, ProjectID: t.ProjectID, DomainID: p.domainID, Roles: p.roles}
	actx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if s.cfg.Access != nil {
		roles, err := s.cfg.Access.CurrentRoles(actx, t.UserID, t.ProjectID)
		if err != nil {
			s.log.Error("checking a task's user before it runs", "task", t.ID, "user", t.UserID, "error", err)
			return &Failure{Code: FailInternal, Message: unsure}
		}
		actor.Roles = roles
		action, what := policy.TaskAssociate, "associate key pairs with servers"
		if t.Operation == Unbind {
			action, what = policy.TaskDisassociate, "disassociate key pairs from servers"
		}
		if authorize(actor, action, what) != nil {
			return Failf(FailWithdrawn, "the access of user %s to project %s was withdrawn before the task ran (user disabled or deleted, role removed, or project or domain disabled); keyhaven did not log in to the server", t.UserID, t.ProjectID)
		}
	}
	if t.Operation == Unbind {
		return nil // the key pair may be gone: it is being taken off
	}
	kp, err := s.cfg.KeyPairs.Get(actx, actor, "", t.KeyPairName)
	switch {
	case err == nil && kp.ID == t.KeyPairID && kp.PublicKey == t.PublicKey:
		return nil
	case err == nil || keypair.ErrorCode(err) == keypair.ENOTFOUND || keypair.ErrorCode(err) == keypair.EFORBIDDEN:
		return Failf(FailWithdrawn, "key pair %s was deleted, changed or no longer visible to user %s before the task ran; keyhaven did not log in to the server", t.KeyPairName, t.UserID)
	}
	s.log.Error("reading a task's key pair before it runs", "task", t.ID, "keypair", t.KeyPairName, "error", err)
	return &Failure{Code: FailInternal, Message: unsure}
}

// execute runs the job, turning a panic into a failure whose message names
// no value (a panic value could hold the credentials).
func (s *Service) execute(ctx context.Context, job Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("task executor panicked", "server", job.Server.ID, "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			err = &Failure{Code: FailInternal, Message: "an unexpected error stopped the task; the operator's log has the details"}
		}
	}()
	return s.cfg.Executor.Execute(ctx, job)
}

// job is the SSH work of task t on srv.
func (s *Service) job(t *Task, srv *Server, p *pending) Job {
	target := *srv
	if t.Port != 0 {
		target.Port = t.Port
	}
	j := Job{Server: target, Operation: t.Operation, Credentials: p.creds, ConnectTimeout: s.cfg.ConnectTimeout}
	switch t.Operation {
	case Bind, Replace:
		j.AddKey = t.PublicKey
		j.RemoveKeys = p.removeKeys
		j.DisablePassword = t.DisablePassword
	case Unbind:
		// The key pair the server has now: an associate that ran after
		// this task was accepted replaced the one it was accepted for,
		// and leaving either would leave a key that logs in while the
		// inventory says none is associated.
		j.RemoveKeys = []string{t.PublicKey}
		if srv.PublicKey != "" && srv.PublicKey != t.PublicKey {
			j.RemoveKeys = append(j.RemoveKeys, srv.PublicKey)
		}
		j.EnablePassword = srv.PasswordDisabled
	}
	return j
}

// associated is srv's association after task t succeeded on it.
func associated(t *Task, srv *Server) *Server {
	out := *srv
	switch t.Operation {
	case Unbind:
		out.KeyPairName, out.KeyPairID, out.PublicKey, out.PasswordDisabled = "", 0, "", false
	default:
		out.KeyPairName, out.KeyPairID, out.PublicKey = t.KeyPairName, t.KeyPairID, t.PublicKey
		out.PasswordDisabled = srv.PasswordDisabled || t.DisablePassword
	}
	return &out
}

// finish records the outcome of t (success when f is nil, with server's
// association) and its audit entry.
func (s *Service) finish(ctx context.Context, t *Task, p *pending, server *Server, f *Failure) {
	t.FinishedAt = s.now().UTC()
	if f == nil {
		t.Phase = Success
	} else {
		t.Phase, t.ErrorCode, t.ErrorMessage = Failed, f.Code, f.Message
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err := s.cfg.Store.FinishTask(ctx, t, s.cfg.Instance, server, s.audit(t, p))
	switch {
	case keypair.ErrorCode(err) == keypair.ENOTFOUND:
		s.log.Warn("a task's lease ran out before it finished; another instance failed it", "task", t.ID, "server", t.ServerID)
	case err != nil:
		s.log.Error("recording a task's outcome", "task", t.ID, "server", t.ServerID, "error", err)
	}
}
