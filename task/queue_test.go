package task_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// TestQueueBound: a member flooding associate requests at a server that
// holds each task fills this instance's queue of waiting tasks (their
// credentials in memory), and the next request is refused as busy, with a
// Retry-After, without a task; once a task finishes, room is made again.
func TestQueueBound(t *testing.T) {
	g := newGate()
	const queue = 20
	e := newEnv(t, g, func(c *task.Config) { c.Workers, c.Queue = 1, queue })
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addServer(t, "slow", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	submit := func() (*task.Task, error) {
		return e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "slow", Credentials: &task.Credentials{Password: "pw"}})
	}
	first, err := submit()
	if err != nil {
		t.Fatal(err)
	}
	<-g.started // it runs, holding the server; the others wait
	for i := range queue {
		if _, err := submit(); err != nil {
			t.Fatalf("submission %d of %d: %v", i+1, queue, err)
		}
	}
	_, err = submit()
	if keypair.ErrorCode(err) != keypair.EBUSY || keypair.ErrorReason(err) != task.ReasonQueueFull || keypair.ErrorRetryAfter(err) <= 0 {
		t.Fatalf("submission past the queue: %v, want busy (%s) with a Retry-After", err, task.ReasonQueueFull)
	}
	if _, total, _ := e.svc.Running(ctx, alice, 0, 0); total != queue+1 {
		t.Fatalf("running-tasks lists %d, want %d: the refused one made a task", total, queue+1)
	}
	g.release <- struct{}{} // the first finishes, the next runs
	e.wait(t, first.ID)
	<-g.started
	if _, err := submit(); err != nil {
		t.Fatal(fmt.Errorf("after a task finished: %w", err))
	}
	close(g.release)
}

// TestProjectQueueBound: one project flooding fills only its share of the
// queue; another project's request is still accepted.
func TestProjectQueueBound(t *testing.T) {
	g := newGate()
	const share = 3
	e := newEnv(t, g, func(c *task.Config) { c.Workers, c.Queue, c.ProjectQueue = 1, 10, share })
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addKeyPair(t, mallet, "m", newKey(t))
	e.addServer(t, "slow", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	e.addServer(t, "theirs", mallet.ProjectID, "127.0.0.1", 22, "root", someHostKey, "")
	flood := func() error {
		_, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "slow", Credentials: &task.Credentials{Password: "pw"}})
		return err
	}
	if err := flood(); err != nil {
		t.Fatal(err)
	}
	<-g.started // runs, holding the only worker
	for i := range share {
		if err := flood(); err != nil {
			t.Fatalf("submission %d of the project's %d: %v", i+1, share, err)
		}
	}
	if err := flood(); keypair.ErrorReason(err) != task.ReasonQueueFull || keypair.ErrorRetryAfter(err) <= 0 {
		t.Fatalf("submission past the project's share: %v, want busy (%s)", err, task.ReasonQueueFull)
	}
	if _, err := e.svc.Associate(ctx, mallet, task.AssociateInput{KeyPairName: "m", ServerID: "theirs", Credentials: &task.Credentials{Password: "pw"}}); err != nil {
		t.Fatalf("another project's request while the first floods: %v", err)
	}
	close(g.release)
}
