package kps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/sshpush"
	"github.com/keyhaven/keyhaven/store/sqlite"
	"github.com/keyhaven/keyhaven/task"
)

const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"

// taskHandler is the KPS handler with task operations over a real SQLite
// store; alice (tok) and rita, a reader (rtok), are in p1, mallet (mtok)
// in p2. The pool runs when run is true.
type taskHandler struct {
	h    *Handler
	st   *sqlite.Store
	svc  *task.Service
	down error // what the health probe answers
}

func newTaskHandler(t *testing.T, run bool) *taskHandler {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth, err := statictoken.Parse(strings.NewReader("tok alice p1 member\nrtok rita p1 reader\nmtok mallet p2 member\n"))
	if err != nil {
		t.Fatal(err)
	}
	kps := keypair.NewService(keypair.Config{Store: st, Quota: 10})
	svc := task.NewService(task.Config{Store: st, Executor: sshpush.New(sshpush.Config{}), KeyPairs: kps, Instance: "test"})
	if run {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = svc.Run(rctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	th := &taskHandler{st: st, svc: svc}
	th.h = New(Config{Service: kps, Auth: auth, Tasks: svc, Health: func(context.Context) error { return th.down }})
	return th
}

func (th *taskHandler) send(method, path, token, body string, limit int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", token)
	w := httptest.NewRecorder()
	if limit > 0 {
		req.Body = http.MaxBytesReader(w, req.Body, limit)
	}
	th.h.ServeHTTP(w, req)
	return w
}

// wantCode checks a KPS error body with code and the table's status.
func wantCode(t *testing.T, name string, w *httptest.ResponseRecorder, want ErrorCode) {
	t.Helper()
	var body struct {
		Code string `json:"error_code"`
		Msg  string `json:"error_msg"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != want.Code || body.Msg == "" || w.Code != want.Status {
		t.Errorf("%s: %d %s, want %d %s", name, w.Code, w.Body, want.Status, want.Code)
	}
}

// TestTaskBadInput sends malformed, incomplete, oversized and refused
// requests to every task operation: each a 4xx with its KPS code, never a
// 500, and no message holding the credentials.
func TestTaskBadInput(t *testing.T) {
	th := newTaskHandler(t, false)
	ctx := context.Background()
	if w := th.send("POST", "/v3/p1/keypairs", "tok", `{"keypair": {"name": "k", "public_key": "`+testPublicKey+`"}}`, 0); w.Code != 200 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	for _, s := range []struct{ id, project string }{{"s1", "p1"}, {"s2", "p2"}} {
		if err := th.st.PutServer(ctx, &task.Server{ID: s.id, ProjectID: s.project, Address: "127.0.0.1", Port: 22, User: "root", HostKeys: []string{testPublicKey}}); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "hunter2-secret"
	assoc := func(server, auth string) string {
		return `{"keypair_name": "k", "server": {"id": "` + server + `"` + auth + `}}`
	}
	pw := `, "auth": {"type": "password", "key": "` + secret + `"}`
	item := `{"keypair_name": "k", "server": {"id": "s1", "auth": {"type": "password", "key": "x"}}}`
	eleven := `{"batch_keypairs": [` + strings.TrimSuffix(strings.Repeat(item+",", 11), ",") + `]}`
	missing := "0b6f2ab4-5d1f-4c3e-9a77-6a1f0e2d3c4b"
	for _, c := range []struct {
		name, method, path, token, body string
		want                            ErrorCode
	}{
		{"associate: not JSON", "POST", "/v3/p1/keypairs/associate", "tok", `{`, ErrInvalidParameter},
		{"associate: empty", "POST", "/v3/p1/keypairs/associate", "tok", ``, ErrInvalidParameter},
		{"associate: array", "POST", "/v3/p1/keypairs/associate", "tok", `[]`, ErrInvalidParameter},
		{"associate: wrong type", "POST", "/v3/p1/keypairs/associate", "tok", `{"keypair_name": 5, "server": {"id": "s1"}}`, ErrInvalidParameter},
		{"associate: port as string", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", pw+`, "port": "22"`), ErrInvalidParameter},
		{"associate: port out of range", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", pw+`, "port": 0`), ErrInvalidParameter},
		{"associate: fractional port", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", pw+`, "port": 22.5`), ErrInvalidParameter},
		{"associate: disable_password as string", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", pw+`, "disable_password": "yes"`), ErrInvalidParameter},
		{"associate: missing key pair name", "POST", "/v3/p1/keypairs/associate", "tok", `{"server": {"id": "s1"` + pw + `}}`, ErrInvalidParameter},
		{"associate: missing server", "POST", "/v3/p1/keypairs/associate", "tok", `{"keypair_name": "k"}`, ErrInvalidParameter},
		{"associate: missing server id", "POST", "/v3/p1/keypairs/associate", "tok", `{"keypair_name": "k", "server": {}}`, ErrInvalidParameter},
		{"associate: extra field", "POST", "/v3/p1/keypairs/associate", "tok", `{"keypair_name": "k", "colour": "red", "server": {"id": "s1"}}`, ErrInvalidParameter},
		{"associate: extra auth field", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", `, "auth": {"type": "password", "key": "x", "user": "root"}`), ErrInvalidParameter},
		{"associate: auth type", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", `, "auth": {"type": "token", "key": "`+secret+`"}`), ErrInvalidParameter},
		{"associate: auth without type", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", `, "auth": {"key": "`+secret+`"}`), ErrInvalidParameter},
		{"associate: auth without key", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", `, "auth": {"type": "password"}`), ErrInvalidParameter},
		{"associate: bad private key", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", `, "auth": {"type": "keypair", "key": "`+secret+`"}`), ErrInvalidParameter},
		{"associate: no auth (RESET)", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s1", ""), ErrAuthRequired},
		{"associate: unknown server", "POST", "/v3/p1/keypairs/associate", "tok", assoc("nope", pw), ErrServerNotFound},
		{"associate: another project's server", "POST", "/v3/p1/keypairs/associate", "tok", assoc("s2", pw), ErrServerNotFound},
		{"associate: unknown key pair", "POST", "/v3/p1/keypairs/associate", "tok", `{"keypair_name": "nope", "server": {"id": "s1"` + pw + `}}`, ErrKeypairNotFound},
		{"associate: reader", "POST", "/v3/p1/keypairs/associate", "rtok", assoc("s1", pw), ErrNotAuthorized},
		{"associate: URL of another project", "POST", "/v3/p2/keypairs/associate", "tok", assoc("s2", pw), ErrNotAuthorized},
		{"associate: GET", "GET", "/v3/p1/keypairs/associate", "tok", ``, ErrKeypairNotFound},
		{"disassociate: not JSON", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server":`, ErrInvalidParameter},
		{"disassociate: disable_password", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server": {"id": "s1", "disable_password": true` + pw + `}}`, ErrInvalidParameter},
		{"disassociate: missing server id", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server": {"port": 22}}`, ErrInvalidParameter},
		{"disassociate: no auth", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server": {"id": "s1", "port": 22}}`, ErrAuthRequired},
		{"disassociate: nothing associated", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server": {"id": "s1", "port": 22` + pw + `}}`, ErrNoKeypairAssociated},
		{"disassociate: unknown server", "POST", "/v3/p1/keypairs/disassociate", "tok", `{"server": {"id": "nope"` + pw + `}}`, ErrServerNotFound},
		{"disassociate: reader", "POST", "/v3/p1/keypairs/disassociate", "rtok", `{"server": {"id": "s1"` + pw + `}}`, ErrNotAuthorized},
		{"batch: not JSON", "POST", "/v3/p1/keypairs/batch-associate", "tok", `{"batch_keypairs": [`, ErrInvalidParameter},
		{"batch: missing list", "POST", "/v3/p1/keypairs/batch-associate", "tok", `{}`, ErrInvalidParameter},
		{"batch: empty list", "POST", "/v3/p1/keypairs/batch-associate", "tok", `{"batch_keypairs": []}`, ErrInvalidParameter},
		{"batch: 11 items", "POST", "/v3/p1/keypairs/batch-associate", "tok", eleven, ErrInvalidParameter},
		{"batch: item of the wrong type", "POST", "/v3/p1/keypairs/batch-associate", "tok", `{"batch_keypairs": ["k"]}`, ErrInvalidParameter},
		{"batch: reader", "POST", "/v3/p1/keypairs/batch-associate", "rtok", `{"batch_keypairs": [` + item + `]}`, ErrNotAuthorized},
		{"task: not a UUID", "GET", "/v3/p1/tasks/nope", "tok", ``, ErrInvalidTaskID},
		{"task: unknown", "GET", "/v3/p1/tasks/" + missing, "tok", ``, ErrInvalidTaskID},
		{"task: escaped slash", "GET", "/v3/p1/tasks/a%2Fb", "tok", ``, ErrInvalidTaskID},
		{"task: no id", "GET", "/v3/p1/tasks", "tok", ``, ErrResourceNotFound},
		{"task: POST", "POST", "/v3/p1/tasks/" + missing, "tok", `{}`, ErrMethodNotAllowed},
		{"running: limit 0", "GET", "/v3/p1/running-tasks?limit=0", "tok", ``, ErrInvalidParameter},
		{"running: limit too big", "GET", "/v3/p1/running-tasks?limit=1001", "tok", ``, ErrInvalidParameter},
		{"running: limit not a number", "GET", "/v3/p1/running-tasks?limit=ten", "tok", ``, ErrInvalidParameter},
		{"running: negative offset", "GET", "/v3/p1/running-tasks?offset=-1", "tok", ``, ErrInvalidParameter},
		{"running: unknown parameter", "GET", "/v3/p1/running-tasks?marker=x", "tok", ``, ErrInvalidParameter},
		{"failed: offset not a number", "GET", "/v3/p1/failed-tasks?offset=1e3", "tok", ``, ErrInvalidParameter},
		{"failed: huge offset", "GET", "/v3/p1/failed-tasks?offset=99999999999999999999", "tok", ``, ErrInvalidParameter},
		{"failed: PUT", "PUT", "/v3/p1/failed-tasks", "tok", `{}`, ErrMethodNotAllowed},
		{"delete failed: not a UUID", "DELETE", "/v3/p1/failed-tasks/x", "tok", ``, ErrFailedTaskNotFound},
		{"delete failed: unknown", "DELETE", "/v3/p1/failed-tasks/" + missing, "tok", ``, ErrFailedTaskNotFound},
		{"delete failed: reader", "DELETE", "/v3/p1/failed-tasks/" + missing, "rtok", ``, ErrNotAuthorized},
		{"delete all failed: reader", "DELETE", "/v3/p1/failed-tasks", "rtok", ``, ErrNotAuthorized},
		{"bad token", "GET", "/v3/p1/running-tasks", "junk", ``, ErrUnauthenticated},
	} {
		w := th.send(c.method, c.path, c.token, c.body, 0)
		wantCode(t, c.name, w, c.want)
		if strings.Contains(w.Body.String(), secret) {
			t.Errorf("%s: the answer holds the password: %s", c.name, w.Body)
		}
	}
	for _, path := range []string{"/v3/p1/keypairs/associate", "/v3/p1/keypairs/disassociate", "/v3/p1/keypairs/batch-associate"} {
		wantCode(t, "oversized body to "+path, th.send("POST", path, "tok", assoc("s1", `, "auth": {"type": "password", "key": "`+strings.Repeat("x", 200)+`"}`), 100), ErrTooLarge)
	}

	defer func() {
		// The database goes away: each operation answers Huawei's code for
		// the kind of record it writes or reads, never a 500.
		th.st.Close()
		th.down = errors.New("database closed")
		for _, c := range []struct {
			name, method, path, body string
			want                     ErrorCode
		}{
			{"associate", "POST", "/v3/p1/keypairs/associate", assoc("s1", pw), ErrDatabaseInsert},
			{"disassociate", "POST", "/v3/p1/keypairs/disassociate", `{"server": {"id": "s1"` + pw + `}}`, ErrDatabaseInsert},
			{"batch", "POST", "/v3/p1/keypairs/batch-associate", `{"batch_keypairs": [` + item + `]}`, ErrDatabaseInsert},
			{"task", "GET", "/v3/p1/tasks/" + missing, ``, ErrDatabaseQuery},
			{"running", "GET", "/v3/p1/running-tasks", ``, ErrDatabaseQuery},
			{"failed", "GET", "/v3/p1/failed-tasks", ``, ErrDatabaseQuery},
			{"delete failed", "DELETE", "/v3/p1/failed-tasks/" + missing, ``, ErrDatabaseDelete},
			{"delete all failed", "DELETE", "/v3/p1/failed-tasks", ``, ErrDatabaseDelete},
		} {
			wantCode(t, "database down: "+c.name, th.send(c.method, c.path, "tok", c.body, 0), c.want)
		}
	}()

	// A batch answers per item: unknown server, unknown key pair and a
	// missing auth each FAILED with its code and no task_id; the valid
	// item gets a task.
	w := th.send("POST", "/v3/p1/keypairs/batch-associate", "tok", `{"batch_keypairs": [`+item+`, `+
		`{"keypair_name": "k", "server": {"id": "nope", "auth": {"type": "password", "key": "x"}}},`+
		`{"keypair_name": "nope", "server": {"id": "s1", "auth": {"type": "password", "key": "x"}}},`+
		`{"keypair_name": "k", "server": {"id": "s1"}}, {"server": {"id": "s1"}}]}`, 0)
	var batch struct {
		Tasks []dispatchView `json:"tasks"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &batch); err != nil || w.Code != 200 || len(batch.Tasks) != 5 {
		t.Fatalf("batch: %d %s", w.Code, w.Body)
	}
	want := []string{"SUCCESS ", "FAILED " + ErrServerNotFound.Code, "FAILED " + ErrKeypairNotFound.Code, "FAILED " + ErrAuthRequired.Code, "FAILED " + ErrInvalidParameter.Code}
	for i, v := range batch.Tasks {
		if got := v.Status + " " + v.ErrorCode; got != want[i] || (v.TaskID == "") != (i > 0) || v.ServerID == "" && i < 4 {
			t.Errorf("batch item %d: %+v, want %s", i, v, want[i])
		}
	}
}

// TestTaskOperations drives the seven operations through the handler
// against a real sshd: associate (200), poll the task to SUCCESS_BIND,
// running-tasks and failed-tasks with their fields, disassociate (202),
// delete one and all failed tasks (200, empty body).
func TestTaskOperations(t *testing.T) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	th := newTaskHandler(t, true)
	if w := th.send("POST", "/v3/p1/keypairs", "tok", `{"keypair": {"name": "k", "public_key": "`+testPublicKey+`"}}`, 0); w.Code != 200 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if err := th.st.PutServer(context.Background(), &task.Server{ID: "web", ProjectID: "p1", Name: "web-1", Address: sshd.Host, Port: sshd.Port,
		User: sshd.User, HostKeys: []string{sshd.HostKey}, SSHDConfig: sshd.Config}); err != nil {
		t.Fatal(err)
	}
	dispatch := func(path, auth string, status int) dispatchView {
		t.Helper()
		server := `"server": {"id": "web", "auth": {"type": "password", "key": "` + auth + `"}, "port": ` + fmt.Sprint(sshd.Port) + `}`
		body := `{"keypair_name": "k", ` + server + `}`
		if path == "/v3/p1/keypairs/disassociate" {
			body = `{` + server + `}`
		}
		w := th.send("POST", path, "tok", body, 0)
		var v dispatchView
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != status || v.TaskID == "" || v.ServerID != "web" || v.Status != "SUCCESS" {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return v
	}
	poll := func(id string, final ...string) string {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			w := th.send("GET", "/v3/p1/tasks/"+id, "rtok", "", 0)
			var v struct{ TaskID, ServerID, TaskStatus string }
			if err := json.Unmarshal(w.Body.Bytes(), &struct {
				TaskID     *string `json:"task_id"`
				ServerID   *string `json:"server_id"`
				TaskStatus *string `json:"task_status"`
			}{&v.TaskID, &v.ServerID, &v.TaskStatus}); err != nil || w.Code != 200 || v.TaskID != id || v.ServerID != "web" {
				t.Fatalf("task: %d %s", w.Code, w.Body)
			}
			for _, f := range final {
				if v.TaskStatus == f {
					return f
				}
			}
		}
		t.Fatalf("task %s never reached %v", id, final)
		return ""
	}
	if got := poll(dispatch("/v3/p1/keypairs/associate", sshd.Password, 200).TaskID, "SUCCESS_BIND", "FAILED_BIND"); got != "SUCCESS_BIND" {
		t.Fatal(got)
	}
	failedID := dispatch("/v3/p1/keypairs/associate", "wrong", 200).TaskID
	poll(failedID, "FAILED_BIND")
	w := th.send("GET", "/v3/p1/failed-tasks", "tok", "", 0)
	var list struct {
		Total int        `json:"total"`
		Tasks []taskItem `json:"tasks"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != 200 || list.Total != 1 || len(list.Tasks) != 1 {
		t.Fatalf("failed-tasks: %d %s", w.Code, w.Body)
	}
	ft := list.Tasks[0]
	if ft.TaskID != failedID || ft.OperateType != "FAILED_BIND" || ft.ServerName != "web-1" || ft.KeypairName != "k" ||
		ft.TaskErrorCode == nil || *ft.TaskErrorCode != ErrTaskAuthFailed.Code || *ft.TaskErrorMsg == "" {
		t.Fatalf("failed task: %s", w.Body)
	}
	if ms, err := strconv.ParseInt(ft.TaskTime, 10, 64); err != nil || time.Since(time.UnixMilli(ms)) > time.Hour || time.Since(time.UnixMilli(ms)) < 0 {
		t.Fatalf("task_time %q is not a string of milliseconds since the epoch", ft.TaskTime)
	}
	if w := th.send("GET", "/v3/p1/failed-tasks?offset=1", "tok", "", 0); !strings.Contains(w.Body.String(), `"tasks":[]`) || !strings.Contains(w.Body.String(), `"total":1`) {
		t.Fatalf("offset past the end: %s", w.Body)
	}
	if w := th.send("GET", "/v3/p2/failed-tasks", "mtok", "", 0); !strings.Contains(w.Body.String(), `"total":0`) {
		t.Fatalf("another project sees failed tasks: %s", w.Body)
	}
	if w := th.send("GET", "/v3/p1/running-tasks", "rtok", "", 0); w.Code != 200 || w.Body.String() != `{"tasks":[],"total":0}` {
		t.Fatalf("running-tasks: %d %s", w.Code, w.Body)
	}
	if got := poll(dispatch("/v3/p1/keypairs/disassociate", sshd.Password, 202).TaskID, "SUCCESS_UNBIND", "FAILED_UNBIND"); got != "SUCCESS_UNBIND" {
		t.Fatal(got)
	}
	if w := th.send("DELETE", "/v3/p1/failed-tasks/"+failedID, "tok", "", 0); w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("delete failed task: %d %s", w.Code, w.Body)
	}
	wantCode(t, "delete it again", th.send("DELETE", "/v3/p1/failed-tasks/"+failedID, "tok", "", 0), ErrFailedTaskNotFound)
	if w := th.send("DELETE", "/v3/p1/failed-tasks", "tok", "", 0); w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("delete all failed tasks: %d %s", w.Code, w.Body)
	}
}
