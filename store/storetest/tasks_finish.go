package storetest

import (
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// taskAudit lists the whole audit log of s.
func taskAudit(t *testing.T, s TaskStore) []*keypair.AuditEntry {
	t.Helper()
	es, err := s.ListAudit(t.Context(), 0, 0)
	must(t, err, "ListAudit")
	verifyChain(t, es)
	return es
}

func testFinishSuccess(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	createTask(t, s, "p-1", "srv", owner)
	tk := claim(t, s, owner)
	tk.Phase = task.Success
	assoc := &task.Server{ID: "srv", KeyPairName: "kp", KeyPairID: 7, PublicKey: sshPublic, PasswordDisabled: true}
	audit := tk.AuditEntry(time.Now())
	audit.RemoteAddr, audit.RequestID = "192.0.2.1:4000", "req-1"
	must(t, s.FinishTask(ctx, tk, owner, assoc, audit), "FinishTask")
	if audit.Seq != 1 || len(audit.Hash) != 32 {
		t.Errorf("audit entry after FinishTask: seq %d hash %x", audit.Seq, audit.Hash)
	}
	got, err := s.GetTask(ctx, tk.ID)
	must(t, err, "GetTask")
	if got.Phase != task.Success || got.FinishedAt.IsZero() || got.Status() != "SUCCESS_BIND" {
		t.Errorf("finished task %+v", got)
	}
	sv, err := s.GetServer(ctx, "srv")
	must(t, err, "GetServer")
	if sv.KeyPairName != "kp" || sv.KeyPairID != 7 || sv.PublicKey != sshPublic || !sv.PasswordDisabled {
		t.Errorf("server after SUCCESS %+v, want the association recorded", sv)
	}
	if sv.Address != "10.0.0.5" || len(sv.HostKeys) != 2 {
		t.Errorf("FinishTask changed the inventory fields: %+v", sv)
	}
	es := taskAudit(t, s)
	if len(es) != 1 {
		t.Fatalf("audit log holds %d entries, want 1", len(es))
	}
	e := es[0]
	if e.Action != keypair.AuditAssociate || e.ServerID != "srv" || e.TaskID != tk.ID || e.Result != "SUCCESS_BIND" ||
		e.KeyPairName != "kp" || e.KeyPairID != 7 || e.UserID != tk.UserID || e.ProjectID != "p-1" ||
		e.RemoteAddr != "192.0.2.1:4000" || e.RequestID != "req-1" || e.Detail != "" {
		t.Errorf("audit entry %+v", e)
	}

	// An UNBIND's SUCCESS clears the association it is given.
	unbind := newTask("p-1", "srv", owner)
	unbind.Operation = task.Unbind
	must(t, s.CreateTask(ctx, unbind, nil), "CreateTask UNBIND")
	tk = claim(t, s, owner)
	tk.Phase = task.Success
	must(t, s.FinishTask(ctx, tk, owner, &task.Server{ID: "srv"}, tk.AuditEntry(time.Now())), "FinishTask UNBIND")
	sv, err = s.GetServer(ctx, "srv")
	must(t, err, "GetServer")
	if sv.KeyPairName != "" || sv.KeyPairID != 0 || sv.PublicKey != "" || sv.PasswordDisabled {
		t.Errorf("server after UNBIND %+v, want no association", sv)
	}
	if es := taskAudit(t, s); len(es) != 2 || es[1].Action != keypair.AuditDisassociate || es[1].Result != "SUCCESS_UNBIND" {
		t.Errorf("audit after UNBIND: %d entries, last %+v", len(es), es[len(es)-1])
	}
}

func testFinishRefused(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	ready := createTask(t, s, "p-1", "srv", owner)
	ready.Phase = task.Success
	wantCode(t, s.FinishTask(ctx, ready, owner, nil, nil), keypair.ENOTFOUND, "FinishTask of a READY task")

	tk := claim(t, s, owner)
	tk.Phase = task.Success
	wantCode(t, s.FinishTask(ctx, tk, "instance-2", nil, nil), keypair.ENOTFOUND, "FinishTask by another owner")
	bad := *tk
	bad.Phase = task.Running
	wantCode(t, s.FinishTask(ctx, &bad, owner, nil, nil), keypair.EINVALID, "FinishTask as RUNNING")

	// Another instance fails it meanwhile (its lease ran out).
	n, err := s.FailExpired(ctx, "", time.Now().Add(2*time.Hour), "the instance running it stopped")
	must(t, err, "FailExpired")
	if n != 1 {
		t.Fatalf("FailExpired failed %d tasks, want 1", n)
	}
	audit := tk.AuditEntry(time.Now())
	assoc := &task.Server{ID: "srv", KeyPairName: "kp", KeyPairID: 7, PublicKey: sshPublic}
	wantCode(t, s.FinishTask(ctx, tk, owner, assoc, audit), keypair.ENOTFOUND, "FinishTask of a task failed meanwhile")
	got, err := s.GetTask(ctx, tk.ID)
	must(t, err, "GetTask")
	if got.Phase != task.Failed || got.ErrorCode != task.FailInterrupted {
		t.Errorf("task after refused FinishTask %+v, want it FAILED interrupted", got)
	}
	if sv, _ := s.GetServer(ctx, "srv"); sv.KeyPairName != "" {
		t.Errorf("refused FinishTask wrote the association: %+v", sv)
	}
	if audit.Seq != 0 {
		t.Errorf("refused FinishTask set the audit entry's seq to %d", audit.Seq)
	}
	if es := taskAudit(t, s); len(es) != 1 || es[0].Result != "FAILED_BIND" {
		t.Errorf("audit log after refused FinishTask: %d entries, want only FailExpired's", len(es))
	}
}

func testFailExpired(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv-1", "p-1")
	putServer(t, s, "srv-2", "p-1")
	putServer(t, s, "srv-3", "p-1")
	now := time.Now()
	expired := newTask("p-1", "srv-1", "instance-2")
	expired.LeaseUntil = now.Add(-time.Minute)
	must(t, s.CreateTask(ctx, expired, nil), "CreateTask")
	renewed := newTask("p-1", "srv-2", "instance-3")
	renewed.LeaseUntil = now.Add(-time.Minute)
	must(t, s.CreateTask(ctx, renewed, nil), "CreateTask")
	must(t, s.RenewLeases(ctx, "instance-3", now.Add(time.Hour)), "RenewLeases")
	mine := createTask(t, s, "p-1", "srv-3", owner)
	running := claim(t, s, owner)
	if running == nil || running.ID != mine.ID {
		t.Fatalf("claimed %+v, want %s", running, mine.ID)
	}
	done := createTask(t, s, "p-1", "srv-2", "instance-2") // waits behind renewed

	n, err := s.FailExpired(ctx, "", now, "the instance holding it stopped; submit it again")
	must(t, err, "FailExpired")
	phases := func() map[string]task.Phase {
		m := map[string]task.Phase{}
		for _, tk := range []*task.Task{expired, renewed, mine, done} {
			got, err := s.GetTask(ctx, tk.ID)
			must(t, err, "GetTask")
			m[tk.ID] = got.Phase
		}
		return m
	}
	p := phases()
	if n != 1 || p[expired.ID] != task.Failed || p[renewed.ID] != task.Ready || p[mine.ID] != task.Running || p[done.ID] != task.Ready {
		t.Fatalf("after FailExpired(\"\"): %d failed, phases %v", n, p)
	}
	got, _ := s.GetTask(ctx, expired.ID)
	if got.ErrorCode != task.FailInterrupted || got.ErrorMessage != "the instance holding it stopped; submit it again" || got.FinishedAt.IsZero() {
		t.Errorf("expired task %+v", got)
	}

	// Our instance restarted: every unfinished task of ours fails.
	n, err = s.FailExpired(ctx, owner, now, "keyhaven restarted while the task ran; submit it again")
	must(t, err, "FailExpired(owner)")
	p = phases()
	if n != 1 || p[mine.ID] != task.Failed || p[renewed.ID] != task.Ready || p[done.ID] != task.Ready {
		t.Fatalf("after FailExpired(owner): %d failed, phases %v", n, p)
	}
	running.Phase = task.Success
	wantCode(t, s.FinishTask(ctx, running, owner, nil, nil), keypair.ENOTFOUND, "FinishTask after restart")

	es := taskAudit(t, s)
	if len(es) != 2 {
		t.Fatalf("audit log holds %d entries, want one per failed task", len(es))
	}
	for i, want := range []*task.Task{expired, mine} {
		e := es[i]
		if e.TaskID != want.ID || e.ServerID != want.ServerID || e.Result != "FAILED_BIND" ||
			e.Action != keypair.AuditAssociate || e.UserID != want.UserID || e.Detail == "" {
			t.Errorf("audit entry %d = %+v, want the failure of %s", i, e, want.ID)
		}
	}
}

func testDeleteFailed(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv-a", "p-a")
	putServer(t, s, "srv-b", "p-b")
	var failedA, failedB []*task.Task
	for range 3 {
		a := newTask("p-a", "srv-a", owner)
		a.LeaseUntil = time.Now().Add(-time.Minute)
		must(t, s.CreateTask(ctx, a, nil), "CreateTask")
		failedA = append(failedA, a)
		b := newTask("p-b", "srv-b", owner)
		b.LeaseUntil = a.LeaseUntil
		must(t, s.CreateTask(ctx, b, nil), "CreateTask")
		failedB = append(failedB, b)
	}
	if n, err := s.FailExpired(ctx, "", time.Now(), "lost"); err != nil || n != 6 {
		t.Fatalf("FailExpired = %d, %v; want 6", n, err)
	}
	readyA := createTask(t, s, "p-a", "srv-a", owner)

	wantCode(t, s.DeleteFailedTask(ctx, "p-b", failedA[0].ID), keypair.ENOTFOUND, "delete another project's task")
	wantCode(t, s.DeleteFailedTask(ctx, "p-a", readyA.ID), keypair.ENOTFOUND, "delete a READY task")
	wantCode(t, s.DeleteFailedTask(ctx, "p-a", "not-a-uuid"), keypair.ENOTFOUND, "delete a bad id")
	wantCode(t, s.DeleteFailedTask(ctx, "p-a", task.NewID()), keypair.ENOTFOUND, "delete an unknown id")
	must(t, s.DeleteFailedTask(ctx, "p-a", failedA[0].ID), "DeleteFailedTask")
	wantCode(t, s.DeleteFailedTask(ctx, "p-a", failedA[0].ID), keypair.ENOTFOUND, "delete twice")
	if _, err := s.GetTask(ctx, failedA[0].ID); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Errorf("GetTask of a deleted task: %v", err)
	}

	n, err := s.DeleteFailedTasks(ctx, "p-a")
	must(t, err, "DeleteFailedTasks")
	if n != 2 {
		t.Errorf("DeleteFailedTasks(p-a) = %d, want 2", n)
	}
	if _, total, _ := s.ListTasks(ctx, "p-a", []task.Phase{task.Failed}, 0, 0); total != 0 {
		t.Errorf("p-a still has %d failed tasks", total)
	}
	if _, total, _ := s.ListTasks(ctx, "p-a", []task.Phase{task.Ready}, 0, 0); total != 1 {
		t.Errorf("DeleteFailedTasks removed p-a's READY task")
	}
	if ts, total, _ := s.ListTasks(ctx, "p-b", []task.Phase{task.Failed}, 0, 0); total != 3 || len(ts) != 3 {
		t.Errorf("DeleteFailedTasks(p-a) touched p-b: %d failed left, want 3", total)
	}
	if n, err := s.DeleteFailedTasks(ctx, "p-a"); err != nil || n != 0 {
		t.Errorf("DeleteFailedTasks again = %d, %v", n, err)
	}
}

func testTaskAuditAtomic(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	tk := newTask("p-1", "srv", owner)
	audit := tk.AuditEntry(time.Now())
	must(t, s.CreateTask(ctx, tk, audit), "CreateTask")
	if audit.Seq != 1 {
		t.Errorf("audit Seq %d after CreateTask, want 1", audit.Seq)
	}
	// Refused creates leave no entry.
	for _, change := range []func(*task.Task){
		func(x *task.Task) { x.ServerID = "nope" },
		func(x *task.Task) { x.ID = tk.ID },
	} {
		bad := newTask("p-1", "srv", owner)
		change(bad)
		e := bad.AuditEntry(time.Now())
		if err := s.CreateTask(ctx, bad, e); err == nil {
			t.Fatal("CreateTask accepted a bad task")
		}
		if e.Seq != 0 {
			t.Errorf("refused CreateTask set the audit entry's seq %d", e.Seq)
		}
	}
	es := taskAudit(t, s)
	if len(es) != 1 || es[0].TaskID != tk.ID || es[0].Result != "READY_BIND" || es[0].ServerID != "srv" {
		t.Fatalf("audit log %d entries (first %+v), want the accepted task's only", len(es), es[0])
	}
}
