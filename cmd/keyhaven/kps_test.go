package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

// cloudUser is a user of the built-in identity with a token and an EC2
// credential for the Huawei SDK.
type cloudUser struct {
	ID, Project, Token, AK, SK string
}

// newCloudUser creates (as admin) a user with role on project (created if
// needed), logs in and makes an EC2 credential.
func newCloudUser(t *testing.T, srv *testServer, adminTok, name, project, role string) cloudUser {
	t.Helper()
	h := map[string]string{"X-Auth-Token": adminTok, "Content-Type": "application/json"}
	var pid string
	resp, raw := srv.do(t, "GET", "/identity/v3/projects?name="+project, h, "")
	var pl struct {
		Projects []struct{ ID string } `json:"projects"`
	}
	if err := json.Unmarshal(raw, &pl); err != nil || resp.StatusCode != 200 {
		t.Fatalf("projects: %d %s", resp.StatusCode, raw)
	}
	if len(pl.Projects) == 1 {
		pid = pl.Projects[0].ID
	} else {
		resp, raw = srv.do(t, "POST", "/identity/v3/projects", h, `{"project": {"name": "`+project+`", "domain_id": "default"}}`)
		var p struct {
			Project struct{ ID string } `json:"project"`
		}
		if err := json.Unmarshal(raw, &p); err != nil || resp.StatusCode != 201 {
			t.Fatalf("project create: %d %s", resp.StatusCode, raw)
		}
		pid = p.Project.ID
	}
	resp, raw = srv.do(t, "POST", "/identity/v3/users", h, `{"user": {"name": "`+name+`", "password": "pw-`+name+`", "domain_id": "default"}}`)
	var u struct {
		User struct{ ID string } `json:"user"`
	}
	if err := json.Unmarshal(raw, &u); err != nil || resp.StatusCode != 201 {
		t.Fatalf("user create: %d %s", resp.StatusCode, raw)
	}
	resp, raw = srv.do(t, "GET", "/identity/v3/roles?name="+role, h, "")
	var rl struct {
		Roles []struct{ ID string } `json:"roles"`
	}
	if err := json.Unmarshal(raw, &rl); err != nil || len(rl.Roles) != 1 {
		t.Fatalf("role %s: %s", role, raw)
	}
	if resp, raw := srv.do(t, "PUT", "/identity/v3/projects/"+pid+"/users/"+u.User.ID+"/roles/"+rl.Roles[0].ID, h, ""); resp.StatusCode != 204 {
		t.Fatalf("grant: %d %s", resp.StatusCode, raw)
	}
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "` + u.User.ID + `", "password": "pw-` + name + `"}}},
		"scope": {"project": {"id": "` + pid + `"}}}}`
	resp, raw = srv.do(t, "POST", "/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
	if resp.StatusCode != 201 {
		t.Fatalf("login %s: %d %s", name, resp.StatusCode, raw)
	}
	c := cloudUser{ID: u.User.ID, Project: pid, Token: resp.Header.Get("X-Subject-Token")}
	resp, raw = srv.do(t, "POST", "/identity/v3/users/"+c.ID+"/credentials/OS-EC2",
		map[string]string{"X-Auth-Token": c.Token, "Content-Type": "application/json"}, `{"tenant_id": "`+pid+`"}`)
	var cred struct {
		Credential struct{ Access, Secret string } `json:"credential"`
	}
	if err := json.Unmarshal(raw, &cred); err != nil || resp.StatusCode != 201 {
		// A reader may not create credentials; an admin makes one for it.
		resp, raw = srv.do(t, "POST", "/identity/v3/users/"+c.ID+"/credentials/OS-EC2", h, `{"tenant_id": "`+pid+`"}`)
		if err := json.Unmarshal(raw, &cred); err != nil || resp.StatusCode != 201 {
			t.Fatalf("ec2 credential for %s: %d %s", name, resp.StatusCode, raw)
		}
	}
	c.AK, c.SK = cred.Credential.Access, cred.Credential.Secret
	return c
}

// kpsClient is the real Huawei Cloud SDK's KPS client for u, signing with
// AK/SK, pointed at the test server.
func kpsClient(t *testing.T, srv *testServer, u cloudUser) *kps.KpsClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(u.AK).WithSk(u.SK).WithProjectId(u.Project).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := kps.KpsClientBuilder().WithCredential(cred).WithHttpConfig(config.DefaultHttpConfig()).WithEndpoint(srv.URL).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return kps.NewKpsClient(hc)
}

// wantKPSError checks that err is the SDK's error for a KPS error code.
func wantKPSError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errorsAs(err, &se) || se.StatusCode != status || se.ErrorCode != code || se.ErrorMessage == "" {
		t.Fatalf("got %v, want HTTP %d %s", err, status, code)
	}
}

func errorsAs(err error, target **sdkerr.ServiceResponseError) bool {
	se, ok := err.(*sdkerr.ServiceResponseError)
	if ok {
		*target = se
	}
	return ok
}

func ptr[T any](v T) *T { return &v }

// TestKPSWithHuaweiSDK runs the KPS operations through the real Huawei
// Cloud Go SDK with AK/SK signatures, and checks that Nova and KPS share
// one store.
func TestKPSWithHuaweiSDK(t *testing.T) { kpsWithHuaweiSDK(t) }

// TestKPSWithHuaweiSDKPostgres runs the same with identity and key pairs
// on PostgreSQL.
func TestKPSWithHuaweiSDKPostgres(t *testing.T) { kpsWithHuaweiSDK(t, "--database", postgresURL(t)) }

func kpsWithHuaweiSDK(t *testing.T, flags ...string) {
	srv := startIdentityServer(t, append([]string{"--quota-key-pairs", "20"}, flags...)...)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	bob := newCloudUser(t, srv, adminTok, "bob", "team", "member")
	c := kpsClient(t, srv, alice)
	pub, fp := sshKeygen(t, "-t", "ed25519")

	// Generate and import.
	gen, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "generated"}}})
	if err != nil || gen.Keypair == nil || gen.Keypair.PrivateKey == nil || !strings.HasPrefix(*gen.Keypair.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----") {
		t.Fatalf("generate: %+v %v", gen, err)
	}
	imp, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "imported", PublicKey: &pub}}})
	if err != nil || *imp.Keypair.Fingerprint != fp || imp.Keypair.PrivateKey != nil || *imp.Keypair.UserId != alice.ID {
		t.Fatalf("import: %+v %v", imp, err)
	}
	shared := model.GetCreateKeypairActionScopeEnum().DOMAIN
	if _, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "shared", PublicKey: &pub, Scope: &shared}}}); err != nil {
		t.Fatalf("domain scope: %v", err)
	}

	// Errors in KPS's format.
	nextSigningSecond() // the clash is not the first create's replay
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "imported", PublicKey: &pub}}})
	wantKPSError(t, err, 409, kpsapi.ErrKeypairExists.Code)
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "bad key", PublicKey: &pub}}})
	wantKPSError(t, err, 400, kpsapi.ErrInvalidParameter.Code)
	_, err = c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "badkey", PublicKey: ptr("ssh-rsa AAAAnotbase64")}}})
	wantKPSError(t, err, 400, kpsapi.ErrInvalidPublicKey.Code)
	_, err = c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "nope"})
	wantKPSError(t, err, 404, kpsapi.ErrKeypairNotFound.Code)

	// Detail and description: the update answers 200 with an empty body,
	// as Huawei does (its Terraform provider refuses a 204).
	up, err := c.UpdateKeypairDescription(&model.UpdateKeypairDescriptionRequest{KeypairName: "imported",
		Body: &model.UpdateKeypairDescriptionRequestBody{Keypair: &model.UpdateKeypairDescriptionReq{Description: "laptop"}}})
	if err != nil || up.HttpStatusCode != 200 {
		t.Fatalf("update description: %+v %v", up, err)
	}
	if resp, raw := srv.do(t, "PUT", "/v3/"+alice.Project+"/keypairs/imported", map[string]string{"X-Auth-Token": alice.Token},
		`{"keypair": {"description": "laptop"}}`); resp.StatusCode != 200 || len(raw) != 0 {
		t.Fatalf("update description over plain HTTP: %d %q, want 200 with an empty body", resp.StatusCode, raw)
	}
	d, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "imported"})
	if err != nil || *d.Keypair.Description != "laptop" || *d.Keypair.Algorithm != "ed25519" || *d.Keypair.UserId != alice.ID ||
		*d.Keypair.Fingerprint != fp || *d.Keypair.IsKeyProtection || *d.Keypair.Id == 0 || *d.Keypair.CreateTime == 0 {
		t.Fatalf("detail: %+v %v", d.Keypair, err)
	}

	// Paging: three key pairs, two per page.
	l, err := c.ListKeypairs(&model.ListKeypairsRequest{Limit: ptr("2")})
	if err != nil || len(*l.Keypairs) != 2 || l.PageInfo.NextMarker == nil || *l.PageInfo.CurrentCount != 2 {
		t.Fatalf("page 1: %+v %v", l, err)
	}
	l2, err := c.ListKeypairs(&model.ListKeypairsRequest{Limit: ptr("2"), Marker: l.PageInfo.NextMarker})
	if err != nil || len(*l2.Keypairs) != 1 || l2.PageInfo.NextMarker != nil || *(*l2.Keypairs)[0].Keypair.Name != "shared" {
		t.Fatalf("page 2: %+v %v", l2, err)
	}

	// Batch import: one good, one bad.
	bi, err := c.BatchImportKeypair(&model.BatchImportKeypairRequest{Body: &[]model.CreateKeypairRequestBody{
		{Keypair: &model.CreateKeypairAction{Name: "batch-ok", PublicKey: &pub}},
		{Keypair: &model.CreateKeypairAction{Name: "batch-bad", PublicKey: ptr("junk")}},
	}})
	if err != nil || len(*bi.SucceededKeypairs) != 1 || len(*bi.FailedKeypairs) != 1 || (*bi.FailedKeypairs)[0].KeypairName != "batch-bad" {
		t.Fatalf("batch import: %+v %v", bi, err)
	}

	// Sharing: bob (same domain) sees the domain key pair but not alice's
	// own, and may not delete the shared one.
	cb := kpsClient(t, srv, bob)
	if _, err := cb.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "shared"}); err != nil {
		t.Fatalf("bob reads the domain key pair: %v", err)
	}
	_, err = cb.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "imported"})
	wantKPSError(t, err, 404, kpsapi.ErrKeypairNotFound.Code)
	_, err = cb.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "shared"})
	wantKPSError(t, err, 403, kpsapi.ErrNotAuthorized.Code)
	// Bob may not create a key pair whose name would clash with the shared one.
	_, err = cb.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
		Keypair: &model.CreateKeypairAction{Name: "shared", PublicKey: &pub}}})
	wantKPSError(t, err, 409, kpsapi.ErrKeypairExists.Code)

	// Cross-API: made in KPS, seen and deleted in Nova; made in Nova (with
	// a name KPS would not accept), seen and deleted in KPS.
	h := map[string]string{"X-Auth-Token": alice.Token, "OpenStack-API-Version": "compute 2.92", "Content-Type": "application/json"}
	if resp, raw := srv.do(t, "GET", "/v2.1/os-keypairs/imported", h, ""); resp.StatusCode != 200 || !strings.Contains(string(raw), fp) {
		t.Fatalf("Nova show of a KPS key pair: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := srv.do(t, "DELETE", "/v2.1/os-keypairs/batch-ok", h, ""); resp.StatusCode != 204 {
		t.Fatalf("Nova delete of a KPS key pair: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := srv.do(t, "POST", "/v2.1/os-keypairs", h, `{"keypair": {"name": "me@nova.example", "public_key": "`+strings.TrimSpace(pub)+`"}}`); resp.StatusCode != 201 {
		t.Fatalf("Nova create: %d %s", resp.StatusCode, raw)
	}
	if _, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "me@nova.example"}); err != nil {
		t.Fatalf("KPS detail of a Nova key pair: %v", err)
	}
	if _, err := c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "me@nova.example"}); err != nil {
		t.Fatalf("KPS delete of a Nova key pair: %v", err)
	}
	if del, err := c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "generated"}); err != nil || del.HttpStatusCode != 204 {
		t.Fatalf("delete: %+v %v", del, err)
	}
	nextSigningSecond()
	_, err = c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: "generated"})
	wantKPSError(t, err, 404, kpsapi.ErrKeypairNotFound.Code)

	// A token works as well as AK/SK, and a bad one gets KPS's 401.
	if resp, raw := srv.do(t, "GET", "/v3/"+alice.Project+"/keypairs", map[string]string{"X-Auth-Token": alice.Token}, ""); resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, raw)
	}
	resp, raw := srv.do(t, "GET", "/v3/"+alice.Project+"/keypairs", map[string]string{"X-Auth-Token": "junk"}, "")
	if resp.StatusCode != 401 || !strings.Contains(string(raw), `"error_code":"`+kpsapi.ErrUnauthenticated.Code+`"`) {
		t.Fatalf("bad token: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := srv.do(t, "GET", "/v3/"+bob.Project+"x/keypairs", map[string]string{"X-Auth-Token": alice.Token}, ""); resp.StatusCode != 403 {
		t.Fatalf("other project in URL: %d %s", resp.StatusCode, raw)
	}
}
