package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// TestAssociateFailures submits an associate to five servers that each
// fail in their own way. Every task ends FAILED_BIND, is listed in
// failed-tasks with the task_error_code of its cause and a message naming what to
// fix, never carries the password, changes nothing on the server, and can
// be deleted: one by one, then all at once.
func TestAssociateFailures(t *testing.T) {
	// A short connect timeout, so the silent server fails fast. sshd's PAM
	// delays each wrong password (tried by password, then by
	// keyboard-interactive) by about two seconds, 3.5 to 6 s in all, which
	// must still be an auth failure: the connect timeout bounds the
	// connect and key exchange, not the login.
	e := newAssocEnv(t, "--ssh-connect-timeout", "1s")
	kp := newKeyPair(t, e.c, "fails")
	db, data := e.srv.cfg.Database, e.srv.cfg.DataDir

	type failCase struct {
		server   string
		password string
		// code is the task_error_code wanted.
		code kpsapi.ErrorCode
		// words: the message must contain each (case-insensitive).
		words []string
		// untouched, when set, must not gain the key.
		untouched *sshdtest.Server
	}
	var cases []failCase

	wrongPw := sshdtest.Start(t, sshdtest.Options{})
	register(t, data, db, sshdInventory("wrong-password", e.alice.Project, wrongPw))
	cases = append(cases, failCase{"wrong-password", "not-" + wrongPw.Password, kpsapi.ErrTaskAuthFailed, []string{"password"}, wrongPw})

	otherKey, _ := sshKeygen(t, "-t", "ed25519")
	otherKey = strings.TrimSpace(otherKey)
	wrongHost := sshdtest.Start(t, sshdtest.Options{})
	pinned := sshdInventory("wrong-host-key", e.alice.Project, wrongHost)
	pinned.HostKey = otherKey
	register(t, data, db, pinned)
	cases = append(cases, failCase{"wrong-host-key", wrongHost.Password, kpsapi.ErrTaskHostKey, []string{"host key",
		wrongHost.Host + ":" + strconv.Itoa(wrongHost.Port), sha256Fingerprint(t, otherKey), sha256Fingerprint(t, wrongHost.HostKey)}, wrongHost})

	host, port := closedHost(t)
	register(t, data, db, sshHost{ID: "nothing-listening", Project: e.alice.Project, Host: host, Port: port, HostKey: otherKey})
	cases = append(cases, failCase{"nothing-listening", "pw", kpsapi.ErrTaskUnreachable, []string{host + ":" + strconv.Itoa(port)}, nil})

	host, port = silentHost(t)
	register(t, data, db, sshHost{ID: "never-answers", Project: e.alice.Project, Host: host, Port: port, HostKey: otherKey})
	cases = append(cases, failCase{"never-answers", "pw", kpsapi.ErrTaskTimeout, []string{"timed out", host + ":" + strconv.Itoa(port)}, nil})

	readOnly := sshdtest.Start(t, sshdtest.Options{})
	readOnly.SetAuthorizedKeys(t, operatorLine(t)+"\n")
	before := readOnly.AuthorizedKeys(t)
	readOnly.LockAuthorizedKeys(t)
	register(t, data, db, sshdInventory("read-only", e.alice.Project, readOnly))
	cases = append(cases, failCase{"read-only", readOnly.Password, kpsapi.ErrTaskRemote, []string{"authorized_keys"}, readOnly})

	ids := map[string]string{} // task id → server
	for _, c := range cases {
		ids[associate(t, e.c, kp.Name, c.server, byPassword(c.password), false)] = c.server
	}
	for id, server := range ids {
		if st, err := pollTask(e.c, id, associateDone, associateFailed); st != "FAILED_BIND" || err == nil {
			t.Fatalf("associate with %s ended %q (%v), want FAILED_BIND", server, st, err)
		}
	}

	failed := allFailed(t, e.c)
	if len(failed) != len(cases) {
		t.Fatalf("failed-tasks lists %d tasks, want %d: %s", len(failed), len(cases), failedSummary(t, e.c))
	}
	byServer := map[string]model.FailedTasks{}
	for _, f := range failed {
		if ids[str(f.TaskId)] != str(f.ServerId) || str(f.KeypairName) != kp.Name || str(f.TaskTime) == "" {
			t.Errorf("failed task %+v does not match what was submitted", f)
		}
		byServer[str(f.ServerId)] = f
	}
	for _, c := range cases {
		f := byServer[c.server]
		code, msg := str(f.TaskErrorCode), str(f.TaskErrorMsg)
		if code != c.code.Code || msg == "" {
			t.Errorf("%s: task_error_code %q, task_error_msg %q; want %s and a message", c.server, code, msg, c.code.Code)
		}
		for _, w := range c.words {
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
				t.Errorf("%s: message %q does not say %q", c.server, msg, w)
			}
		}
		if strings.Contains(msg, c.password) {
			t.Errorf("%s: message %q carries the password", c.server, msg)
		}
		if c.untouched != nil && keyLines(c.untouched.AuthorizedKeys(t), kp.Public) != 0 {
			t.Errorf("%s: the failed task left the key on the server", c.server)
		}
	}
	if after := readOnly.AuthorizedKeys(t); after != before {
		t.Errorf("the unwritable authorized_keys changed:\n%s\nwas:\n%s", after, before)
	}
	if r := allRunning(t, e.c); len(r) != 0 {
		t.Fatalf("%d tasks still in running-tasks after they failed", len(r))
	}

	// Delete one, then the same again (its 4xx), then all.
	first := str(failed[0].TaskId)
	if r, err := e.c.DeleteFailedTask(&model.DeleteFailedTaskRequest{TaskId: first}); err != nil || r.HttpStatusCode != 200 {
		t.Fatalf("delete failed task %s: %+v %v", first, r, err)
	}
	if n := len(allFailed(t, e.c)); n != len(cases)-1 {
		t.Fatalf("after deleting one, failed-tasks lists %d, want %d", n, len(cases)-1)
	}
	nextSigningSecond() // the repeat must not be refused as a replay
	_, err := e.c.DeleteFailedTask(&model.DeleteFailedTaskRequest{TaskId: first})
	wantKPSError(t, err, kpsapi.ErrFailedTaskNotFound.Status, kpsapi.ErrFailedTaskNotFound.Code)
	if r, err := e.c.DeleteAllFailedTask(&model.DeleteAllFailedTaskRequest{}); err != nil || r.HttpStatusCode != 200 {
		t.Fatalf("delete all failed tasks: %+v %v", r, err)
	}
	if n := len(allFailed(t, e.c)); n != 0 {
		t.Fatalf("after deleting all, failed-tasks lists %d", n)
	}
	nextSigningSecond()
	if r, err := e.c.DeleteAllFailedTask(&model.DeleteAllFailedTaskRequest{}); err != nil || r.HttpStatusCode != 200 {
		t.Fatalf("delete all failed tasks when there are none: %+v %v", r, err)
	}
}
