package main

import (
	"context"
	"testing"
	"time"

	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/store/sqlite"
	"github.com/keyhaven/keyhaven/task"
)

// inventoryAdd puts a real sshd in the inventory of the test server's
// database as server id of project.
func inventoryAdd(t *testing.T, srv *testServer, id, project string, sshd *sshdtest.Server) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, srv.cfg.Database, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutServer(ctx, &task.Server{ID: id, ProjectID: project, Name: id + "-name", Address: sshd.Host, Port: sshd.Port,
		User: sshd.User, HostKeys: []string{sshd.HostKey}, SSHDConfig: sshd.Config}); err != nil {
		t.Fatal(err)
	}
}

// sdkPollTask polls ListKeypairTask through the SDK, as Huawei's Terraform
// provider does (faster), until the status is one of final.
func sdkPollTask(t *testing.T, c *kps.KpsClient, id string, final ...string) string {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := c.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: id})
		if err != nil || r.TaskId == nil || *r.TaskId != id || r.TaskStatus == nil {
			t.Fatalf("ListKeypairTask: %+v %v", r, err)
		}
		for _, f := range final {
			if r.TaskStatus.Value() == f {
				return f
			}
		}
	}
	t.Fatalf("task %s never reached %v", id, final)
	return ""
}

// TestAssociateWithHuaweiSDK is the round trip through every real part:
// a keyhaven server, a real sshd in its inventory, the Huawei SDK signing
// with AK/SK. AssociateKeypair by password, poll to SUCCESS_BIND, log in
// with the key pair's private key through the real ssh client; then
// DisassociateKeypair (202), poll to SUCCESS_UNBIND, and the key no
// longer logs in. A reader cannot associate.
func TestAssociateWithHuaweiSDK(t *testing.T) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	rita := newCloudUser(t, srv, adminTok, "rita", "team", "reader")
	c := kpsClient(t, srv, alice)
	inventoryAdd(t, srv, "web", alice.Project, sshd)

	gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "web-key"}}})
	if err != nil || gen.Keypair == nil || gen.Keypair.PrivateKey == nil {
		t.Fatalf("create: %+v %v", gen, err)
	}
	password := model.GetAuthTypeEnum().PASSWORD
	server := func() *model.EcsServerInfo {
		return &model.EcsServerInfo{Id: "web", Auth: &model.Auth{Type: &password, Key: &sshd.Password}, Port: ptr(int64(sshd.Port))}
	}

	_, err = kpsClient(t, srv, rita).AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{
		KeypairName: "web-key", Server: server()}})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)

	a, err := c.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{KeypairName: "web-key", Server: server()}})
	if err != nil || a.HttpStatusCode != 200 || a.TaskId == nil || *a.ServerId != "web" || a.Status.Value() != "SUCCESS" {
		t.Fatalf("associate: %+v %v", a, err)
	}
	if got := sdkPollTask(t, c, *a.TaskId, "SUCCESS_BIND", "FAILED_BIND"); got != "SUCCESS_BIND" {
		t.Fatal(got)
	}
	if !sshd.CanLoginKey(t, []byte(*gen.Keypair.PrivateKey)) {
		t.Fatal("the key pair's private key does not log in after the associate")
	}
	for _, list := range []func() (int32, error){
		func() (int32, error) {
			r, err := c.ListRunningTask(&model.ListRunningTaskRequest{})
			return *r.Total, err
		},
		func() (int32, error) {
			r, err := c.ListFailedTask(&model.ListFailedTaskRequest{})
			return *r.Total, err
		},
	} {
		if n, err := list(); err != nil || n != 0 {
			t.Fatalf("task list: %d %v", n, err)
		}
	}

	d, err := c.DisassociateKeypair(&model.DisassociateKeypairRequest{Body: &model.DisassociateKeypairRequestBody{
		Server: &model.DisassociateEcsServerInfo{Id: "web", Auth: &model.Auth{Type: &password, Key: &sshd.Password}}}})
	if err != nil || d.HttpStatusCode != 202 || d.TaskId == nil {
		t.Fatalf("disassociate: %+v %v", d, err)
	}
	if got := sdkPollTask(t, c, *d.TaskId, "SUCCESS_UNBIND", "FAILED_UNBIND"); got != "SUCCESS_UNBIND" {
		t.Fatal(got)
	}
	if sshd.CanLoginKey(t, []byte(*gen.Keypair.PrivateKey)) {
		t.Fatal("the key still logs in after the disassociate")
	}
}
