package aksk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	hwcore "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer/algorithm"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	kps "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/kps/v3"

	kpsapi "github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
)

const (
	testAK    = "HPUAKEYHAVEN0TEST001"
	testSK    = "s3cr3t-SK/with+odd=chars0123456789abcdef"
	projectID = "0f2b6a1c9d8e4f7a8b9c0d1e2f3a4b5c"
)

var (
	testPrincipal = identity.Principal{UserID: "u-1", ProjectID: projectID, DomainID: "d-1", Roles: []string{"member"}}
	errDBDown     = errors.New("database is down")
)

// mapSecrets is a SecretSource over a map; "BROKEN" fails like a database
// would and "DISABLED" is refused with its own reason.
type mapSecrets map[string]string

func (m mapSecrets) LookupSecret(_ context.Context, ak string) (string, identity.Principal, error) {
	switch ak {
	case "BROKEN":
		return "", identity.Principal{}, errDBDown
	case "DISABLED":
		return "", identity.Principal{}, identity.Unauthenticated("access key is disabled")
	}
	sk, ok := m[ak]
	if !ok {
		return "", identity.Principal{}, identity.ErrUnknownAccessKey
	}
	return sk, testPrincipal, nil
}

var secrets = mapSecrets{testAK: testSK}

// outcome is what the server's handler saw.
type outcome struct {
	principal identity.Principal
	err       error
	body      []byte // read by the handler after Authenticate
	sentBody  []byte // what the client put on the wire
	method    string
	rawPath   string
	rawQuery  string
}

// harness is a loopback server whose handler runs Verifier.Authenticate.
type harness struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []outcome
	// sent is the body the client transport last sent.
	sent []byte
}

func newHarness(t testing.TB, cfg aksk.Config) *harness {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = secrets
	}
	v := aksk.New(cfg)
	h := &harness{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Authenticate(r.Context(), r)
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, outcome{p, err, body, h.sent, r.Method, r.URL.EscapedPath(), r.URL.RawQuery})
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case err == nil:
			w.Write([]byte("{}"))
		case errors.Is(err, identity.ErrUnauthenticated):
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error_code": "APIGW.0301", "error_msg": identity.Reason(err)})
		case errors.As(err, new(*http.MaxBytesError)):
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			json.NewEncoder(w).Encode(map[string]string{"error_code": kpsapi.ErrTooLarge.Code, "error_msg": "too large"})
		default:
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error_code": kpsapi.ErrInternal.Code, "error_msg": "internal error"})
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// last returns the only request the handler saw.
func (h *harness) last(t testing.TB) outcome {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(h.got))
	}
	return h.got[0]
}

// tamperer is the SDK's RoundTripper: it records the body the SDK sends and
// lets a test change the signed request on its way to the server.
type tamperer struct {
	h      *harness
	tamper func(*http.Request)
	next   http.RoundTripper
}

func (rt tamperer) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if rt.tamper != nil {
		rt.tamper(r)
	}
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	rt.h.mu.Lock()
	rt.h.sent = body
	rt.h.mu.Unlock()
	return rt.next.RoundTrip(r)
}

// clientOpts says how the SDK client signs.
type clientOpts struct {
	ak, sk    string
	alg       algorithm.SigningAlgorithm
	derived   bool // sign with the derived-key signer for service "kps"
	extra     map[string]string
	tamper    func(*http.Request)
	userAgent string
}

// hcClient builds the SDK's HcHttpClient pointed at the harness, exactly as a
// KPS user would (basic credentials with a project id).
func (h *harness) hcClient(t testing.TB, o clientOpts) *hwcore.HcHttpClient {
	t.Helper()
	if o.ak == "" {
		o.ak, o.sk = testAK, testSK
	}
	cb := basic.NewCredentialsBuilder().WithAk(o.ak).WithSk(o.sk).WithProjectId(projectID)
	if o.derived {
		cb = cb.WithDerivedPredicate(func(*request.DefaultHttpRequest) bool { return true })
	}
	cred, err := cb.SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc := config.DefaultHttpConfig().WithUserAgent(o.userAgent).
		WithHttpRoundTripper(tamperer{h: h, tamper: o.tamper, next: h.srv.Client().Transport})
	if o.alg != "" {
		hc = hc.WithSigningAlgorithm(o.alg)
	}
	b := kps.KpsClientBuilder().WithCredential(cred).WithHttpConfig(hc)
	if o.derived {
		b = b.WithRegion(region.NewRegion("kh-test-1", h.srv.URL)).WithDerivedAuthServiceName("kps")
	} else {
		b = b.WithEndpoint(h.srv.URL)
	}
	c, err := b.SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	if o.extra != nil {
		c = c.PreInvoke(o.extra)
	}
	return c
}

func (h *harness) kps(t testing.TB, o clientOpts) *kps.KpsClient {
	return kps.NewKpsClient(h.hcClient(t, o))
}

// probeRequest is a request shape KPS lacks: repeated query keys, several
// query parameters, a header parameter and a body, sent through the SDK's
// generic HcHttpClient.Sync exactly like a generated client call.
type probeRequest struct {
	Name  string     `json:"name"`
	Tag   []string   `json:"tag"`
	Limit *int32     `json:"limit,omitempty"`
	Q     *string    `json:"q,omitempty"`
	Empty *string    `json:"empty,omitempty"`
	Trace *string    `json:"X-Trace-Id,omitempty"`
	Body  *probeBody `json:"body,omitempty"`
}

type probeBody struct {
	Comment string `json:"comment"`
}

type probeResponse struct {
	HttpStatusCode int `json:"-"`
}

func probeDef(method, path, contentType string) *def.HttpRequestDef {
	b := def.NewHttpRequestDefBuilder().WithMethod(method).WithPath(path).
		WithResponse(new(probeResponse)).WithContentType(contentType)
	b.WithRequestField(def.NewFieldDef().WithName("Name").WithJsonTag("name").WithLocationType(def.Path))
	b.WithRequestField(def.NewFieldDef().WithName("Tag").WithJsonTag("tag").WithLocationType(def.Query))
	b.WithRequestField(def.NewFieldDef().WithName("Limit").WithJsonTag("limit").WithLocationType(def.Query))
	b.WithRequestField(def.NewFieldDef().WithName("Q").WithJsonTag("q").WithLocationType(def.Query))
	b.WithRequestField(def.NewFieldDef().WithName("Empty").WithJsonTag("empty").WithLocationType(def.Query))
	b.WithRequestField(def.NewFieldDef().WithName("Trace").WithJsonTag("X-Trace-Id").WithLocationType(def.Header))
	b.WithRequestField(def.NewFieldDef().WithName("Body").WithLocationType(def.Body))
	return b.Build()
}

func ptr[T any](v T) *T { return &v }

// replaceBody reads r's body, lets f change it and returns the new body.
func replaceBody(r *http.Request, f func([]byte)) io.ReadCloser {
	b, _ := io.ReadAll(r.Body)
	f(b)
	return io.NopCloser(bytes.NewReader(b))
}
