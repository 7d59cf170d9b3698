package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// TaskStore is what the task contract suite needs of an engine: the
// task.Store under test, the audit log it appends to, and Close.
type TaskStore interface {
	task.Store
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*keypair.AuditEntry, error)
	Close() error
}

// RunTasks runs the task.Store contract suite against the engine open
// makes. As with Run, each subtest gets a new, empty store of its own and
// Run closes it. second, when not nil, opens another store (another
// instance) on the same database as its argument; the suite then also
// claims from both at once, and closes what second returns.
func RunTasks(t *testing.T, open func(t *testing.T) TaskStore, second func(t *testing.T, first TaskStore) TaskStore) {
	tests := []contractCase[TaskStore]{
		{"Servers", testServers},
		{"ServerInvalid", testServerInvalid},
		{"ServerKeepsAssociation", testServerKeepsAssociation},
		{"RemoveServerBusy", testRemoveServerBusy},
		{"CreateGetTask", testCreateGetTask},
		{"CreateTaskInvalid", testCreateTaskInvalid},
		{"ListTasksPaging", testListTasksPaging},
		{"TaskTenancy", testTaskTenancy},
		{"ClaimOrder", testClaimOrder},
		{"ClaimConcurrent", func(t *testing.T, s TaskStore) { testClaimConcurrent(t, s, s) }},
		{"FinishSuccess", testFinishSuccess},
		{"FinishRefused", testFinishRefused},
		{"FailExpired", testFailExpired},
		{"DeleteFailed", testDeleteFailed},
		{"AuditAtomic", testTaskAuditAtomic},
		{"AwkwardInput", testTaskAwkwardInput},
	}
	if second != nil {
		tests = append(tests, contractCase[TaskStore]{"ClaimTwoInstances", func(t *testing.T, s TaskStore) {
			other := second(t, s)
			t.Cleanup(func() { other.Close() })
			testClaimConcurrent(t, s, other)
		}})
	}
	runCases(t, open, tests)
}

// Task fixtures.
const (
	hostKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl host"
	hostKey2 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEm host2"
	owner    = "instance-1"
)

// newServer returns an inventory entry of projectID.
func newServer(id, projectID string) *task.Server {
	return &task.Server{ID: id, ProjectID: projectID, Name: "name-" + id, Address: "10.0.0.5", Port: 22,
		User: "root", HostKeys: []string{hostKey, hostKey2}, SSHDConfig: "/etc/ssh/sshd_config"}
}

// putServer adds newServer(id, projectID) to s.
func putServer(t *testing.T, s TaskStore, id, projectID string) *task.Server {
	t.Helper()
	sv := newServer(id, projectID)
	must(t, s.PutServer(t.Context(), sv), "PutServer "+id)
	return sv
}

// newTask returns a READY BIND task of projectID on serverID, owned by
// owner, leased for an hour.
func newTask(projectID, serverID, ownedBy string) *task.Task {
	return &task.Task{ID: task.NewID(), ProjectID: projectID, UserID: "user-" + projectID,
		ServerID: serverID, ServerName: "name-" + serverID, KeyPairName: "kp", KeyPairID: 7,
		PublicKey: sshPublic, Operation: task.Bind, DisablePassword: true, Port: 2222,
		Owner: ownedBy, LeaseUntil: time.Now().Add(time.Hour)}
}

// createTask stores newTask(projectID, serverID, ownedBy).
func createTask(t *testing.T, s TaskStore, projectID, serverID, ownedBy string) *task.Task {
	t.Helper()
	tk := newTask(projectID, serverID, ownedBy)
	must(t, s.CreateTask(t.Context(), tk, nil), "CreateTask")
	return tk
}

// serverDiff describes how got differs from want, ignoring the times;
// "" when they agree.
func serverDiff(got, want *task.Server) string {
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		return fmt.Sprintf("got %+v, want %+v", g, w)
	}
	return ""
}

func testServers(t *testing.T, s TaskStore) {
	ctx := t.Context()
	if l, err := s.ListServers(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("ListServers on a new store = %v, %v; want none", l, err)
	}
	before := time.Now().Add(-time.Second)
	b := putServer(t, s, "srv-b", "p-1")
	a := putServer(t, s, "srv-a", "p-1")
	c := putServer(t, s, "srv-c", "p-2")
	if a.CreatedAt.Before(before) || a.UpdatedAt.Before(a.CreatedAt) {
		t.Errorf("PutServer set CreatedAt %v UpdatedAt %v", a.CreatedAt, a.UpdatedAt)
	}
	got, err := s.GetServer(ctx, "srv-a")
	must(t, err, "GetServer")
	if d := serverDiff(got, a); d != "" {
		t.Errorf("GetServer: %s", d)
	}
	if !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("GetServer CreatedAt %v, PutServer said %v", got.CreatedAt, a.CreatedAt)
	}
	for _, tc := range []struct {
		project string
		want    []*task.Server
	}{{"", []*task.Server{a, b, c}}, {"p-1", []*task.Server{a, b}}, {"p-2", []*task.Server{c}}, {"p-3", nil}} {
		l, err := s.ListServers(ctx, tc.project)
		must(t, err, "ListServers")
		if len(l) != len(tc.want) {
			t.Fatalf("ListServers(%q) has %d entries, want %d", tc.project, len(l), len(tc.want))
		}
		for i := range l {
			if d := serverDiff(l[i], tc.want[i]); d != "" {
				t.Errorf("ListServers(%q)[%d]: %s", tc.project, i, d)
			}
		}
	}
	// Replacing changes the entry, not its creation time.
	a2 := newServer("srv-a", "p-1")
	a2.Address, a2.Port, a2.User, a2.HostKeys = "host.example.com", 2200, "admin", []string{hostKey2}
	must(t, s.PutServer(ctx, a2), "PutServer again")
	got, err = s.GetServer(ctx, "srv-a")
	must(t, err, "GetServer")
	if d := serverDiff(got, a2); d != "" || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("after replace: %s; CreatedAt %v, want %v", d, got.CreatedAt, a.CreatedAt)
	}

	must(t, s.RemoveServer(ctx, "srv-a"), "RemoveServer")
	_, err = s.GetServer(ctx, "srv-a")
	wantCode(t, err, keypair.ENOTFOUND, "GetServer removed")
	wantCode(t, s.RemoveServer(ctx, "srv-a"), keypair.ENOTFOUND, "RemoveServer again")
	_, err = s.GetServer(ctx, "nope")
	wantCode(t, err, keypair.ENOTFOUND, "GetServer unknown")
}

func testServerInvalid(t *testing.T, s TaskStore) {
	tests := []struct {
		name   string
		change func(sv *task.Server)
	}{
		{"no id", func(sv *task.Server) { sv.ID = "" }},
		{"long id", func(sv *task.Server) { sv.ID = strings.Repeat("x", 256) }},
		{"control in id", func(sv *task.Server) { sv.ID = "a\nb" }},
		{"no project", func(sv *task.Server) { sv.ProjectID = "" }},
		{"bad address", func(sv *task.Server) { sv.Address = "not an address" }},
		{"port 0", func(sv *task.Server) { sv.Port = 0 }},
		{"port 65536", func(sv *task.Server) { sv.Port = 65536 }},
		{"no user", func(sv *task.Server) { sv.User = "" }},
		{"no host key", func(sv *task.Server) { sv.HostKeys = nil }},
		{"two-line host key", func(sv *task.Server) { sv.HostKeys = []string{hostKey + "\n" + hostKey2} }},
	}
	for _, tc := range tests {
		sv := newServer("srv", "p-1")
		tc.change(sv)
		wantCode(t, s.PutServer(t.Context(), sv), keypair.EINVALID, tc.name)
	}
	if l, err := s.ListServers(t.Context(), ""); err != nil || len(l) != 0 {
		t.Fatalf("after refused puts ListServers = %d entries, %v; want none", len(l), err)
	}
}

func testServerKeepsAssociation(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	tk := createTask(t, s, "p-1", "srv", owner)
	claimed, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
	must(t, err, "ClaimTask")
	if claimed == nil || claimed.ID != tk.ID {
		t.Fatalf("ClaimTask = %+v, want task %s", claimed, tk.ID)
	}
	claimed.Phase = task.Success
	assoc := &task.Server{ID: "srv", KeyPairName: "kp", KeyPairID: 7, PublicKey: sshPublic, PasswordDisabled: true}
	must(t, s.FinishTask(ctx, claimed, owner, assoc, nil), "FinishTask")
	again := newServer("srv", "p-1")
	again.Address = "10.0.0.6"
	must(t, s.PutServer(ctx, again), "PutServer")
	if again.KeyPairName != "kp" || again.KeyPairID != 7 || again.PublicKey != sshPublic || !again.PasswordDisabled {
		t.Errorf("PutServer over an associated server returned %+v, want the association kept", again)
	}
	got, err := s.GetServer(ctx, "srv")
	must(t, err, "GetServer")
	if d := serverDiff(got, again); d != "" {
		t.Errorf("GetServer: %s", d)
	}
}

func testRemoveServerBusy(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	tk := createTask(t, s, "p-1", "srv", owner)
	wantCode(t, s.RemoveServer(ctx, "srv"), keypair.ECONFLICT, "RemoveServer with a READY task")
	claimed, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
	must(t, err, "ClaimTask")
	wantCode(t, s.RemoveServer(ctx, "srv"), keypair.ECONFLICT, "RemoveServer with a RUNNING task")
	claimed.Phase, claimed.ErrorCode, claimed.ErrorMessage = task.Failed, task.FailAuth, "authentication failed"
	must(t, s.FinishTask(ctx, claimed, owner, nil, nil), "FinishTask")
	must(t, s.RemoveServer(ctx, "srv"), "RemoveServer once its task failed")
	// The finished task outlives the inventory entry.
	got, err := s.GetTask(ctx, tk.ID)
	must(t, err, "GetTask after RemoveServer")
	if got.Phase != task.Failed || got.ServerID != "srv" {
		t.Errorf("task after RemoveServer: %+v", got)
	}
}

// testTaskAwkwardInput: ids and projects holding NUL or invalid UTF-8
// (which PostgreSQL's text cannot hold) find nothing, as any unknown one.
func testTaskAwkwardInput(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	createTask(t, s, "p-1", "srv", owner)
	for _, bad := range []string{"srv\x00", "\xff\xfe", "p-1\x00"} {
		_, err := s.GetServer(ctx, bad)
		wantCode(t, err, keypair.ENOTFOUND, fmt.Sprintf("GetServer(%q)", bad))
		wantCode(t, s.RemoveServer(ctx, bad), keypair.ENOTFOUND, fmt.Sprintf("RemoveServer(%q)", bad))
		if l, err := s.ListServers(ctx, bad); err != nil || len(l) != 0 {
			t.Errorf("ListServers(%q) = %d, %v; want none", bad, len(l), err)
		}
		if ts, total, err := s.ListTasks(ctx, bad, []task.Phase{task.Ready}, 0, 0); err != nil || total != 0 || len(ts) != 0 {
			t.Errorf("ListTasks(%q) = %d, %d, %v; want none", bad, len(ts), total, err)
		}
		if n, err := s.DeleteFailedTasks(ctx, bad); err != nil || n != 0 {
			t.Errorf("DeleteFailedTasks(%q) = %d, %v", bad, n, err)
		}
		sv := newServer(bad, "p-1")
		wantCode(t, s.PutServer(ctx, sv), keypair.EINVALID, fmt.Sprintf("PutServer(%q)", bad))
		tk := newTask(bad, "srv", owner)
		if err := s.CreateTask(ctx, tk, nil); err == nil {
			t.Errorf("CreateTask with project %q accepted", bad)
		}
	}

	// What a server printed may be anything; the message is kept, cleaned.
	tk := claim(t, s, owner)
	tk.Phase, tk.ErrorCode, tk.ErrorMessage = task.Failed, task.FailRemote, "cannot write authorized_keys: \xff\x00denied"
	must(t, s.FinishTask(ctx, tk, owner, nil, tk.AuditEntry(time.Now())), "FinishTask with an awkward message")
	got, err := s.GetTask(ctx, tk.ID)
	must(t, err, "GetTask")
	if got.ErrorMessage != "cannot write authorized_keys: \uFFFDdenied" {
		t.Errorf("stored message %q", got.ErrorMessage)
	}
}
