package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestWithdrawnWhileReady withdraws a user's access while their associate
// waits READY behind another task on the same server: when it comes to
// run it must fail with the access-withdrawn task_error_code, and the
// key pair must not reach the server. A key escrow service that keeps
// acting for a user an operator shut out is not usable.
func TestWithdrawnWhileReady(t *testing.T) {
	for _, w := range withdrawals() {
		if w.name == "password changed" {
			continue // a new password ends tokens, not the user's access
		}
		t.Run(w.name, func(t *testing.T) {
			// The first task holds the server (through a listener that
			// never speaks SSH, until released) while the withdrawal
			// happens.
			e := newAssocEnv(t, "--ssh-connect-timeout", "60s", "--ssh-task-timeout", "60s")
			s := sshdtest.Start(t, sshdtest.Options{})
			e.registerSSHD(t, "web-1", s)
			kp := newKeyPair(t, e.c, "held")
			held, release := heldPort(t)
			r, err := e.c.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{KeypairName: kp.Name,
				Server: &model.EcsServerInfo{Id: "web-1", Port: ptr(int64(held)), Auth: byPassword(s.Password)}}})
			if err != nil || r.TaskId == nil {
				t.Fatalf("associate through the silent port: %+v %v", r, err)
			}
			holder := *r.TaskId
			waiting := associate(t, e.c, kp.Name, "web-1", byPassword(s.Password), false)
			if st := taskStatus(t, e, waiting); st != "READY_BIND" {
				t.Fatalf("the second task is %s while the first holds the server, want READY_BIND", st)
			}
			w.do(t, e.srv, e.adminTok, e.alice)
			release()

			got := storedTask(t, e, waiting)
			if got.Status() != "FAILED_BIND" || kpsapi.TaskErrorCode(got.ErrorCode) != kpsapi.ErrTaskWithdrawn {
				t.Fatalf("the task of a withdrawn user ended %s %s %q, want FAILED_BIND with %s",
					got.Status(), got.ErrorCode, got.ErrorMessage, kpsapi.ErrTaskWithdrawn.Code)
			}
			if keyLines(s.AuthorizedKeys(t), kp.Public) != 0 {
				t.Fatal("the key pair of a withdrawn user reached the server")
			}
			if h := storedTask(t, e, holder); h.Phase != task.Failed {
				t.Fatalf("the first task ended %s", h.Status())
			}
		})
	}
}

// heldPort is a port on 127.0.0.1 that accepts connections and says
// nothing until release closes them (and the listener): a task connecting
// to it holds its server until then.
func heldPort(t *testing.T) (port int, release func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(release)
	return l.Addr().(*net.TCPAddr).Port, release
}

// taskStatus is a task's status as its owner sees it.
func taskStatus(t *testing.T, e *assocEnv, id string) string {
	t.Helper()
	r, err := e.c.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: id})
	if err != nil || r.TaskStatus == nil {
		t.Fatalf("task %s: %+v %v", id, r, err)
	}
	return r.TaskStatus.Value()
}

// storedTask waits until task id is finished in keyhaven's database and
// returns it; it reads the store, since the user may no longer poll.
func storedTask(t *testing.T, e *assocEnv, id string) *task.Task {
	t.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, e.srv.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(pollLimit)
	for {
		tk, err := st.GetTask(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Phase.Finished() {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is still %s", id, tk.Status())
		}
		time.Sleep(pollEvery)
	}
}
