package task_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/sshpush"
	"github.com/keyhaven/keyhaven/task"
)

// TestDisassociateAfterQueuedAssociate: a disassociate accepted while an
// associate of another key pair waits for the same server must take off
// the key pair the server has when the disassociate runs. Taking off the
// one it had when the request came would leave the newer key pair on the
// server, logging in, while the inventory says none is associated and no
// disassociate can remove it.
func TestDisassociateAfterQueuedAssociate(t *testing.T) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	e := newEnv(t, sshpush.New(sshpush.Config{}), func(c *task.Config) { c.ConnectTimeout = 2 * time.Second })
	e.run(t)
	ctx := context.Background()
	k0, k1 := newKey(t), newKey(t)
	e.addKeyPair(t, alice, "k0", k0)
	e.addKeyPair(t, alice, "k1", k1)
	e.addServer(t, "web", "p1", sshd.Host, sshd.Port, sshd.User, sshd.HostKey, sshd.Config)
	pw := &task.Credentials{Password: sshd.Password}
	first, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k0", ServerID: "web", Credentials: pw})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.wait(t, first.ID); got.Phase != task.Success {
		t.Fatalf("bind k0: %s %s", got.Status(), got.ErrorMessage)
	}

	// A task through a port that never answers SSH holds the server
	// while the next two are accepted.
	_, p, _ := net.SplitHostPort(sshdtest.Silent(t))
	port, _ := strconv.Atoi(p)
	holder, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k0", ServerID: "web", Credentials: pw, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	bind, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k1", ServerID: "web", Credentials: pw})
	if err != nil {
		t.Fatal(err)
	}
	unbind, err := e.svc.Disassociate(ctx, alice, task.DisassociateInput{ServerID: "web", Credentials: pw})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, holder.ID)
	if got := e.wait(t, bind.ID); got.Phase != task.Success {
		t.Fatalf("bind k1: %s %s", got.Status(), got.ErrorMessage)
	}
	if got := e.wait(t, unbind.ID); got.Phase != task.Success {
		t.Fatalf("unbind: %s %s", got.Status(), got.ErrorMessage)
	}
	srv, err := e.st.GetServer(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if sshd.CanLoginKey(t, k1.priv) && srv.PublicKey != k1.pub {
		t.Fatalf("k1 still logs in after the disassociate, and the inventory says %q is associated", srv.KeyPairName)
	}
}
