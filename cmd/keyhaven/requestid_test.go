package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/httphandler"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
)

var requestIDShape = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// requestIDOf returns the answer's request id after checking that it is
// one req-<uuid>, the same in X-Request-Id and in both OpenStack headers.
func requestIDOf(t *testing.T, what string, h http.Header) string {
	t.Helper()
	id := h.Values("X-Request-Id")
	if len(id) != 1 || !requestIDShape.MatchString(id[0]) {
		t.Errorf("%s: X-Request-Id %q, want one req-<uuid>", what, id)
		return ""
	}
	for _, k := range []string{"X-Openstack-Request-Id", "X-Compute-Request-Id"} {
		if v := h.Values(k); len(v) != 1 || v[0] != id[0] {
			t.Errorf("%s: %s %q, X-Request-Id %q", what, k, v, id[0])
		}
	}
	return id[0]
}

// TestRequestIDEveryDialect checks that answers of every dialect, success
// and error alike, carry X-Request-Id with the OpenStack ids' value, and
// that each request gets its own.
func TestRequestIDEveryDialect(t *testing.T) {
	srv := startIdentityServer(t)
	tok, _, project := adminToken(t, srv)
	auth := map[string]string{"X-Auth-Token": tok}
	nova := map[string]string{"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.92"}
	seen := map[string]string{}
	for _, c := range []struct {
		what, method, path string
		hdr                map[string]string
		status             int
	}{
		{"Nova versions", "GET", "/", nil, 200},
		{"Nova list", "GET", "/v2.1/os-keypairs", nova, 200},
		{"Nova missing key pair", "GET", "/v2.1/os-keypairs/nope", nova, 404},
		{"Nova without a token", "GET", "/v2.1/os-keypairs", nil, 401},
		{"Nova method not allowed", "PUT", "/v2.1/os-keypairs/nope", nova, 405},
		{"KPS list", "GET", "/v3/" + project + "/keypairs", auth, 200},
		{"KPS missing key pair", "GET", "/v3/" + project + "/keypairs/nope", auth, 404},
		{"KPS without a token", "GET", "/v3/" + project + "/keypairs", nil, 401},
		{"KPS unknown path", "GET", "/v3/" + project + "/servers", auth, 404},
		{"identity version", "GET", "/identity/v3", nil, 200},
		{"identity without a token", "GET", "/identity/v3/users", nil, 401},
		{"health", "GET", "/healthz", nil, 200},
		{"unknown path", "GET", "/nowhere", nil, 404},
	} {
		resp, raw := srv.do(t, c.method, c.path, c.hdr, "")
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.what, resp.StatusCode, raw, c.status)
		}
		id := requestIDOf(t, c.what, resp.Header)
		if prev, ok := seen[id]; ok && id != "" {
			t.Errorf("%s: request id %s already answered %s", c.what, id, prev)
		}
		seen[id] = c.what
	}
}

// TestKPSErrorRequestIDInSDK checks that the Huawei SDK's error for a KPS
// error carries the answer's X-Request-Id, as its users see it in error
// messages (it printed "request_id: ," before).
func TestKPSErrorRequestIDInSDK(t *testing.T) {
	srv := startIdentityServer(t)
	adminTok, _, _ := adminToken(t, srv)
	alice := newCloudUser(t, srv, adminTok, "alice", "team", "member")
	var headers []string
	handler := httphandler.NewHttpHandler().AddResponseHandler(func(resp http.Response) {
		headers = append(headers, resp.Header.Get("X-Request-Id"))
	})
	cred, err := basic.NewCredentialsBuilder().WithAk(alice.AK).WithSk(alice.SK).WithProjectId(alice.Project).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := kps.KpsClientBuilder().WithCredential(cred).WithHttpConfig(config.DefaultHttpConfig().WithHttpHandler(handler)).
		WithEndpoint(srv.URL).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	c := kps.NewKpsClient(hc)
	_, err = c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: "nope"})
	var se *sdkerr.ServiceResponseError
	if !errorsAs(err, &se) || se.ErrorCode != kpsapi.ErrKeypairNotFound.Code || se.StatusCode != 404 {
		t.Fatalf("show of a missing key pair: %v", err)
	}
	if len(headers) != 1 || !requestIDShape.MatchString(se.RequestId) || se.RequestId != headers[0] {
		t.Fatalf("the SDK's error has request id %q; the answer's X-Request-Id %q", se.RequestId, headers)
	}
	if !strings.Contains(se.Error(), se.RequestId) {
		t.Fatalf("the SDK's message does not name the request id: %s", se.Error())
	}
}
