package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/task"
)

// TestKillDuringAssociations kills keyhaven (kill -9) while six tasks wait
// on three servers that accept TCP but never answer SSH (one RUNNING and
// one READY behind it on each, with timeouts far longer than the test).
// After a restart on the same data directory no task stays READY or
// RUNNING: every one ends FAILED_BIND with the "interrupted" code, listed
// in failed-tasks with the message saying to submit it again, and
// running-tasks is empty.
func TestKillDuringAssociations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	flags := []string{"--quota-key-pairs", "-1", "--ssh-connect-timeout", "30m", "--ssh-task-timeout", "60m"}
	addr := freeAddr(t)
	cmd := startKeyhaven(t, bin, dir, addr, flags...)
	srv := &testServer{URL: "http://" + addr}
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)

	const servers = 3
	pin, _ := sshKeygen(t, "-t", "ed25519") // never checked: no server answers
	for i := range servers {
		host, port := silentHost(t)
		register(t, dir, filepath.Join(dir, "keyhaven.db"), sshHost{ID: fmt.Sprintf("hung-%d", i), Project: alice.Project,
			Host: host, Port: port, HostKey: strings.TrimSpace(pin)})
	}
	var ids []string
	for j := range 2 * servers {
		k := newKeyPair(t, c, fmt.Sprintf("hung-k%d", j))
		ids = append(ids, associate(t, c, k.Name, fmt.Sprintf("hung-%d", j%servers), byPassword("pw"), false))
	}

	// Wait until each server runs one task; the other waits behind it.
	deadline := time.Now().Add(pollLimit)
	for {
		running, ready := 0, 0
		for _, id := range ids {
			r, err := c.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: id})
			if err != nil || r.TaskStatus == nil {
				t.Fatalf("task %s: %+v %v", id, r, err)
			}
			switch r.TaskStatus.Value() {
			case "RUNNING_BIND":
				running++
			case "READY_BIND":
				ready++
			default:
				t.Fatalf("task %s is %s while its server never answers", id, r.TaskStatus.Value())
			}
		}
		if running > servers {
			t.Fatalf("%d tasks RUNNING on %d servers", running, servers)
		}
		if running == servers && ready == servers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d tasks RUNNING and %d READY, want %d of each", pollLimit, running, ready, servers)
		}
		time.Sleep(pollEvery)
	}
	if n := len(allRunning(t, c)); n != len(ids) {
		t.Fatalf("running-tasks lists %d tasks, want %d", n, len(ids))
	}
	// A running task is not a failed task: it cannot be deleted.
	_, err := c.DeleteFailedTask(&model.DeleteFailedTaskRequest{TaskId: ids[0]})
	wantKPSError(t, err, kpsapi.ErrTaskInProgress.Status, kpsapi.ErrTaskInProgress.Code)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	addr = freeAddr(t)
	startKeyhaven(t, bin, dir, addr, flags...)
	c = kpsClient(t, &testServer{URL: "http://" + addr}, alice)
	for _, id := range ids {
		if st := waitFinished(t, c, id); st != "FAILED_BIND" {
			t.Fatalf("task %s ended %s after the restart, want FAILED_BIND", id, st)
		}
	}
	if n := len(allRunning(t, c)); n != 0 {
		t.Fatalf("running-tasks lists %d tasks after the restart", n)
	}
	failed := allFailed(t, c)
	if len(failed) != len(ids) {
		t.Fatalf("failed-tasks lists %d tasks, want %d: %s", len(failed), len(ids), failedSummary(t, c))
	}
	for _, f := range failed {
		msg := str(f.TaskErrorMsg)
		if code := str(f.TaskErrorCode); code != kpsapi.ErrTaskInterrupted.Code {
			t.Errorf("task %s: task_error_code %s, want %s", str(f.TaskId), code, kpsapi.ErrTaskInterrupted.Code)
		}
		if msg != task.InterruptedMessage {
			t.Errorf("task %s: message %q, want %q", str(f.TaskId), msg, task.InterruptedMessage)
		}
	}
}
