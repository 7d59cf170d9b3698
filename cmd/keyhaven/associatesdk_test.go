package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// inventoryAdd registers a real sshd as server id of project with
// `keyhaven servers add`, on the test server's database (either engine),
// as an operator does while keyhaven serves.
func inventoryAdd(t *testing.T, srv *testServer, id, project string, sshd *sshdtest.Server) {
	t.Helper()
	var out bytes.Buffer
	args := []string{"servers", "--data-dir", srv.cfg.DataDir, "--database", srv.cfg.Database, "add", id, "--project", project,
		"--name", id + "-name", "--address", sshd.Host, "--port", strconv.Itoa(sshd.Port), "--user", sshd.User,
		"--host-key", sshd.HostKey, "--sshd-config", sshd.Config}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("keyhaven %v: %v\n%s", args, err, out.String())
	}
}

// TestAssociateWithHuaweiSDK is the round trip through every real part:
// a keyhaven server, a real sshd added to its inventory with `keyhaven
// servers add` while it serves, the Huawei SDK signing
// with AK/SK. AssociateKeypair by password, poll to SUCCESS_BIND, log in
// with the key pair's private key through the real ssh client; then
// DisassociateKeypair (202), poll to SUCCESS_UNBIND, and the key no
// longer logs in. A reader cannot associate.
func TestAssociateWithHuaweiSDK(t *testing.T) { associateWithHuaweiSDK(t) }

// TestAssociateWithHuaweiSDKPostgres is the same round trip with tasks,
// inventory and identity on PostgreSQL.
func TestAssociateWithHuaweiSDKPostgres(t *testing.T) {
	associateWithHuaweiSDK(t, "--database", postgresURL(t))
}

func associateWithHuaweiSDK(t *testing.T, flags ...string) {
	sshd := sshdtest.Start(t, sshdtest.Options{})
	srv := startIdentityServer(t, flags...)
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
	if got, err := pollTask(c, *a.TaskId, []string{"SUCCESS_BIND"}, []string{"FAILED_BIND"}); err != nil {
		t.Fatal(got, err)
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
	if got, err := pollTask(c, *d.TaskId, []string{"SUCCESS_UNBIND"}, []string{"FAILED_UNBIND"}); err != nil {
		t.Fatal(got, err)
	}
	if sshd.CanLoginKey(t, []byte(*gen.Keypair.PrivateKey)) {
		t.Fatal("the key still logs in after the disassociate")
	}
}

// startStoppable is startServerLog with the stop in the test's hands:
// stop shuts the server down as SIGTERM does and returns serve's error.
func startStoppable(t *testing.T, flags ...string) (*testServer, func() error) {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--bootstrap-password", bootstrapPassword}, flags...)
	cfg, err := loadConfig("test", args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, ready) }()
	var once sync.Once
	var serr error
	stop := func() error { once.Do(func() { cancel(); serr = <-done }); return serr }
	t.Cleanup(func() { _ = stop() })
	select {
	case addr := <-ready:
		return &testServer{URL: "http://" + addr, cfg: cfg}, stop
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return nil, nil
}

// TestShutdownFailsRunningTask: keyhaven stopped while a task hangs on a
// server that never answers SSH is failed as interrupted within the
// shutdown grace, and one waiting behind it on the same server too:
// nothing is left READY or RUNNING in the database.
func TestShutdownFailsRunningTask(t *testing.T) {
	srv, stop := startStoppable(t, "--shutdown-timeout", "1s", "--ssh-connect-timeout", "50s", "--ssh-task-timeout", "60s")
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	c := kpsClient(t, srv, alice)
	host, portStr, _ := net.SplitHostPort(sshdtest.Silent(t))
	port, _ := strconv.Atoi(portStr)
	ctx := context.Background()
	st, err := openStore(ctx, srv.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutServer(ctx, &task.Server{ID: "hung", ProjectID: alice.Project, Address: host, Port: port, User: "root",
		HostKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1zvNB6kBtmcA0zK2Tsvdn6E5Jsh8BZjpmzx6Q7B7nm"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{Keypair: &model.CreateKeypairAction{Name: "k"}}}); err != nil {
		t.Fatal(err)
	}
	password := model.GetAuthTypeEnum().PASSWORD
	var ids []string
	for range 2 {
		nextSigningSecond() // the second associate is the same signed request
		a, err := c.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{KeypairName: "k",
			Server: &model.EcsServerInfo{Id: "hung", Auth: &model.Auth{Type: &password, Key: ptr("pw")}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *a.TaskId)
	}
	if _, err := pollTask(c, ids[0], []string{"RUNNING_BIND"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, id := range ids {
		got, err := st.GetTask(ctx, id)
		if err != nil || got.Status() != "FAILED_BIND" || got.ErrorCode != task.FailInterrupted || got.ErrorMessage != task.InterruptedMessage {
			t.Fatalf("task %s after shutdown: %+v %v", id, got, err)
		}
	}
}
