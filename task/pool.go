package task

import (
	"context"
	"sync"
	"time"
)

// storeTimeout bounds one store call the pool makes on its own account
// (claim, renew, expire, finish), so a hung database cannot hold a worker
// or the shutdown forever.
const storeTimeout = 10 * time.Second

// Run is the worker pool: until ctx is done it claims this instance's
// READY tasks (at most Workers at once, woken at once when one is
// accepted here), renews their leases, and fails the tasks of instances
// whose leases ran out. When ctx is done it stops claiming, lets running
// tasks finish within ShutdownGrace, cuts off the rest (failed, as
// interrupted) and fails every task of this instance still unfinished:
// their credentials die with the process, so none is left READY or
// RUNNING. It returns once all of that is written.
func (s *Service) Run(ctx context.Context) error {
	stopTasks := make(chan struct{}) // closed when the grace is over
	taskCtx, cutOff := context.WithCancel(context.WithoutCancel(ctx))
	defer cutOff()
	maintDone := make(chan struct{})
	maintCtx, stopMaint := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer close(maintDone); s.maintain(maintCtx) }()

	var wg sync.WaitGroup
	slots := make(chan struct{}, s.cfg.Workers)
	finished := make(chan struct{}, s.cfg.Workers)
	poll := time.NewTicker(s.cfg.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		if len(slots) < cap(slots) {
			t, err := s.claim(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("claiming a task", "error", err)
			}
			if t != nil {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.runTask(taskCtx, stopTasks, t)
					<-slots
					// The server's next task may run now.
					select {
					case finished <- struct{}{}:
					default:
					}
				}()
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-finished:
		case <-poll.C:
		}
	}

	// From now on no task is accepted here: none would be claimed.
	s.close()
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-allDone:
	case <-grace.C:
		close(stopTasks)
		cutOff()
		<-allDone
	}
	stopMaint()
	<-maintDone
	s.expire(context.WithoutCancel(ctx), s.cfg.Instance)
	s.mu.Lock()
	for id, p := range s.pending {
		p.wipe()
		delete(s.pending, id)
	}
	s.mu.Unlock()
	return nil
}

// claim asks the store for the next task this instance may run.
func (s *Service) claim(ctx context.Context) (*Task, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	now := s.now().UTC()
	return s.cfg.Store.ClaimTask(ctx, s.cfg.Instance, now, now.Add(s.cfg.Lease))
}

// maintain renews this instance's leases and fails expired tasks of every
// instance until ctx is done.
func (s *Service) maintain(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Renew)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		if err := s.cfg.Store.RenewLeases(rctx, s.cfg.Instance, s.now().UTC().Add(s.cfg.Lease)); err != nil && ctx.Err() == nil {
			s.log.Error("renewing task leases", "error", err)
		}
		cancel()
		s.expire(ctx, "")
		s.prune(ctx)
	}
}

// prune forgets the credentials of tasks that ended without this
// instance running them (failed by another instance after this one's
// lease ran out, e.g. while the database was unreachable here).
func (s *Service) prune(ctx context.Context) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		gctx, cancel := context.WithTimeout(ctx, storeTimeout)
		t, err := s.cfg.Store.GetTask(gctx, id)
		cancel()
		if err == nil && t.Phase.Finished() {
			s.drop(id)
		}
	}
}

// expire fails the tasks whose lease ran out and, when owner is not
// empty, every unfinished task of owner.
func (s *Service) expire(ctx context.Context, owner string) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	n, err := s.cfg.Store.FailExpired(ctx, owner, s.now().UTC(), InterruptedMessage)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("failing interrupted tasks", "error", err)
		}
		return
	}
	if n > 0 {
		s.log.Warn("failed tasks whose instance stopped before they finished", "tasks", n)
	}
}
