package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// taskDiff describes how got differs from want; "" when they agree. Times
// are compared to the microsecond, which every engine keeps.
func taskDiff(got, want *task.Task) string {
	g, w := *got, *want
	for _, p := range []*time.Time{&g.LeaseUntil, &g.CreatedAt, &g.StartedAt, &g.FinishedAt,
		&w.LeaseUntil, &w.CreatedAt, &w.StartedAt, &w.FinishedAt} {
		if !p.IsZero() {
			*p = p.UTC().Truncate(time.Microsecond)
		}
	}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		return fmt.Sprintf("got %+v, want %+v", g, w)
	}
	return ""
}

// taskIDs returns the ids of ts, in order.
func taskIDs(ts []*task.Task) []string {
	return mapSlice(ts, func(t *task.Task) string { return t.ID })
}

func testCreateGetTask(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	before := time.Now().Add(-time.Second)
	a := createTask(t, s, "p-1", "srv", owner)
	b := newTask("p-1", "srv", owner)
	b.ID = strings.ToUpper(b.ID)
	b.Operation, b.DisablePassword, b.Port = task.Unbind, false, 0
	must(t, s.CreateTask(ctx, b, nil), "CreateTask upper-case id")
	if b.ID != strings.ToLower(b.ID) {
		t.Errorf("CreateTask left id %s, want it lower-case", b.ID)
	}
	if a.Phase != task.Ready || a.Seq <= 0 || b.Seq <= a.Seq {
		t.Errorf("CreateTask set phase %s, seqs %d then %d; want READY and increasing", a.Phase, a.Seq, b.Seq)
	}
	if a.CreatedAt.Before(before) {
		t.Errorf("CreatedAt %v, want now", a.CreatedAt)
	}
	for _, want := range []*task.Task{a, b} {
		got, err := s.GetTask(ctx, want.ID)
		must(t, err, "GetTask")
		if d := taskDiff(got, want); d != "" {
			t.Errorf("GetTask: %s", d)
		}
		got, err = s.GetTask(ctx, strings.ToUpper(want.ID))
		must(t, err, "GetTask upper-case id")
		if got.ID != want.ID {
			t.Errorf("GetTask(upper) = %s, want %s", got.ID, want.ID)
		}
	}
	for _, id := range []string{task.NewID(), "", "not-a-uuid", "1", strings.Repeat("a", 36), a.ID + "x", "'; DROP TABLE tasks; --"} {
		_, err := s.GetTask(ctx, id)
		wantCode(t, err, keypair.ENOTFOUND, "GetTask "+id)
	}
}

func testCreateTaskInvalid(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv", "p-1")
	existing := createTask(t, s, "p-1", "srv", owner)
	tests := []struct {
		name   string
		change func(tk *task.Task)
		code   keypair.Code
	}{
		{"id not a uuid", func(tk *task.Task) { tk.ID = "task-1" }, keypair.EINVALID},
		{"no id", func(tk *task.Task) { tk.ID = "" }, keypair.EINVALID},
		{"no project", func(tk *task.Task) { tk.ProjectID = "" }, keypair.EINVALID},
		{"no owner", func(tk *task.Task) { tk.Owner = "" }, keypair.EINVALID},
		{"unknown operation", func(tk *task.Task) { tk.Operation = "DANCE" }, keypair.EINVALID},
		{"unknown server", func(tk *task.Task) { tk.ServerID = "nope" }, keypair.ENOTFOUND},
		{"id taken", func(tk *task.Task) { tk.ID = existing.ID }, keypair.ECONFLICT},
	}
	for _, tc := range tests {
		tk := newTask("p-1", "srv", owner)
		tc.change(tk)
		wantCode(t, s.CreateTask(ctx, tk, nil), tc.code, tc.name)
	}
	ts, total, err := s.ListTasks(ctx, "p-1", []task.Phase{task.Ready, task.Running, task.Success, task.Failed}, 0, 0)
	must(t, err, "ListTasks")
	if total != 1 || len(ts) != 1 {
		t.Errorf("after refused creates %d tasks (total %d), want 1", len(ts), total)
	}
}

func testListTasksPaging(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv-1", "p-1")
	putServer(t, s, "srv-2", "p-1")
	// 7 tasks: srv-1's first finishes FAILED, srv-2's first runs, the rest wait.
	var made []*task.Task
	for i := range 7 {
		made = append(made, createTask(t, s, "p-1", fmt.Sprintf("srv-%d", i%2+1), owner))
	}
	first, err := s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
	must(t, err, "ClaimTask")
	first.Phase, first.ErrorCode, first.ErrorMessage = task.Failed, task.FailTimeout, "connection timed out after 10s"
	must(t, s.FinishTask(ctx, first, owner, nil, nil), "FinishTask")
	_, err = s.ClaimTask(ctx, owner, time.Now(), time.Now().Add(time.Hour))
	must(t, err, "ClaimTask")

	unfinished := []task.Phase{task.Ready, task.Running}
	all := taskIDs(made[1:])
	tests := []struct {
		phases        []task.Phase
		offset, limit int
		want          []string
		total         int
	}{
		{unfinished, 0, 0, all, 6},
		{unfinished, 0, 1000, all, 6},
		{unfinished, 0, 2, all[:2], 6},
		{unfinished, 2, 2, all[2:4], 6},
		{unfinished, 5, 10, all[5:], 6},
		{unfinished, 6, 10, nil, 6},
		{unfinished, 100, 10, nil, 6},
		{[]task.Phase{task.Running}, 0, 0, []string{made[1].ID}, 1},
		{[]task.Phase{task.Failed}, 0, 0, []string{made[0].ID}, 1},
		{[]task.Phase{task.Success}, 0, 0, nil, 0},
	}
	for _, tc := range tests {
		ts, total, err := s.ListTasks(ctx, "p-1", tc.phases, tc.offset, tc.limit)
		must(t, err, "ListTasks")
		if got := taskIDs(ts); fmt.Sprint(got) != fmt.Sprint(tc.want) || total != tc.total {
			t.Errorf("ListTasks(%v, %d, %d) = %v total %d, want %v total %d", tc.phases, tc.offset, tc.limit, got, total, tc.want, tc.total)
		}
	}
	ts, _, err := s.ListTasks(ctx, "p-1", []task.Phase{task.Failed}, 0, 0)
	must(t, err, "ListTasks failed")
	if len(ts) == 1 && (ts[0].ErrorCode != task.FailTimeout || ts[0].ErrorMessage != "connection timed out after 10s" || ts[0].FinishedAt.IsZero()) {
		t.Errorf("failed task listed as %+v", ts[0])
	}
}

func testTaskTenancy(t *testing.T, s TaskStore) {
	ctx := t.Context()
	putServer(t, s, "srv-a", "p-a")
	putServer(t, s, "srv-b", "p-b")
	a := createTask(t, s, "p-a", "srv-a", owner)
	b := createTask(t, s, "p-b", "srv-b", owner)
	all := []task.Phase{task.Ready, task.Running, task.Success, task.Failed}
	for _, tc := range []struct {
		project string
		want    *task.Task
	}{{"p-a", a}, {"p-b", b}} {
		ts, total, err := s.ListTasks(ctx, tc.project, all, 0, 0)
		must(t, err, "ListTasks")
		if total != 1 || len(ts) != 1 || ts[0].ID != tc.want.ID {
			t.Errorf("ListTasks(%s) = %v total %d, want only %s", tc.project, taskIDs(ts), total, tc.want.ID)
		}
	}
	if ts, total, err := s.ListTasks(ctx, "p-c", all, 0, 0); err != nil || total != 0 || len(ts) != 0 {
		t.Errorf("ListTasks of a project without tasks = %v, %d, %v", taskIDs(ts), total, err)
	}
	if l, err := s.ListServers(ctx, "p-a"); err != nil || len(l) != 1 || l[0].ID != "srv-a" {
		t.Errorf("ListServers(p-a) = %v, %v; want only srv-a", l, err)
	}
}
