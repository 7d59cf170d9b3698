package loadgen

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// echoed is what the test server saw of a request.
type echoed struct {
	Method, URI, Host, Token, Version, ContentType, Body string
	ContentLength                                        int64
}

// newEchoServer starts a real net/http server that answers every request
// with what it saw of it, and counts the connections it accepted. Paths
// ending in /big answer a body over net/http's buffer, which it sends
// chunked; /close answers with Connection: close; /login sets
// X-Subject-Token like Keystone.
func newEchoServer(t *testing.T, tlsServer bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e := echoed{Method: r.Method, URI: r.RequestURI, Host: r.Host, Token: r.Header.Get("X-Auth-Token"),
			Version: r.Header.Get("OpenStack-API-Version"), ContentType: r.Header.Get("Content-Type"),
			Body: string(b), ContentLength: r.ContentLength}
		switch {
		case strings.HasSuffix(r.URL.Path, "/big"):
			_ = json.NewEncoder(w).Encode(map[string]any{"echo": e, "pad": strings.Repeat("p", 100<<10)})
			return
		case strings.HasSuffix(r.URL.Path, "/close"):
			w.Header().Set("Connection", "close")
		case strings.HasSuffix(r.URL.Path, "/login"):
			w.Header().Set("X-Subject-Token", "tok-"+r.Method)
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"echo": e})
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

func decodeEcho(t *testing.T, res response) echoed {
	t.Helper()
	var v struct{ Echo echoed }
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("answer %d %q: %v", res.status, trim(res.body), err)
	}
	return v.Echo
}

// TestConnRequests sends calls over one kept-alive connection to a real
// net/http server and checks what the server saw and what came back.
func TestConnRequests(t *testing.T) {
	srv, conns := newEchoServer(t, false)
	s, err := newSession(srv.URL + "/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	s.token = "tok"
	host := strings.TrimPrefix(srv.URL, "http://")
	body := `{"keypair": {"name": "k"}}`
	cases := []struct {
		name string
		c    call
		want echoed
	}{
		{"get with microversion and query", call{method: "GET", path: "/v2.1/os-keypairs", mv: "2.35", query: url.Values{"limit": {"50"}}},
			echoed{Method: "GET", URI: "/prefix/v2.1/os-keypairs?limit=50", Host: host, Token: "tok", Version: "compute 2.35"}},
		{"post with body", call{method: "POST", path: "/v2.1/os-keypairs", mv: "2.2", body: body},
			echoed{Method: "POST", URI: "/prefix/v2.1/os-keypairs", Host: host, Token: "tok", Version: "compute 2.2",
				ContentType: "application/json", Body: body, ContentLength: int64(len(body))}},
		{"delete", call{method: "DELETE", path: "/v2.1/os-keypairs/k", mv: "2.2"},
			echoed{Method: "DELETE", URI: "/prefix/v2.1/os-keypairs/k", Host: host, Token: "tok", Version: "compute 2.2"}},
		{"chunked answer", call{method: "GET", path: "/big"},
			echoed{Method: "GET", URI: "/prefix/big", Host: host, Token: "tok"}},
		{"no credentials", call{method: "POST", path: "/login", body: body, noAuth: true},
			echoed{Method: "POST", URI: "/prefix/login", Host: host, ContentType: "application/json", Body: body, ContentLength: int64(len(body))}},
	}
	cn := s.get()
	defer s.put(cn)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.send(context.Background(), cn, c.c)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeEcho(t, res); got != c.want {
				t.Fatalf("server saw %+v, want %+v", got, c.want)
			}
		})
	}
	if res, err := s.send(context.Background(), cn, call{method: "POST", path: "/login", noAuth: true, body: "{}"}); err != nil ||
		res.status != http.StatusCreated || res.subjectToken != "tok-POST" {
		t.Fatalf("login: %d token %q, %v", res.status, res.subjectToken, err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for %d requests, want 1 kept alive", n, len(cases)+1)
	}
}

// TestConnReconnects: after an answer with Connection: close, and after
// the server closes idle connections, the next request goes out on a new
// connection and succeeds.
func TestConnReconnects(t *testing.T) {
	srv, conns := newEchoServer(t, false)
	s, err := newSession(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cn := s.get()
	defer s.put(cn)
	steps := []struct {
		name      string
		path      string
		before    func()
		wantConns int64
	}{
		{"first", "/a", nil, 1},
		{"kept alive", "/a", nil, 1},
		{"answer closes", "/close", nil, 1},
		{"after close", "/a", nil, 2},
		{"server closed idle connection", "/a", srv.CloseClientConnections, 3},
		{"kept alive again", "/a", nil, 3},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		res, err := s.send(context.Background(), cn, call{method: "POST", path: st.path, body: `{"a": 1}`})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if e := decodeEcho(t, res); e.Body != `{"a": 1}` {
			t.Fatalf("%s: server saw body %q", st.name, e.Body)
		}
		if n := conns.Load(); n != st.wantConns {
			t.Fatalf("%s: %d connections, want %d", st.name, n, st.wantConns)
		}
	}
}

// TestConnTLS sends requests to an https target.
func TestConnTLS(t *testing.T) {
	srv, _ := newEchoServer(t, true)
	s, err := newSession(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s.ep.tls.RootCAs = pool
	s.ep.tls.ServerName = "example.com" // the name in httptest's certificate
	for range 2 {
		res, err := s.do(context.Background(), call{method: "GET", path: "/big"})
		if err != nil {
			t.Fatal(err)
		}
		if e := decodeEcho(t, res); e.URI != "/big" {
			t.Fatalf("server saw %+v", e)
		}
	}
	s.close()
}

// TestConnCancel: a setup call waiting on a server that does not answer
// returns the context's error once the context is cancelled.
func TestConnCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s, err := newSession(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.do(ctx, call{method: "GET", path: "/"}); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestConnRefusesMalformed: an answer the reader refuses is an error, and
// the request is not sent again (the server may have acted on it).
func TestConnRefusesMalformed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var requests atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					requests.Add(1)
					_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"))
				}
			}()
		}
	}()
	s, err := newSession("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.do(context.Background(), call{method: "GET", path: "/"})
	if !errors.Is(err, errMalformed) {
		t.Fatalf("got %v, want a malformed response", err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("request sent %d times, want 1", n)
	}
}
