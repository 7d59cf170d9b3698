package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// call is one request an operation sends.
type call struct {
	method, path string
	query        url.Values
	body         string
	// mv is the Nova microversion sent in OpenStack-API-Version; none
	// when empty.
	mv string
	// noAuth sends the request without credentials (a login).
	noAuth bool
	// name is the key pair the call creates, if any.
	name string
}

// session sends requests to one target with one way of authenticating.
type session struct {
	base      string
	client    *http.Client
	auth      string
	token     string
	ak, sk    string
	projectID string
	// noncePrefix and nonce make each signed request's nonce unique in
	// the run.
	noncePrefix string
	nonce       atomic.Int64
}

func newSession(base string, conns int) *session {
	tr := &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns * 2,
		DisableCompression: true,
	}
	return &session{base: strings.TrimRight(base, "/"), client: &http.Client{Transport: tr}}
}

func (s *session) close() { s.client.CloseIdleConnections() }

// login gets a token with a password from the target's identity service,
// scoped to the project, and returns it with the project's id.
func (s *session) login(ctx context.Context, cr Credentials) (token, projectID string, err error) {
	status, hdr, body, err := s.do(ctx, loginCall(cr))
	if err != nil {
		return "", "", err
	}
	if status != http.StatusCreated {
		return "", "", fmt.Errorf("login as %s: %d %s", cr.Username, status, trim(body))
	}
	var tb struct {
		Token struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if err := json.Unmarshal(body, &tb); err != nil {
		return "", "", fmt.Errorf("login answer: %w", err)
	}
	return hdr.Get("X-Subject-Token"), tb.Token.Project.ID, nil
}

// loginCall is a password login scoped to the credentials' project.
func loginCall(cr Credentials) call {
	b, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": cr.Username, "domain": map[string]string{"name": cr.Domain}, "password": cr.Password}}},
		"scope": map[string]any{"project": map[string]any{"name": cr.Project, "domain": map[string]string{"name": cr.Domain}}},
	}})
	return call{method: http.MethodPost, path: "/identity/v3/auth/tokens", body: string(b), noAuth: true}
}

// do sends c and returns the status, headers and body of the answer.
func (s *session) do(ctx context.Context, c call) (int, http.Header, []byte, error) {
	r, err := s.request(ctx, c)
	if err != nil {
		return 0, nil, nil, err
	}
	res, err := s.client.Do(r)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body, err
}

func (s *session) request(ctx context.Context, c call) (*http.Request, error) {
	if s.auth == AuthAKSK && !c.noAuth {
		return s.signed(ctx, c)
	}
	u := s.base + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return nil, err
	}
	if c.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if c.mv != "" {
		r.Header.Set("OpenStack-API-Version", "compute "+c.mv)
	}
	if !c.noAuth {
		r.Header.Set("X-Auth-Token", s.token)
	}
	return r, nil
}

// signed builds c signed with the Huawei Cloud SDK's own signer. Each
// request carries a signed nonce header: keyhaven refuses a signed
// request that would change something when it sees its signature twice,
// and two identical requests in the same second would sign alike.
func (s *session) signed(ctx context.Context, c call) (*http.Request, error) {
	b := request.NewHttpRequestBuilder().WithEndpoint(s.base).WithMethod(c.method).WithPath(c.path).
		AddHeaderParam("X-Load-Nonce", s.noncePrefix+strconv.FormatInt(s.nonce.Add(1), 10))
	for k, vs := range c.query {
		for _, v := range vs {
			b = b.AddQueryParam(k, v)
		}
	}
	if c.body != "" {
		b = b.AddHeaderParam("Content-Type", "application/json").WithBody("", c.body)
	}
	if c.mv != "" {
		b = b.AddHeaderParam("OpenStack-API-Version", "compute "+c.mv)
	}
	r := b.Build()
	hdrs, err := signer.Sign(r, s.ak, s.sk)
	if err != nil {
		return nil, err
	}
	for k, v := range hdrs {
		r.AddHeaderParam(k, v)
	}
	hr, err := r.ConvertRequest()
	if err != nil {
		return nil, err
	}
	if c.body != "" {
		// The SDK's request reads its body once; give the HTTP client one
		// it can also rewind for a retry on a closed kept-alive connection.
		hr.Body = io.NopCloser(bytes.NewReader([]byte(c.body)))
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(c.body)), nil }
		hr.ContentLength = int64(len(c.body))
	}
	return hr.WithContext(ctx), nil
}

// trim shortens an answer's body for an error message.
func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
