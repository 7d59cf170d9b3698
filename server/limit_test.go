package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/api/kps"
)

// TestReserveAnswers fills a one-connection cap and checks what the
// reserve answers past it: /healthz as usual, anything else 503 in the
// format of the dialect its path belongs to, each connection closed after.
func TestReserveAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, unblock := make(chan struct{}, 1), make(chan struct{})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2.1/block" {
			entered <- struct{}{}
			<-unblock
		}
		_, _ = io.WriteString(w, "served")
	})
	s := New(Config{Nova: ok, KPS: ok, Identity: ok, MaxConnections: 1, HealthReserve: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	// An idle kept-alive connection gives its slot up to a new one. The
	// server marks the first connection idle just after it has written
	// the answer, so the client may be back before that: a 503 from the
	// reserve then is that instant, and the request is tried again
	// (bounded) until the connection is idle.
	idler := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	for i, c := range []*http.Client{idler, client} {
		for try := 0; ; try++ {
			res, err := c.Get(base + "/v2.1")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) == "served" {
				break
			}
			if i == 0 || res.StatusCode != http.StatusServiceUnavailable || try == 50 {
				t.Fatalf("with an idle connection at the cap: %d %q", res.StatusCode, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// A request that takes its time holds the only slot.
	blocked := make(chan error, 1)
	go func() {
		res, err := client.Get(base + "/v2.1/block")
		if err == nil {
			res.Body.Close()
		}
		blocked <- err
	}()
	<-entered
	for _, c := range []struct{ path, status, body string }{
		{"/healthz", "200", "ok\n"},
		{"/v2.1/os-keypairs", "503", `{"serviceUnavailable":{"code":503,"message":"The server is at its connection limit. Retry later."}}`},
		{"/v3/p/keypairs", "503", `{"error_code":"` + kps.ErrOverloaded.Code + `","error_msg":"The server is at its connection limit. Retry later."}`},
		{"/identity/v3/auth/tokens", "503", `{"error":{"code":503,"message":"The server is at its connection limit. Retry later.","title":"Service Unavailable"}}`},
	} {
		res, err := client.Get(base + c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := res.Status[:3]; got != c.status || string(b) != c.body || !res.Close {
			t.Errorf("%s: %s %q (close %v), want %s %q", c.path, res.Status, b, res.Close, c.status, c.body)
		}
		wantRequestID(t, c.path, res.Header)
		if c.status == "503" && res.Header.Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q", c.path, res.Header.Get("Retry-After"))
		}
	}
	// Once the slot is free, requests are served again.
	close(unblock)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for {
		res, err := client.Get(base + "/v2.1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) == "served" {
			break
		}
		if !strings.Contains(string(b), "connection limit") {
			t.Fatalf("after the slot was freed: %d %q", res.StatusCode, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantRequestID checks that an answer carries one request id, the same in
// X-Request-Id (Huawei's clients) and in Nova's two headers (whose lower
// case a client's parser may have canonicalised).
func wantRequestID(t *testing.T, what string, h http.Header) {
	t.Helper()
	byName := map[string][]string{}
	for k, vs := range h {
		byName[strings.ToLower(k)] = append(byName[strings.ToLower(k)], vs...)
	}
	id := byName["x-request-id"]
	if len(id) != 1 || !strings.HasPrefix(id[0], "req-") ||
		len(byName["x-openstack-request-id"]) != 1 || byName["x-openstack-request-id"][0] != id[0] ||
		len(byName["x-compute-request-id"]) != 1 || byName["x-compute-request-id"][0] != id[0] {
		t.Errorf("%s: request id headers %v", what, h)
	}
}

// TestHealthListenerRequestID checks that the separate health listener's
// answers carry the request id headers too.
func TestHealthListenerRequestID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeHealth(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/healthz", "/elsewhere"} {
		res, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		wantRequestID(t, path, res.Header)
	}
}
