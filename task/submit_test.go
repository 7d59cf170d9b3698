package task_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

const someHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"

// TestSubmitRules checks who may submit what: the error code and reason
// of each refusal, and that another project's server is answered exactly
// as an unknown one.
func TestSubmitRules(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	k := newKey(t)
	e.addKeyPair(t, alice, "mine", k)
	e.addKeyPair(t, bob, "bobs", newKey(t))
	e.addServer(t, "s1", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	e.addServer(t, "s2", "p2", "127.0.0.1", 22, "root", someHostKey, "")
	pw := &task.Credentials{Password: "secret-pw"}
	for _, c := range []struct {
		name   string
		actor  keypair.Actor
		in     task.AssociateInput
		code   keypair.Code
		reason keypair.Reason
	}{
		{"reader", reader, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: pw}, keypair.EFORBIDDEN, task.ReasonTaskForbidden},
		{"no auth", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1"}, keypair.EINVALID, task.ReasonAuthRequired},
		{"empty key", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: &task.Credentials{}}, keypair.EINVALID, ""},
		{"no key pair name", alice, task.AssociateInput{ServerID: "s1", Credentials: pw}, keypair.EINVALID, ""},
		{"no server id", alice, task.AssociateInput{KeyPairName: "mine", Credentials: pw}, keypair.EINVALID, ""},
		{"port", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: pw, Port: 70000}, keypair.EINVALID, ""},
		{"unknown server", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "nope", Credentials: pw}, keypair.ENOTFOUND, task.ReasonServerNotFound},
		{"another project's server", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s2", Credentials: pw}, keypair.ENOTFOUND, task.ReasonServerNotFound},
		{"unknown key pair", alice, task.AssociateInput{KeyPairName: "nope", ServerID: "s1", Credentials: pw}, keypair.ENOTFOUND, ""},
		{"another user's key pair", alice, task.AssociateInput{KeyPairName: "bobs", ServerID: "s1", Credentials: pw}, keypair.ENOTFOUND, ""},
		{"bad private key", alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: &task.Credentials{PrivateKey: []byte("-----BEGIN nonsense")}}, keypair.EINVALID, keypair.ReasonPrivateKeyInvalid},
		{"other project's caller", mallet, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: pw}, keypair.ENOTFOUND, task.ReasonServerNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Associate(ctx, c.actor, c.in)
			if keypair.ErrorCode(err) != c.code || (c.reason != "" && keypair.ErrorReason(err) != c.reason) {
				t.Fatalf("got %v (%s), want %s %s", err, keypair.ErrorReason(err), c.code, c.reason)
			}
			if strings.Contains(err.Error(), "secret-pw") || strings.Contains(err.Error(), "nonsense") {
				t.Fatalf("the error holds the credentials: %v", err)
			}
		})
	}
	_, unknown := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "mine", ServerID: "nope", Credentials: pw})
	_, other := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s2", Credentials: pw})
	if strings.ReplaceAll(keypair.ErrorMessage(unknown), "nope", "ID") != strings.ReplaceAll(keypair.ErrorMessage(other), "s2", "ID") {
		t.Fatal("unknown and foreign servers are told apart")
	}
	if msg := keypair.ErrorMessage(other); strings.Contains(msg, "p2") {
		t.Fatalf("the message names the other project: %s", msg)
	}

	// Accepted: a password is a BIND, a private key a REPLACE.
	bind, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: pw, DisablePassword: true})
	if err != nil || bind.Status() != "READY_BIND" || bind.Owner != "inst-a" || bind.PublicKey != k.pub {
		t.Fatalf("bind: %+v %v", bind, err)
	}
	repl, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "mine", ServerID: "s1", Credentials: &task.Credentials{PrivateKey: newKey(t).priv}})
	if err != nil || repl.Status() != "READY_REPLACE" {
		t.Fatalf("replace: %+v %v", repl, err)
	}
	running, total, err := e.svc.Running(ctx, bob, 0, 0)
	if err != nil || total != 2 || len(running) != 2 || running[0].ID != bind.ID {
		t.Fatalf("running: %d %v", total, err)
	}
	if _, total, _ := e.svc.Running(ctx, mallet, 0, 0); total != 0 {
		t.Fatal("another project sees the tasks")
	}
	if _, err := e.svc.Get(ctx, mallet, bind.ID); keypair.ErrorReason(err) != task.ReasonTaskNotFound {
		t.Fatalf("another project's task: %v", err)
	}
	if got, err := e.svc.Get(ctx, reader, bind.ID); err != nil || got.Status() != "READY_BIND" {
		t.Fatalf("a reader reads tasks: %v", err)
	}
	if err := e.svc.DeleteFailed(ctx, alice, bind.ID); keypair.ErrorReason(err) != task.ReasonTaskInProgress {
		t.Fatalf("delete of a READY task: %v", err)
	}
	for _, id := range []string{"", "x", "../etc", strings.Repeat("a", 36), "00000000-0000-0000-0000-000000000000"} {
		if _, err := e.svc.Get(ctx, alice, id); keypair.ErrorReason(err) != task.ReasonTaskNotFound {
			t.Errorf("Get(%q): %v", id, err)
		}
		if err := e.svc.DeleteFailed(ctx, alice, id); keypair.ErrorReason(err) != task.ReasonFailedTaskNotFound {
			t.Errorf("DeleteFailed(%q): %v", id, err)
		}
	}

	// Disassociate needs an association first.
	if _, err := e.svc.Disassociate(ctx, alice, task.DisassociateInput{ServerID: "s1", Credentials: pw}); keypair.ErrorReason(err) != task.ReasonNotAssociated {
		t.Fatalf("disassociate with nothing associated: %v", err)
	}
	if _, err := e.svc.Disassociate(ctx, alice, task.DisassociateInput{ServerID: "s1"}); keypair.ErrorReason(err) != task.ReasonAuthRequired {
		t.Fatalf("disassociate without auth: %v", err)
	}
	if _, err := e.svc.Disassociate(ctx, reader, task.DisassociateInput{ServerID: "s1", Credentials: pw}); keypair.ErrorCode(err) != keypair.EFORBIDDEN {
		t.Fatalf("reader disassociates: %v", err)
	}

	// A batch: each item on its own, at most ten.
	items := []task.AssociateInput{{KeyPairName: "mine", ServerID: "s1", Credentials: pw}, {KeyPairName: "mine", ServerID: "nope", Credentials: pw}}
	res, err := e.svc.BatchAssociate(ctx, alice, items)
	if err != nil || len(res) != 2 || res[0].Err != nil || res[0].Task == nil || keypair.ErrorReason(res[1].Err) != task.ReasonServerNotFound {
		t.Fatalf("batch: %+v %v", res, err)
	}
	if _, err := e.svc.BatchAssociate(ctx, alice, make([]task.AssociateInput, 11)); keypair.ErrorCode(err) != keypair.EINVALID {
		t.Fatalf("11 items: %v", err)
	}
}
