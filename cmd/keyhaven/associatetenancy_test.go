package main

import (
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/internal/sshdtest"
)

// TestAssociateTenancy checks who may associate what with which server: a
// user of another project can neither touch this project's server nor see
// or delete its tasks; a reader of the project cannot associate or
// disassociate; nobody can associate a key pair they cannot read; and no
// refused request logs in to the server.
func TestAssociateTenancy(t *testing.T) {
	e := newAssocEnv(t)
	s := sshdtest.Start(t, sshdtest.Options{})
	e.registerSSHD(t, "web-1", s)
	mallory := newCloudUser(t, e.srv, e.adminTok, "mallory", "other", "member")
	rita := newCloudUser(t, e.srv, e.adminTok, "rita", "team", "reader")
	bob := newCloudUser(t, e.srv, e.adminTok, "bob", "team", "member")
	mc, rc, bc := kpsClient(t, e.srv, mallory), kpsClient(t, e.srv, rita), kpsClient(t, e.srv, bob)
	other := sshdtest.Start(t, sshdtest.Options{})
	register(t, e.srv.cfg.DataDir, e.srv.cfg.Database, sshdInventory("other-1", mallory.Project, other))

	mine := newKeyPair(t, e.c, "alices")
	theirs := newKeyPair(t, mc, "mallorys")
	bobs := newKeyPair(t, bc, "bobs")
	ok := associate(t, e.c, mine.Name, "web-1", byPassword(s.Password), false)
	waitAssociated(t, e.c, ok)
	bad := associate(t, e.c, mine.Name, "web-1", byPassword("not-"+s.Password), false)
	waitFinished(t, e.c, bad)
	before := s.AuthorizedKeys(t)

	assoc := func(c interface {
		AssociateKeypair(*model.AssociateKeypairRequest) (*model.AssociateKeypairResponse, error)
	}, kp, server, pw string) error {
		_, err := c.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{
			KeypairName: kp, Server: &model.EcsServerInfo{Id: server, Auth: byPassword(pw)}}})
		return err
	}

	// Another project's user: not this project's server, not its tasks.
	notFound := kpsapi.ErrServerNotFound
	wantKPSError(t, assoc(mc, theirs.Name, "web-1", s.Password), notFound.Status, notFound.Code)
	_, err := mc.DisassociateKeypair(&model.DisassociateKeypairRequest{Body: &model.DisassociateKeypairRequestBody{
		Server: &model.DisassociateEcsServerInfo{Id: "web-1", Auth: byKey(mine.Private)}}})
	wantKPSError(t, err, notFound.Status, notFound.Code)
	_, err = mc.ListKeypairTask(&model.ListKeypairTaskRequest{TaskId: ok})
	wantKPSError(t, err, kpsapi.ErrInvalidTaskID.Status, kpsapi.ErrInvalidTaskID.Code)
	if n := len(allRunning(t, mc)) + len(allFailed(t, mc)); n != 0 {
		t.Fatalf("mallory's task lists show %d of alice's tasks", n)
	}
	_, err = mc.DeleteFailedTask(&model.DeleteFailedTaskRequest{TaskId: bad})
	wantKPSError(t, err, kpsapi.ErrFailedTaskNotFound.Status, kpsapi.ErrFailedTaskNotFound.Code)
	if _, err := mc.DeleteAllFailedTask(&model.DeleteAllFailedTaskRequest{}); err != nil {
		t.Fatalf("mallory deletes all her (no) failed tasks: %v", err)
	}
	if n := len(allFailed(t, e.c)); n != 1 {
		t.Fatalf("alice's failed task gone after mallory's deletes: %d left", n)
	}

	// Alice and the other project's server.
	wantKPSError(t, assoc(e.c, mine.Name, "other-1", other.Password), notFound.Status, notFound.Code)

	// A reader of the project.
	_, err = rc.AssociateKeypair(&model.AssociateKeypairRequest{Body: &model.AssociateKeypairRequestBody{
		KeypairName: mine.Name, Server: &model.EcsServerInfo{Id: "web-1", Auth: byPassword(s.Password)}}})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)
	_, err = rc.BatchAssociateKeypair(&model.BatchAssociateKeypairRequest{Body: &model.BatchAssociateKeypairRequestBody{
		BatchKeypairs: []model.AssociateKeypairRequestBody{{KeypairName: mine.Name, Server: &model.EcsServerInfo{Id: "web-1", Auth: byPassword(s.Password)}}}}})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)
	_, err = rc.DisassociateKeypair(&model.DisassociateKeypairRequest{Body: &model.DisassociateKeypairRequestBody{
		Server: &model.DisassociateEcsServerInfo{Id: "web-1", Auth: byKey(mine.Private)}}})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)
	_, err = rc.DeleteAllFailedTask(&model.DeleteAllFailedTaskRequest{})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)

	// A key pair the caller cannot read: bob's own, in the same project.
	wantKPSError(t, assoc(e.c, bobs.Name, "web-1", s.Password), 404, kpsapi.ErrKeypairNotFound.Code)
	br, err := e.c.BatchAssociateKeypair(&model.BatchAssociateKeypairRequest{Body: &model.BatchAssociateKeypairRequestBody{
		BatchKeypairs: []model.AssociateKeypairRequestBody{{KeypairName: bobs.Name, Server: &model.EcsServerInfo{Id: "web-1", Auth: byPassword(s.Password)}}}}})
	if err != nil || br.Tasks == nil || len(*br.Tasks) != 1 || (*br.Tasks)[0].TaskId != nil || (*br.Tasks)[0].Status.Value() != "FAILED" ||
		str((*br.Tasks)[0].ErrorCode) != kpsapi.ErrKeypairNotFound.Code || str((*br.Tasks)[0].ErrorMsg) == "" {
		t.Fatalf("batch associate of bob's key pair by alice: %+v %v, want the item FAILED with %s and no task", br, err, kpsapi.ErrKeypairNotFound.Code)
	}

	if after := s.AuthorizedKeys(t); after != before {
		t.Fatalf("a refused request changed authorized_keys:\n%s\nwas:\n%s", after, before)
	}
	if keyLines(other.AuthorizedKeys(t), mine.Public) != 0 {
		t.Fatal("alice's key reached mallory's server")
	}
	if !s.CanLoginKey(t, []byte(mine.Private)) {
		t.Fatal("alice's key no longer logs in after the refused disassociates")
	}
	if len(allRunning(t, e.c)) != 0 || len(allFailed(t, e.c)) != 1 {
		t.Fatalf("refused requests made tasks: %s", failedSummary(t, e.c))
	}
}
