package task_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/sshpush"
	"github.com/keyhaven/keyhaven/task"
)

// TestAssociateOverSSH runs the pool with the real executor against a
// real sshd: BIND by password (proven by a login with the key pair's
// private key), REPLACE with that key by another, UNBIND; each updates
// the server's association and is audited twice (accepted, ended), and no
// credential is left in memory, the log or the database.
func TestAssociateOverSSH(t *testing.T) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	e := newEnv(t, sshpush.New(sshpush.Config{}), nil)
	e.run(t)
	ctx := context.Background()
	first, second := newKey(t), newKey(t)
	kp1 := e.addKeyPair(t, alice, "first", first)
	e.addKeyPair(t, alice, "second", second)
	e.addServer(t, "web", "p1", sshd.Host, sshd.Port, sshd.User, sshd.HostKey, sshd.Config)

	bind, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "first", ServerID: "web", Credentials: &task.Credentials{Password: sshd.Password}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.wait(t, bind.ID); got.Status() != "SUCCESS_BIND" {
		t.Fatalf("bind: %s %s %s", got.Status(), got.ErrorCode, got.ErrorMessage)
	}
	if !sshd.CanLoginKey(t, first.priv) {
		t.Fatal("the key pair's private key does not log in after BIND")
	}
	srv, err := e.st.GetServer(ctx, "web")
	if err != nil || srv.KeyPairName != "first" || srv.KeyPairID != kp1.ID || srv.PublicKey != first.pub {
		t.Fatalf("association after bind: %+v %v", srv, err)
	}

	repl, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "second", ServerID: "web", Credentials: &task.Credentials{PrivateKey: first.priv}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.wait(t, repl.ID); got.Status() != "SUCCESS_REPLACE" {
		t.Fatalf("replace: %s %s", got.Status(), got.ErrorMessage)
	}
	if sshd.CanLoginKey(t, first.priv) || !sshd.CanLoginKey(t, second.priv) {
		t.Fatal("after REPLACE the old key must not log in and the new one must")
	}

	unbind, err := e.svc.Disassociate(ctx, bob, task.DisassociateInput{ServerID: "web", Credentials: &task.Credentials{Password: sshd.Password}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.wait(t, unbind.ID); got.Status() != "SUCCESS_UNBIND" || got.KeyPairName != "second" {
		t.Fatalf("unbind: %s %s", got.Status(), got.ErrorMessage)
	}
	if sshd.CanLoginKey(t, second.priv) {
		t.Fatal("the key still logs in after UNBIND")
	}
	if srv, _ := e.st.GetServer(ctx, "web"); srv.KeyPairName != "" || srv.PublicKey != "" {
		t.Fatalf("association after unbind: %+v", srv)
	}

	entries, err := e.st.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, a := range entries {
		if a.TaskID != "" {
			results = append(results, string(a.Action)+" "+a.Result+" "+a.ServerID+" "+a.UserID)
		}
	}
	want := []string{"associate READY_BIND web alice", "associate SUCCESS_BIND web alice",
		"associate READY_REPLACE web alice", "associate SUCCESS_REPLACE web alice",
		"disassociate READY_UNBIND web bob", "disassociate SUCCESS_UNBIND web bob"}
	if strings.Join(results, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(results, "\n"), strings.Join(want, "\n"))
	}
	noSecrets(t, e, sshd.Password, string(first.priv[40:100]))
}

// noSecrets checks that none of secrets is in the service's log or any
// file of the database.
func noSecrets(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.dir, "k.db*"))
	for _, s := range secrets {
		if strings.Contains(e.log.String(), s) {
			t.Errorf("the log holds a credential")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a credential", filepath.Base(f))
			}
		}
	}
}

// TestFailuresOverSSH: a wrong password and an unreachable server each
// end FAILED with their code, listed in failed-tasks, and deletable.
func TestFailuresOverSSH(t *testing.T) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	e := newEnv(t, sshpush.New(sshpush.Config{}), nil)
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addServer(t, "web", "p1", sshd.Host, sshd.Port, sshd.User, sshd.HostKey, sshd.Config)
	e.addServer(t, "gone", "p1", "127.0.0.1", sshdtest.ClosedPort(t), "root", sshd.HostKey, "")
	const wrong = "wrong-password-7f3a9c"
	for _, c := range []struct {
		server string
		code   task.FailureCode
	}{{"web", task.FailAuth}, {"gone", task.FailUnreachable}} {
		tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: c.server, Credentials: &task.Credentials{Password: wrong}})
		if err != nil {
			t.Fatal(err)
		}
		got := e.wait(t, tk.ID)
		if got.Status() != "FAILED_BIND" || got.ErrorCode != c.code || got.ErrorMessage == "" || strings.Contains(got.ErrorMessage, wrong) {
			t.Fatalf("%s: %s %s %q", c.server, got.Status(), got.ErrorCode, got.ErrorMessage)
		}
	}
	failed, total, err := e.svc.Failed(ctx, alice, 0, 0)
	if err != nil || total != 2 || len(failed) != 2 {
		t.Fatalf("failed tasks: %d %v", total, err)
	}
	if err := e.svc.DeleteFailed(ctx, alice, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteFailed(ctx, alice, failed[0].ID); keypair.ErrorReason(err) != task.ReasonFailedTaskNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if err := e.svc.DeleteFailed(ctx, mallet, failed[1].ID); keypair.ErrorReason(err) != task.ReasonFailedTaskNotFound {
		t.Fatalf("another project deletes: %v", err)
	}
	if n, err := e.svc.DeleteAllFailed(ctx, alice); err != nil || n != 1 {
		t.Fatalf("delete all: %d %v", n, err)
	}
	noSecrets(t, e, wrong)
}

// TestPoolBound: with two workers, five tasks on five servers never run
// more than two at once, and all finish once released.
func TestPoolBound(t *testing.T) {
	g := newGate()
	e := newEnv(t, g, func(c *task.Config) { c.Workers = 2 })
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		e.addServer(t, id, "p1", "127.0.0.1", 22, "root", someHostKey, "")
		tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: id, Credentials: &task.Credentials{Password: "pw"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	for range 2 {
		<-g.started
	}
	if _, total, _ := e.svc.Running(ctx, alice, 0, 0); total != 5 {
		t.Fatalf("running-tasks lists %d, want 5 (2 RUNNING, 3 READY)", total)
	}
	close(g.release)
	for _, id := range ids {
		if got := e.wait(t, id); got.Phase != task.Success {
			t.Fatalf("%s: %s", id, got.Status())
		}
	}
	if g.max() != 2 {
		t.Fatalf("%d ran at once, want 2", g.max())
	}
}

// TestOneTaskPerServer: tasks on one server run one at a time, in order.
func TestOneTaskPerServer(t *testing.T) {
	g := newGate()
	e := newEnv(t, g, nil)
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addServer(t, "one", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	var ids []string
	for range 3 {
		tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "one", Credentials: &task.Credentials{Password: "pw"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	close(g.release)
	for _, id := range ids {
		e.wait(t, id)
	}
	if g.max() != 1 {
		t.Fatalf("%d tasks ran at once on one server", g.max())
	}
}

// TestShutdownLeavesNothingRunning: a task still running when the grace
// ends and one still waiting are both failed as interrupted.
func TestShutdownLeavesNothingRunning(t *testing.T) {
	g := newGate()
	e := newEnv(t, g, func(c *task.Config) { c.Workers = 1; c.ShutdownGrace = 200 * time.Millisecond })
	stop := e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addServer(t, "a", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	e.addServer(t, "b", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	var ids []string
	for _, s := range []string{"a", "b"} {
		tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: s, Credentials: &task.Credentials{Password: "pw"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	<-g.started
	stop()
	for _, id := range ids {
		got, err := e.st.GetTask(ctx, id)
		if err != nil || got.Phase != task.Failed || got.ErrorCode != task.FailInterrupted || got.ErrorMessage != task.InterruptedMessage {
			t.Fatalf("%s after shutdown: %+v %v", id, got, err)
		}
	}
	// A stopped pool accepts nothing more: it would never run.
	_, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "a", Credentials: &task.Credentials{Password: "pw"}})
	if keypair.ErrorReason(err) != task.ReasonStopping {
		t.Fatalf("associate after the pool stopped: %v", err)
	}
	if _, total, _ := e.svc.Running(ctx, alice, 0, 0); total != 0 {
		t.Fatalf("%d tasks left READY or RUNNING", total)
	}
}

// TestDeadInstanceTasksFail: the tasks of an instance that stopped without
// a word (kill -9: nothing renews its leases) are failed by another
// instance once their lease runs out.
func TestDeadInstanceTasksFail(t *testing.T) {
	short := func(c *task.Config) {
		c.Lease, c.Renew, c.Poll = 300*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	}
	dead := newEnv(t, newGate(), short)
	ctx := context.Background()
	dead.addKeyPair(t, alice, "k", newKey(t))
	dead.addServer(t, "a", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	tk, err := dead.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "a", Credentials: &task.Credentials{Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	// The dead instance never runs its pool; another on the same store does.
	live := task.NewService(task.Config{Store: dead.st, Executor: newGate(), KeyPairs: dead.kps, Instance: "inst-b",
		Lease: 300 * time.Millisecond, Renew: 50 * time.Millisecond, Poll: 50 * time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = live.Run(rctx) }()
	defer func() { cancel(); <-done }()
	got := dead.wait(t, tk.ID)
	if got.ErrorCode != task.FailInterrupted || got.ErrorMessage != task.InterruptedMessage {
		t.Fatalf("%+v", got)
	}
}
