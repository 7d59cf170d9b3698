package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/keyhaven/keyhaven/internal/pgtest"
)

// testServer is the real keyhaven (the same serve() as the binary, real
// SQLite file, real TCP listener on loopback) started for one test.
type testServer struct {
	URL string
	cfg Config
}

// startServer writes tokens to a tokens file, starts keyhaven on a free
// loopback port with the given extra flags, and stops it when the test ends.
func startServer(t testing.TB, tokens string, flags ...string) *testServer {
	t.Helper()
	return startServerLog(t, io.Discard, tokens, flags...)
}

// startServerLog is startServer with the server's log written to logw.
func startServerLog(t testing.TB, logw io.Writer, tokens string, flags ...string) *testServer {
	t.Helper()
	dir := t.TempDir()
	tokPath := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokPath, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	var flushNow []string
	if logw != io.Discard {
		// A test reading the log sees each line as it is logged; the
		// others run with the buffered log of production.
		flushNow = []string{"--log-flush-interval", "0s"}
	}
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--tokens-file", tokPath, "--log-level", "info",
		// No key pool unless a test asks for one: each would spend seconds
		// of CPU filling it on a machine the tests share.
		"--keygen-pool", "0"}, append(flushNow, flags...)...)
	cfg, err := loadConfig("test", args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logw, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return &testServer{URL: "http://" + addr, cfg: cfg}
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	return nil
}

// do sends one request and returns the response with its body read; a
// "Host" entry in headers is sent as the request's Host.
func (s *testServer) do(t testing.TB, method, path string, headers map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h // Go sends req.Host, not a Host header
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// signedRequest builds a request to the server signed by the real Huawei
// Cloud SDK signer with an access key and secret, as the SDK sends it.
func (s *testServer) signedRequest(t testing.TB, ak, sk, method, path, body string, headers map[string]string) *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(s.URL).WithMethod(method).WithPath(path).
		AddHeaderParam("Content-Type", "application/json")
	for k, v := range headers {
		b = b.AddHeaderParam(k, v)
	}
	if body != "" {
		b = b.WithBody("", body)
	}
	r := b.Build()
	hdrs, err := signer.Sign(r, ak, sk)
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
	return hr
}

// send sends a request and returns its status and body.
func send(t testing.TB, r *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(out)
}

// postgresURL returns a postgres:// URL of a new, empty database on the
// test PostgreSQL server (internal/pgtest).
func postgresURL(t testing.TB) string {
	t.Helper()
	kv := map[string]string{}
	for _, f := range strings.Fields(pgtest.NewDatabase(t)) {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	q := url.Values{"host": {kv["host"]}, "sslmode": {"disable"}}
	return "postgres://" + url.PathEscape(kv["user"]) + "@/" + url.PathEscape(kv["dbname"]) + "?" + q.Encode()
}
