package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// operatorLine is a line of authorized_keys keyhaven did not write, with
// options and a comment: every rewrite must keep it as it is.
func operatorLine(t *testing.T) string {
	t.Helper()
	pub, _ := sshKeygen(t, "-t", "ed25519")
	return `from="10.9.8.7",no-agent-forwarding ` + strings.TrimSpace(pub) + ` operator's bastion key`
}

// TestAssociateLifecycle takes one real sshd through every operation with
// the real Huawei SDK, polling as Huawei's Terraform provider does, and
// proves each step with the real OpenSSH client: BIND by password, REPLACE
// by the old private key, UNBIND, and disable_password turned off and on
// again. The operator's own line of authorized_keys survives every step.
func TestAssociateLifecycle(t *testing.T) {
	e := newAssocEnv(t)
	s := sshdtest.Start(t, sshdtest.Options{Sudo: true}) // disable_password edits sshd_config
	seedLine := operatorLine(t)
	s.SetAuthorizedKeys(t, seedLine+"\n")
	e.registerSSHD(t, "web-1", s)
	k1, k2, k3 := newKeyPair(t, e.c, "k1"), newKeyPair(t, e.c, "k2"), newKeyPair(t, e.c, "k3")
	if s.CanLoginKey(t, []byte(k1.Private)) {
		t.Fatal("k1 logs in before any associate: the test proves nothing")
	}
	keep := func(step string) {
		t.Helper()
		if ak := s.AuthorizedKeys(t); !strings.Contains(ak, seedLine) {
			t.Fatalf("after %s, authorized_keys lost or changed the operator's line:\n%s", step, ak)
		}
	}

	// want is every task's final status, for the audit log.
	want := map[string]string{}

	// BIND: by password.
	id := associate(t, e.c, "k1", "web-1", byPassword(s.Password), false)
	want[id] = "SUCCESS_BIND"
	if st := waitAssociated(t, e.c, id); st != "SUCCESS_BIND" {
		t.Fatalf("associate by password ended %s, want SUCCESS_BIND", st)
	}
	r, err := e.c.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: id})
	if err != nil || str(r.TaskId) != id || str(r.ServerId) != "web-1" {
		t.Fatalf("task %s: %+v %v", id, r, err)
	}
	if !s.CanLoginKey(t, []byte(k1.Private)) {
		t.Fatalf("k1 does not log in after SUCCESS_BIND; authorized_keys:\n%s", s.AuthorizedKeys(t))
	}
	if n := keyLines(s.AuthorizedKeys(t), k1.Public); n != 1 {
		t.Fatalf("k1 is on %d lines of authorized_keys, want 1", n)
	}
	keep("BIND")

	// REPLACE: by the private key that logs in today.
	id = associate(t, e.c, "k2", "web-1", byKey(k1.Private), false)
	want[id] = "SUCCESS_REPLACE"
	if st := waitAssociated(t, e.c, id); st != "SUCCESS_REPLACE" {
		t.Fatalf("associate by private key ended %s, want SUCCESS_REPLACE", st)
	}
	if s.CanLoginKey(t, []byte(k1.Private)) {
		t.Fatal("the replaced key k1 still logs in")
	}
	if !s.CanLoginKey(t, []byte(k2.Private)) {
		t.Fatalf("k2 does not log in after SUCCESS_REPLACE; authorized_keys:\n%s", s.AuthorizedKeys(t))
	}
	keep("REPLACE")

	// UNBIND, sent as Huawei's Terraform provider sends it: with a port,
	// which the SDK's model lacks.
	id = disassociateWithPort(t, e, "web-1", k2.Private, s.Port)
	want[id] = "SUCCESS_UNBIND"
	waitUnbound(t, e.c, id)
	if s.CanLoginKey(t, []byte(k2.Private)) {
		t.Fatal("k2 still logs in after SUCCESS_UNBIND")
	}
	if n := keyLines(s.AuthorizedKeys(t), k2.Public); n != 0 {
		t.Fatalf("k2 is still on %d lines of authorized_keys", n)
	}
	keep("UNBIND")

	// disable_password: password login is off once the key works, and on
	// again after the disassociate.
	if !s.CanLoginPassword(t, s.Password) {
		t.Fatal("the password does not log in before disable_password: the test proves nothing")
	}
	id = associate(t, e.c, "k3", "web-1", byPassword(s.Password), true)
	want[id] = "SUCCESS_BIND"
	waitAssociated(t, e.c, id)
	if !s.CanLoginKey(t, []byte(k3.Private)) {
		t.Fatal("k3 does not log in after an associate with disable_password")
	}
	if s.CanLoginPassword(t, s.Password) {
		t.Fatal("the password still logs in after an associate with disable_password")
	}
	id = disassociate(t, e.c, "web-1", byKey(k3.Private))
	want[id] = "SUCCESS_UNBIND"
	waitUnbound(t, e.c, id)
	if !s.CanLoginPassword(t, s.Password) {
		t.Fatal("password login was not restored by the disassociate")
	}
	if s.CanLoginKey(t, []byte(k3.Private)) {
		t.Fatal("k3 still logs in after the disassociate")
	}
	keep("disable_password and UNBIND")

	if f := allFailed(t, e.c); len(f) != 0 {
		t.Fatalf("failed tasks after a clean run: %s", failedSummary(t, e.c))
	}
	if r := allRunning(t, e.c); len(r) != 0 {
		t.Fatalf("%d tasks still running after every poll ended", len(r))
	}

	// The audit log has each task's acceptance and outcome: who, which
	// key pair, which server; never a credential.
	audit := taskAudit(t, e.srv)
	for id, final := range want {
		entries := audit[id]
		if len(entries) != 2 || !strings.HasPrefix(entries[0].Result, "READY_") || entries[1].Result != final {
			t.Errorf("task %s (%s): audit entries %+v, want its acceptance and %s", id, final, entries, final)
			continue
		}
		for _, en := range entries {
			if en.UserID != e.alice.ID || en.ProjectID != e.alice.Project || en.ServerID != "web-1" || en.KeyPairName == "" {
				t.Errorf("task %s: audit entry %+v does not say who, which key pair, which server", id, en)
			}
			for _, secret := range []string{s.Password, k1.Private, k2.Private, k3.Private} {
				if strings.Contains(fmt.Sprintf("%+v", *en), secret) {
					t.Errorf("task %s: audit entry carries a credential", id)
				}
			}
		}
	}
	if len(audit) != len(want) {
		t.Errorf("the audit log records %d association tasks, want %d", len(audit), len(want))
	}
}

// TestBatchAssociateFiveServers associates five key pairs with five real
// servers in one batch request; each server then takes its own key pair's
// private key and no other's.
func TestBatchAssociateFiveServers(t *testing.T) {
	e := newAssocEnv(t)
	const n = 5
	servers := make([]*sshdtest.Server, n)
	keys := make([]keyPair, n)
	var items []model.AssociateKeypairRequestBody
	for i := range n {
		servers[i] = sshdtest.Start(t, sshdtest.Options{})
		id := fmt.Sprintf("batch-%d", i)
		e.registerSSHD(t, id, servers[i])
		keys[i] = newKeyPair(t, e.c, fmt.Sprintf("bk%d", i))
		items = append(items, model.AssociateKeypairRequestBody{KeypairName: keys[i].Name,
			Server: &model.EcsServerInfo{Id: id, Auth: byPassword(servers[i].Password), Port: ptr(int64(servers[i].Port))}})
	}
	r, err := e.c.BatchAssociateKeypair(&model.BatchAssociateKeypairRequest{Body: &model.BatchAssociateKeypairRequestBody{BatchKeypairs: items}})
	if err != nil || r.HttpStatusCode != 200 || r.Tasks == nil || len(*r.Tasks) != n {
		t.Fatalf("batch associate: %+v %v", r, err)
	}
	// running-tasks lists only these tasks while they run (some may be done).
	ids := map[string]bool{}
	for i, task := range *r.Tasks {
		if str(task.TaskId) == "" || task.Status == nil || task.Status.Value() != "SUCCESS" || str(task.ServerId) != fmt.Sprintf("batch-%d", i) {
			t.Fatalf("batch item %d: %+v", i, task)
		}
		ids[*task.TaskId] = true
	}
	for _, rt := range allRunning(t, e.c) {
		if !ids[str(rt.TaskId)] || str(rt.KeypairName) == "" || str(rt.TaskTime) == "" {
			t.Fatalf("running task %+v is not one of the batch's, or lacks fields", rt)
		}
	}
	for _, task := range *r.Tasks {
		if st := waitAssociated(t, e.c, *task.TaskId); st != "SUCCESS_BIND" {
			t.Fatalf("batch task on %s ended %s, want SUCCESS_BIND", str(task.ServerId), st)
		}
	}
	for i, s := range servers {
		for j, k := range keys {
			if got := s.CanLoginKey(t, []byte(k.Private)); got != (i == j) {
				t.Errorf("server %d, key pair %d: login %v, want %v", i, j, got, i == j)
			}
		}
	}
	if len(allRunning(t, e.c)) != 0 || len(allFailed(t, e.c)) != 0 {
		t.Fatalf("tasks left running or failed: %s", failedSummary(t, e.c))
	}
}

// disassociateWithPort sends a disassociate with server.port over plain
// HTTP, as Huawei's Terraform provider does, and returns its task id.
func disassociateWithPort(t *testing.T, e *assocEnv, server, priv string, port int) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"server": map[string]any{"id": server, "port": port,
		"auth": map[string]string{"type": "keypair", "key": priv}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, raw := e.srv.do(t, "POST", "/v3/"+e.alice.Project+"/keypairs/disassociate",
		map[string]string{"X-Auth-Token": e.alice.Token, "Content-Type": "application/json"}, string(body))
	var r struct {
		TaskID   string `json:"task_id"`
		ServerID string `json:"server_id"`
		Status   string `json:"status"`
	}
	if resp.StatusCode != 202 || json.Unmarshal(raw, &r) != nil || r.TaskID == "" || r.ServerID != server || r.Status != "SUCCESS" {
		t.Fatalf("disassociate with a port: %d %s", resp.StatusCode, raw)
	}
	return r.TaskID
}
