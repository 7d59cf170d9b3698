package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// TestAssociateBadInput sends bad requests to every association operation
// over plain HTTP: each gets a 4xx in KPS's format (never a 500), and
// none changes the server or makes a task.
func TestAssociateBadInput(t *testing.T) {
	e := newAssocEnv(t)
	s := sshdtest.Start(t, sshdtest.Options{})
	s.SetAuthorizedKeys(t, operatorLine(t)+"\n")
	e.registerSSHD(t, "web-1", s)
	kp := newKeyPair(t, e.c, "k")
	before := s.AuthorizedKeys(t)
	pw, _ := json.Marshal(s.Password)
	auth := `"auth": {"type": "password", "key": ` + string(pw) + `}`
	item := func(server string) string {
		return `{"keypair_name": "k", "server": {"id": "` + server + `", ` + auth + `}}`
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = item(fmt.Sprintf("web-%d", i))
	}
	const unknownTask = "3f7c1c8e-9a51-4d55-b1d5-6f0d3f1a2b7c"
	bad := kpsapi.ErrInvalidParameter

	cases := []struct {
		name, method, path, body string
		// status and code, when set, are what is wanted; otherwise any 4xx
		// in KPS's format.
		status int
		code   string
		// words must be in error_msg.
		words string
	}{
		{"associate: empty body", "POST", "/keypairs/associate", "", bad.Status, bad.Code, ""},
		{"associate: not JSON", "POST", "/keypairs/associate", "{keypair_name", bad.Status, bad.Code, ""},
		{"associate: JSON array", "POST", "/keypairs/associate", "[]", bad.Status, bad.Code, ""},
		{"associate: no keypair_name", "POST", "/keypairs/associate", `{"server": {"id": "web-1", ` + auth + `}}`, bad.Status, bad.Code, "keypair_name"},
		{"associate: no server", "POST", "/keypairs/associate", `{"keypair_name": "k"}`, bad.Status, bad.Code, "server"},
		{"associate: no server id", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {` + auth + `}}`, bad.Status, bad.Code, "id"},
		{"associate: empty server id", "POST", "/keypairs/associate", item(""), bad.Status, bad.Code, "id"},
		{"associate: keypair_name a number", "POST", "/keypairs/associate", `{"keypair_name": 5, "server": {"id": "web-1", ` + auth + `}}`, bad.Status, bad.Code, ""},
		{"associate: server an array", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": []}`, bad.Status, bad.Code, ""},
		{"associate: port a string", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "port": "22", ` + auth + `}}`, bad.Status, bad.Code, "port"},
		{"associate: port 0", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "port": 0, ` + auth + `}}`, bad.Status, bad.Code, "port"},
		{"associate: port 70000", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "port": 70000, ` + auth + `}}`, bad.Status, bad.Code, "port"},
		{"associate: disable_password a string", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "disable_password": "yes", ` + auth + `}}`, bad.Status, bad.Code, ""},
		{"associate: unknown auth type", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "auth": {"type": "token", "key": "x"}}}`, bad.Status, bad.Code, "type"},
		{"associate: auth without key", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "auth": {"type": "password"}}}`, bad.Status, bad.Code, "key"},
		{"associate: auth a string", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1", "auth": "password"}}`, bad.Status, bad.Code, ""},
		{"associate: no auth (RESET)", "POST", "/keypairs/associate", `{"keypair_name": "k", "server": {"id": "web-1"}}`, kpsapi.ErrAuthRequired.Status, kpsapi.ErrAuthRequired.Code, "auth"},
		{"associate: unknown server", "POST", "/keypairs/associate", item("no-such-server"), kpsapi.ErrServerNotFound.Status, kpsapi.ErrServerNotFound.Code, "no-such-server"},
		{"associate: unknown key pair", "POST", "/keypairs/associate", `{"keypair_name": "nope", "server": {"id": "web-1", ` + auth + `}}`, kpsapi.ErrKeypairNotFound.Status, kpsapi.ErrKeypairNotFound.Code, ""},
		{"associate: key pair name invalid", "POST", "/keypairs/associate", `{"keypair_name": "a b/c", "server": {"id": "web-1", ` + auth + `}}`, 0, "", ""},
		{"batch: empty body", "POST", "/keypairs/batch-associate", "", bad.Status, bad.Code, ""},
		{"batch: no batch_keypairs", "POST", "/keypairs/batch-associate", `{}`, bad.Status, bad.Code, "batch_keypairs"},
		{"batch: no items", "POST", "/keypairs/batch-associate", `{"batch_keypairs": []}`, bad.Status, bad.Code, ""},
		{"batch: an object, not a list", "POST", "/keypairs/batch-associate", `{"batch_keypairs": ` + item("web-1") + `}`, bad.Status, bad.Code, ""},
		{"batch: 11 items", "POST", "/keypairs/batch-associate", `{"batch_keypairs": [` + strings.Join(eleven, ",") + `]}`, bad.Status, bad.Code, "10"},
		{"disassociate: empty body", "POST", "/keypairs/disassociate", "", bad.Status, bad.Code, ""},
		{"disassociate: no server", "POST", "/keypairs/disassociate", `{}`, bad.Status, bad.Code, "server"},
		{"disassociate: no server id", "POST", "/keypairs/disassociate", `{"server": {` + auth + `}}`, bad.Status, bad.Code, "id"},
		{"disassociate: port a string", "POST", "/keypairs/disassociate", `{"server": {"id": "web-1", "port": "x", ` + auth + `}}`, bad.Status, bad.Code, "port"},
		{"disassociate: no auth (RESET)", "POST", "/keypairs/disassociate", `{"server": {"id": "web-1"}}`, kpsapi.ErrAuthRequired.Status, kpsapi.ErrAuthRequired.Code, "auth"},
		{"disassociate: unknown server", "POST", "/keypairs/disassociate", `{"server": {"id": "no-such-server", ` + auth + `}}`, kpsapi.ErrServerNotFound.Status, kpsapi.ErrServerNotFound.Code, "no-such-server"},
		{"disassociate: nothing associated", "POST", "/keypairs/disassociate", `{"server": {"id": "web-1", ` + auth + `}}`, kpsapi.ErrNoKeypairAssociated.Status, kpsapi.ErrNoKeypairAssociated.Code, "web-1"},
		{"task: not a task id", "GET", "/tasks/not-a-task-id", "", kpsapi.ErrInvalidTaskID.Status, kpsapi.ErrInvalidTaskID.Code, ""},
		{"task: unknown", "GET", "/tasks/" + unknownTask, "", kpsapi.ErrInvalidTaskID.Status, kpsapi.ErrInvalidTaskID.Code, ""},
		{"running-tasks: limit not a number", "GET", "/running-tasks?limit=abc", "", bad.Status, bad.Code, "limit"},
		{"running-tasks: negative offset", "GET", "/running-tasks?offset=-1", "", bad.Status, bad.Code, "offset"},
		{"failed-tasks: negative limit", "GET", "/failed-tasks?limit=-5", "", bad.Status, bad.Code, "limit"},
		{"failed-tasks: offset not a number", "GET", "/failed-tasks?offset=x", "", bad.Status, bad.Code, "offset"},
		{"delete failed task: not a task id", "DELETE", "/failed-tasks/not-a-task-id", "", kpsapi.ErrFailedTaskNotFound.Status, kpsapi.ErrFailedTaskNotFound.Code, ""},
		{"delete failed task: unknown", "DELETE", "/failed-tasks/" + unknownTask, "", kpsapi.ErrFailedTaskNotFound.Status, kpsapi.ErrFailedTaskNotFound.Code, ""},
		{"task: wrong method", "POST", "/tasks/" + unknownTask, "", kpsapi.ErrMethodNotAllowed.Status, kpsapi.ErrMethodNotAllowed.Code, ""},
		{"failed-tasks: wrong method", "PUT", "/failed-tasks", "", kpsapi.ErrMethodNotAllowed.Status, kpsapi.ErrMethodNotAllowed.Code, ""},
	}
	h := map[string]string{"X-Auth-Token": e.alice.Token, "Content-Type": "application/json"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.srv.do(t, c.method, "/v3/"+e.alice.Project+c.path, h, c.body)
			var body struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_msg"`
			}
			err := json.Unmarshal(raw, &body)
			switch {
			case resp.StatusCode < 400 || resp.StatusCode > 499:
				t.Fatalf("%d %s, want a 4xx", resp.StatusCode, raw)
			case err != nil || body.Code == "" || body.Msg == "":
				t.Fatalf("%d %s: not KPS's error format", resp.StatusCode, raw)
			case c.status != 0 && (resp.StatusCode != c.status || body.Code != c.code):
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, raw, c.status, c.code)
			case !strings.Contains(strings.ToLower(body.Msg), strings.ToLower(c.words)):
				t.Fatalf("message %q does not name %q", body.Msg, c.words)
			case strings.Contains(body.Msg, s.Password):
				t.Fatalf("message %q carries the password", body.Msg)
			}
		})
		// Without credentials, every operation is KPS's 401.
		resp, raw := e.srv.do(t, c.method, "/v3/"+e.alice.Project+c.path, map[string]string{"Content-Type": "application/json"}, c.body)
		if c.code != kpsapi.ErrMethodNotAllowed.Code && (resp.StatusCode != kpsapi.ErrUnauthenticated.Status || !strings.Contains(string(raw), kpsapi.ErrUnauthenticated.Code)) {
			t.Errorf("%s without a token: %d %s, want %d %s", c.name, resp.StatusCode, raw, kpsapi.ErrUnauthenticated.Status, kpsapi.ErrUnauthenticated.Code)
		}
	}

	if after := s.AuthorizedKeys(t); after != before {
		t.Fatalf("bad requests changed authorized_keys:\n%s\nwas:\n%s", after, before)
	}
	if s.CanLoginKey(t, []byte(kp.Private)) {
		t.Fatal("a bad request put the key pair on the server")
	}
	if n := len(allRunning(t, e.c)) + len(allFailed(t, e.c)); n != 0 {
		t.Fatalf("bad requests made %d tasks: %s", n, failedSummary(t, e.c))
	}
}
