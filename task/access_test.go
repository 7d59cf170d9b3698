package task_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/policy"
	"github.com/keyhaven/keyhaven/task"
)

// roles is an identity service's answer of current roles, changed by the
// test while a task waits. A fake: the real one (the built-in identity)
// cannot be made to fail on demand; cmd/keyhaven's TestWithdrawnWhileReady
// drives it for real.
type roles struct {
	mu    sync.Mutex
	roles []string
	err   error
}

func (r *roles) CurrentRoles(context.Context, string, string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roles, r.err
}

func (r *roles) set(roles []string, err error) {
	r.mu.Lock()
	r.roles, r.err = roles, err
	r.mu.Unlock()
}

// TestAccessCheckedWhenTaskRuns: a task waiting READY behind another on
// its server runs only if its user may still do it when its turn comes;
// otherwise it fails without the executor being asked, and an identity
// service that cannot answer fails it too (closed, not open).
func TestAccessCheckedWhenTaskRuns(t *testing.T) {
	cases := []struct {
		name  string
		roles []string
		err   error
		want  task.FailureCode
	}{
		{"still a member", []string{policy.RoleMember}, nil, ""},
		{"role removed", nil, nil, task.FailWithdrawn},
		{"now only a reader", []string{policy.RoleReader}, nil, task.FailWithdrawn},
		{"identity unreachable", nil, errors.New("database is locked"), task.FailInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGate()
			acc := &roles{roles: []string{policy.RoleMember}}
			e := newEnv(t, g, func(cfg *task.Config) { cfg.Access = acc })
			e.run(t)
			ctx := context.Background()
			e.addKeyPair(t, alice, "k", newKey(t))
			e.addServer(t, "one", "p1", "127.0.0.1", 22, "root", someHostKey, "")
			submit := func() string {
				tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "one", Credentials: &task.Credentials{Password: "pw"}})
				if err != nil {
					t.Fatal(err)
				}
				return tk.ID
			}
			first := submit()
			<-g.started // the first holds the server
			second := submit()
			acc.set(c.roles, c.err)
			g.release <- struct{}{}
			if got := e.wait(t, first); got.Phase != task.Success {
				t.Fatalf("first task: %s", got.Status())
			}
			if c.want == "" {
				<-g.started
				g.release <- struct{}{}
			}
			got := e.wait(t, second)
			if got.ErrorCode != c.want || (c.want == "") != (got.Phase == task.Success) {
				t.Fatalf("second task ended %s %s %q, want failure code %q", got.Status(), got.ErrorCode, got.ErrorMessage, c.want)
			}
			if c.want != "" && len(g.started) != 0 {
				t.Fatal("the executor was asked to run a task whose user lost access")
			}
		})
	}
}

// TestServerMovedWhileReady: a server registered again under another
// project while a task of the first project waits for it is gone to that
// task: it fails as if the server had been removed, and the executor is
// never asked to put the first project's key pair on the other project's
// server.
func TestServerMovedWhileReady(t *testing.T) {
	g := newGate()
	e := newEnv(t, g, nil)
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addServer(t, "one", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	submit := func() string {
		tk, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "one", Credentials: &task.Credentials{Password: "pw"}})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	first := submit()
	<-g.started
	second := submit()
	e.addServer(t, "one", mallet.ProjectID, "127.0.0.1", 22, "root", someHostKey, "")
	g.release <- struct{}{}
	e.wait(t, first)
	got := e.wait(t, second)
	if got.Phase != task.Failed || !strings.Contains(got.ErrorMessage, "no longer in the project's inventory") {
		t.Fatalf("the task on a server moved to another project ended %s %q, want failed as removed", got.Status(), got.ErrorMessage)
	}
	if len(g.started) != 0 {
		t.Fatal("the executor was asked to work on another project's server")
	}
}

// TestKeyPairDeletedWhileReady: a key pair deleted while its associate
// waits is not put on the server: the task fails as withdrawn without
// the executor being asked.
func TestKeyPairDeletedWhileReady(t *testing.T) {
	g := newGate()
	e := newEnv(t, g, nil)
	e.run(t)
	ctx := context.Background()
	e.addKeyPair(t, alice, "k", newKey(t))
	e.addKeyPair(t, alice, "gone", newKey(t))
	e.addServer(t, "one", "p1", "127.0.0.1", 22, "root", someHostKey, "")
	first, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "k", ServerID: "one", Credentials: &task.Credentials{Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	<-g.started
	second, err := e.svc.Associate(ctx, alice, task.AssociateInput{KeyPairName: "gone", ServerID: "one", Credentials: &task.Credentials{Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.kps.Delete(ctx, alice, "", "gone"); err != nil {
		t.Fatal(err)
	}
	g.release <- struct{}{}
	e.wait(t, first.ID)
	if got := e.wait(t, second.ID); got.ErrorCode != task.FailWithdrawn {
		t.Fatalf("the associate of a deleted key pair ended %s %s %q, want %s", got.Status(), got.ErrorCode, got.ErrorMessage, task.FailWithdrawn)
	}
	if len(g.started) != 0 {
		t.Fatal("the executor was asked to put a deleted key pair on the server")
	}
}
