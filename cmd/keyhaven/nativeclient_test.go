package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/keyhaven/keyhaven/api/native"
)

// openAPIDoc is the committed OpenAPI document, loaded once.
var openAPIDoc = sync.OnceValues(func() (*openapi3.T, error) {
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/merge-patch+json", openapi3filter.JSONBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(native.OpenAPI)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

// nativeClient calls keyhaven's own API and checks every request it sends
// (unless told it is deliberately bad) and every answer it gets against
// the OpenAPI document, so the document cannot drift from the code.
type nativeClient struct {
	t     testing.TB
	srv   *testServer
	token string
}

// nativeAnswer is an answer of keyhaven's own API.
type nativeAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the answer's body into v or fails the test.
func (a nativeAnswer) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.Status, a.Body, err)
	}
}

// Problem decodes a problem details answer.
func (a nativeAnswer) Problem(t testing.TB) native.Problem {
	t.Helper()
	var p native.Problem
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("answer %d has Content-Type %q, want application/problem+json: %s", a.Status, ct, a.Body)
	}
	a.JSON(t, &p)
	if p.Status != a.Status || p.Code == "" || p.Detail == "" || p.Title == "" || p.Type != native.ProblemType+p.Code {
		t.Fatalf("problem %+v does not describe status %d", p, a.Status)
	}
	return p
}

// route finds the document's operation for a path under /keyhaven/v1.
func nativeRoute(doc *openapi3.T, method, path string) (*routers.Route, map[string]string) {
	p := strings.TrimPrefix(path, native.Prefix)
	p, _, _ = strings.Cut(p, "?")
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	tmpl, params := "", map[string]string{}
	switch {
	case p == "/keypairs" || p == "/audit" || p == "/openapi.json":
		tmpl = p
	case len(segs) == 2 && segs[0] == "keypairs" && method == "POST" && strings.HasSuffix(segs[1], ":rotate"):
		tmpl, params["name"] = "/keypairs/{name}:rotate", strings.TrimSuffix(segs[1], ":rotate")
	case len(segs) == 2 && segs[0] == "keypairs":
		tmpl, params["name"] = "/keypairs/{name}", segs[1]
	case len(segs) == 3 && segs[0] == "keypairs" && segs[2] == "private-key":
		tmpl, params["name"] = "/keypairs/{name}/private-key", segs[1]
	}
	item := doc.Paths.Find(tmpl)
	if item == nil || item.GetOperation(method) == nil {
		return nil, nil
	}
	return &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: item.GetOperation(method)}, params
}

// do sends one request; badRequest marks a request that breaks the
// document on purpose (only its answer is checked then).
func (c *nativeClient) do(method, path, body string, badRequest bool, headers ...string) nativeAnswer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.send(req, []byte(body), badRequest)
}

// send sends req (whose body is body) and checks it and its answer.
func (c *nativeClient) send(req *http.Request, body []byte, badRequest bool) nativeAnswer {
	c.t.Helper()
	doc, err := openAPIDoc()
	if err != nil {
		c.t.Fatalf("OpenAPI document: %v", err)
	}
	route, params := nativeRoute(doc, req.Method, req.URL.Path)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	var in *openapi3filter.RequestValidationInput
	if route != nil {
		check := req.Clone(req.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))
		in = &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil && !badRequest {
			c.t.Errorf("%s %s: the request does not match the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	a := nativeAnswer{Status: res.StatusCode, Header: res.Header, Body: raw}
	if res.StatusCode >= 500 && res.StatusCode != 503 {
		c.t.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, raw)
	}
	if route != nil {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts}
		out.SetBodyBytes(raw)
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			c.t.Errorf("%s %s: the answer %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, raw)
		}
	} else if res.StatusCode < 400 {
		c.t.Errorf("%s %s: %d from a path the OpenAPI document does not have", req.Method, req.URL.Path, res.StatusCode)
	}
	if res.StatusCode >= 400 {
		a.Problem(c.t)
	}
	return a
}

// want sends a valid request and fails the test unless it gets status;
// it decodes the answer into v when v is not nil.
func (c *nativeClient) want(status int, method, path, body string, v any) nativeAnswer {
	c.t.Helper()
	a := c.do(method, path, body, false)
	if a.Status != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, a.Status, a.Body, status)
	}
	if v != nil {
		a.JSON(c.t, v)
	}
	return a
}

// nativeKeyPair is a key pair answer of keyhaven's own API.
type nativeKeyPair struct {
	ID                int64             `json:"id"`
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	Scope             string            `json:"scope"`
	UserID            string            `json:"user_id"`
	PublicKey         string            `json:"public_key"`
	FingerprintSHA256 string            `json:"fingerprint_sha256"`
	FingerprintMD5    string            `json:"fingerprint_md5"`
	Description       string            `json:"description"`
	Tags              map[string]string `json:"tags"`
	ExpiresAt         *string           `json:"expires_at"`
	Escrow            *struct {
		KMSKey string `json:"kms_key"`
	} `json:"escrow"`
	Previous *struct {
		PublicKey         string `json:"public_key"`
		FingerprintSHA256 string `json:"fingerprint_sha256"`
		FingerprintMD5    string `json:"fingerprint_md5"`
	} `json:"previous"`
	Warnings   []string `json:"warnings"`
	PrivateKey string   `json:"private_key"`
}

// nativeList is a page of key pairs.
type nativeList struct {
	KeyPairs   []nativeKeyPair `json:"keypairs"`
	NextCursor *string         `json:"next_cursor"`
}

// names lists the names of a page.
func (l nativeList) names() []string {
	var out []string
	for _, kp := range l.KeyPairs {
		out = append(out, kp.Name)
	}
	return out
}
