package aksk_test

import (
	"bytes"
	"cmp"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3/model"

	"github.com/keyhaven/keyhaven/identity/aksk"
)

type sdkCall func(c *kps.KpsClient) error

func listKeypairs(limit, marker string) sdkCall {
	return func(c *kps.KpsClient) error {
		_, err := c.ListKeypairs(&model.ListKeypairsRequest{Limit: &limit, Marker: &marker})
		return err
	}
}

func createKeypair(name string) sdkCall {
	return func(c *kps.KpsClient) error {
		_, err := c.CreateKeypair(&model.CreateKeypairRequest{Body: &model.CreateKeypairRequestBody{
			Keypair: &model.CreateKeypairAction{Name: name}}})
		return err
	}
}

func deleteKeypair(name string) sdkCall {
	return func(c *kps.KpsClient) error {
		_, err := c.DeleteKeypair(&model.DeleteKeypairRequest{KeypairName: name})
		return err
	}
}

func showKeypair(name string) sdkCall {
	return func(c *kps.KpsClient) error {
		_, err := c.ListKeypairDetail(&model.ListKeypairDetailRequest{KeypairName: name})
		return err
	}
}

// probe sends probeRequest through the KPS client's HcHttpClient.
func probe(method, path, contentType string, req probeRequest) sdkCall {
	return func(c *kps.KpsClient) error {
		_, err := c.HcClient.Sync(&req, probeDef(method, path, contentType))
		return err
	}
}

var pp = "/v3/" + projectID

// TestSDKSignedRequestsVerify sends requests signed and sent by the real
// Huawei Cloud SDK to a loopback server running Verifier.
func TestSDKSignedRequestsVerify(t *testing.T) {
	cases := []struct {
		name      string
		opts      clientOpts
		call      sdkCall
		method    string
		rawPath   string
		rawQuery  string // checked when not empty
		wantAlg   string
		unsigned  bool // the SDK sent UNSIGNED-PAYLOAD
		wantBody  bool
		wantExtra []string // signed header names that must be present
	}{
		{name: "GET list with limit and escaped marker", call: listKeypairs("50", "a b+c/d=é&x;y%z~"),
			method: "GET", rawPath: pp + "/keypairs",
			rawQuery: "limit=50&marker=a%20b%2Bc%2Fd%3D%C3%A9%26x%3By%25z~"},
		{name: "POST create with JSON body", call: createKeypair("kh-key_1"),
			method: "POST", rawPath: pp + "/keypairs", wantBody: true},
		{name: "DELETE name with space, @ and dot", call: deleteKeypair("my key@home.v2"),
			method: "DELETE", rawPath: pp + "/keypairs/my%20key@home.v2"},
		{name: "GET detail name with percent, plus and unicode", call: showKeypair("50%+off ключ"),
			method: "GET", rawPath: pp + "/keypairs/50%25+off%20%D0%BA%D0%BB%D1%8E%D1%87"},
		{name: "DELETE name with a slash", call: deleteKeypair("team/key"),
			method: "DELETE", rawPath: pp + "/keypairs/team/key"},
		{name: "GET repeated keys, several params, escaped values, header param",
			call: probe("GET", "/v3/{project_id}/probe/{name}", "application/json", probeRequest{
				Name: "k:1", Tag: []string{"b", "a", "a b", "é", "a"}, Limit: ptr(int32(10)),
				Q: ptr("x=y&z"), Empty: ptr(""), Trace: ptr("  padded value  ")}),
			method: "GET", rawPath: pp + "/probe/k:1", wantExtra: []string{"x-trace-id"},
			rawQuery: "empty&limit=10&q=x%3Dy%26z&tag=b&tag=a&tag=a%20b&tag=%C3%A9&tag=a"},
		{name: "GET path with trailing slash",
			call:   probe("GET", "/v3/{project_id}/keypairs/{name}/", "application/json", probeRequest{Name: "a.b"}),
			method: "GET", rawPath: pp + "/keypairs/a.b/"},
		{name: "client-level extra signed headers",
			opts: clientOpts{extra: map[string]string{"X-Client-Trace": "abc", "X-Spaced": "  v  w  "}},
			call: listKeypairs("1", ""), method: "GET", wantExtra: []string{"x-client-trace", "x-spaced"}},
		{name: "extra unsigned headers added on the wire",
			opts: clientOpts{tamper: func(r *http.Request) {
				r.Header.Set("X-Forwarded-For", "203.0.113.9")
				r.Header.Add("X-Unsigned", "1")
				r.Header.Add("X-Unsigned", "2")
				r.Header.Set("Accept", "application/json")
			}},
			call: createKeypair("k2"), method: "POST", wantBody: true},
		{name: "DELETE non-JSON without a body is UNSIGNED-PAYLOAD",
			call:   probe("DELETE", "/v3/{project_id}/probe/{name}", "text/plain", probeRequest{Name: "n"}),
			method: "DELETE", unsigned: true},
		{name: "GET non-JSON is UNSIGNED-PAYLOAD",
			call:   probe("GET", "/v3/{project_id}/probe/{name}", "text/plain", probeRequest{Name: "n"}),
			method: "GET", unsigned: true},
		{name: "derived-key signer", opts: clientOpts{derived: true},
			call: createKeypair("derived"), method: "POST", wantAlg: aksk.AlgorithmDerived, wantBody: true},
		{name: "custom user agent", opts: clientOpts{userAgent: "keyhaven-tests/1.0 (x; y)"},
			call: deleteKeypair("k"), method: "DELETE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, aksk.Config{})
			var auth, contentSHA string
			inner := tc.opts.tamper
			tc.opts.tamper = func(r *http.Request) {
				auth, contentSHA = r.Header.Get("Authorization"), r.Header.Get(aksk.HeaderContentSHA256)
				if inner != nil {
					inner(r)
				}
			}
			if err := tc.call(h.kps(t, tc.opts)); err != nil {
				t.Fatalf("SDK call: %v", err)
			}
			got := h.last(t)
			if got.err != nil {
				t.Fatalf("Authenticate: %v", got.err)
			}
			if !reflect.DeepEqual(got.principal, testPrincipal) {
				t.Errorf("principal = %+v, want %+v", got.principal, testPrincipal)
			}
			if got.method != tc.method {
				t.Errorf("method = %s, want %s", got.method, tc.method)
			}
			if tc.rawPath != "" && got.rawPath != tc.rawPath {
				t.Errorf("path = %s, want %s", got.rawPath, tc.rawPath)
			}
			if tc.rawQuery != "" && got.rawQuery != tc.rawQuery {
				t.Errorf("query = %s, want %s", got.rawQuery, tc.rawQuery)
			}
			if !bytes.Equal(got.body, got.sentBody) || tc.wantBody != (len(got.body) > 0) {
				t.Errorf("handler read body %q, client sent %q", got.body, got.sentBody)
			}
			a, err := aksk.ParseAuthorization(auth)
			if err != nil {
				t.Fatalf("SDK header %q: %v", auth, err)
			}
			if want := cmp.Or(tc.wantAlg, aksk.AlgorithmHMACSHA256); a.Algorithm != want {
				t.Errorf("algorithm = %s, want %s", a.Algorithm, want)
			}
			if (contentSHA == aksk.UnsignedPayload) != tc.unsigned {
				t.Errorf("X-Sdk-Content-Sha256 = %q", contentSHA)
			}
			for _, name := range append([]string{"x-sdk-date", "x-project-id", "user-agent"}, tc.wantExtra...) {
				if !slices.Contains(a.SignedHeaders, name) {
					t.Errorf("SDK did not sign %s: %v", name, a.SignedHeaders)
				}
			}
		})
	}
}

// TestSignerPackageOverNetHTTP signs with the SDK's signer package directly
// and sends the converted request with net/http, covering what the generated
// clients cannot express: map query parameters and a signed Host header.
func TestSignerPackageOverNetHTTP(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *request.HttpRequestBuilder, host string)
	}{
		{"map query parameters", func(b *request.HttpRequestBuilder, _ string) {
			b.AddQueryParam("filter", reflect.ValueOf(map[string]string{"b c": "2", "a": "1/1"}))
		}},
		{"signed host header", func(b *request.HttpRequestBuilder, host string) {
			b.AddHeaderParam("Host", host)
		}},
		{"slice and scalar query", func(b *request.HttpRequestBuilder, _ string) {
			b.AddQueryParam("id", reflect.ValueOf([]int{3, 1, 2})).AddQueryParam("all", reflect.ValueOf(true))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, aksk.Config{})
			host := strings.TrimPrefix(h.srv.URL, "http://")
			b := request.NewHttpRequestBuilder().WithEndpoint(h.srv.URL).WithMethod("GET").
				WithPath("/v3/"+projectID+"/keypairs").AddHeaderParam("Content-Type", "application/json")
			tc.build(b, host)
			r := b.Build()
			hdrs, err := signer.Sign(r, testAK, testSK)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range hdrs {
				r.AddHeaderParam(k, v)
			}
			hr, err := r.ConvertRequest()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := h.srv.Client().Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := h.last(t); got.err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, Authenticate: %v (query %q)", resp.StatusCode, got.err, got.rawQuery)
			}
		})
	}
}
