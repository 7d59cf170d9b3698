package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
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

// session sends requests to one target with one way of authenticating,
// over kept-alive connections of its own (conn). A timed worker holds
// one connection for the whole run; setup calls borrow idle ones.
type session struct {
	// base is the target's URL without a trailing slash, the endpoint
	// the SDK signs for; ep is it taken apart for the connections.
	base      string
	ep        endpoint
	auth      string
	token     string
	ak, sk    string
	projectID string
	// noncePrefix and nonce make each signed request's nonce unique in
	// the run.
	noncePrefix string
	nonce       atomic.Int64

	mu   sync.Mutex
	idle []*conn
}

func newSession(base string) (*session, error) {
	ep, err := parseEndpoint(base)
	if err != nil {
		return nil, err
	}
	return &session{base: strings.TrimRight(base, "/"), ep: ep}, nil
}

// get returns an idle connection, or a new one that dials on first use.
func (s *session) get() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return c
	}
	return newConn(&s.ep)
}

// put gives back a connection get returned.
func (s *session) put(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idle = append(s.idle, c)
}

func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.idle {
		c.drop()
	}
	s.idle = nil
}

// login gets a token with a password from the target's identity service,
// scoped to the project, and returns it with the project's id.
func (s *session) login(ctx context.Context, cr Credentials) (token, projectID string, err error) {
	res, err := s.do(ctx, loginCall(cr))
	if err != nil {
		return "", "", err
	}
	if res.status != http.StatusCreated {
		return "", "", fmt.Errorf("login as %s: %d %s", cr.Username, res.status, trim(res.body))
	}
	var tb struct {
		Token struct {
			Project struct {
				ID string `json:"id"`
			} `json:"project"`
		} `json:"token"`
	}
	if err := json.Unmarshal(res.body, &tb); err != nil {
		return "", "", fmt.Errorf("login answer: %w", err)
	}
	return res.subjectToken, tb.Token.Project.ID, nil
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

// do sends c on a borrowed connection and returns the answer, its body
// copied out of the connection's buffer.
func (s *session) do(ctx context.Context, c call) (response, error) {
	cn := s.get()
	defer s.put(cn)
	res, err := s.send(ctx, cn, c)
	res.body = bytes.Clone(res.body)
	return res, err
}

// send sends c on cn, which the caller holds; the answer's body is valid
// until cn's next request.
func (s *session) send(ctx context.Context, cn *conn, c call) (response, error) {
	req, err := s.render(cn.req, c)
	if err != nil {
		return response{}, err
	}
	cn.req = req
	res, err := cn.roundTrip(ctx)
	if err != nil {
		// As net/http says which request failed, for the run's notes.
		return response{}, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	return res, nil
}

// trim shortens an answer's body for an error message.
func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
