package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address ip (any of 127.0.0.0/8 reaches the server), without
// keep-alive, so that each request is one connection.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// passwordLogin posts a password login for user in the Default domain and
// returns the status, the Retry-After header and the body.
func passwordLogin(t testing.TB, c *http.Client, base, user, pw string) (int, string, string) {
	t.Helper()
	body := fmt.Sprintf(`{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": %q, "domain": {"id": "default"}, "password": %q}}},
		"scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}`, user, pw)
	res, err := c.Post(base+"/identity/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}

// TestLoginFailuresLimited: an address that spends its failed logins is
// answered 429 in Keystone's format with Retry-After, before its password
// is checked; an unknown user gets the very answer a wrong password gets;
// the admin logging in from another address still gets through.
func TestLoginFailuresLimited(t *testing.T) {
	srv := startIdentityServer(t, "--login-failures-per-minute", "3", "--login-user-failures-per-minute", "100")
	attacker := clientFrom("127.0.0.2")
	var bodies []string
	for _, user := range []string{"admin", "no-such-user", "admin"} {
		status, _, body := passwordLogin(t, attacker, srv.URL, user, "guess")
		if status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", user, status, body)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("a wrong password and an unknown user answer differently:\n%s\n%s", bodies[0], bodies[1])
	}
	status, retry, body := passwordLogin(t, attacker, srv.URL, "admin", bootstrapPassword)
	if status != http.StatusTooManyRequests {
		t.Fatalf("fourth login from the address: %d %s", status, body)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After %q", retry)
	}
	var e struct {
		Error struct {
			Code           int
			Title, Message string
		}
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != 429 || e.Error.Title != "Too Many Requests" || e.Error.Message == "" {
		t.Fatalf("429 body: %s", body)
	}
	if status, _, body := passwordLogin(t, clientFrom("127.0.0.1"), srv.URL, "admin", bootstrapPassword); status != http.StatusCreated {
		t.Fatalf("admin from another address: %d %s", status, body)
	}
}

// slowLogin opens a connection and starts a login whose body never
// finishes, as a slow-body attacker does.
func slowLogin(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, _ = io.WriteString(c, "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: keyhaven\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"auth\":")
	return c
}

// TestSlowConnectionsKeepHealth fills the connection cap with slow-body
// logins and sends more past it: /healthz still answers 200 from the
// reserve, another request is refused with 503 in its dialect's format,
// the slow connections are cut at the read timeout, and then requests are
// served again.
func TestSlowConnectionsKeepHealth(t *testing.T) {
	const maxConns = 64
	srv := startIdentityServer(t, "--max-connections", strconv.Itoa(maxConns), "--read-timeout", "12s")
	addr := strings.TrimPrefix(srv.URL, "http://")
	var held []net.Conn
	for range maxConns + 50 {
		held = append(held, slowLogin(t, addr))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := clientFrom("127.0.0.1")
	client.Timeout = 5 * time.Second
	// get retries until the server answers: while the reserve is full it
	// closes new connections at once.
	get := func(path string) (*http.Response, string) {
		for {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
			res, err := client.Do(req)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return res, string(b)
			}
			if ctx.Err() != nil {
				t.Fatalf("GET %s: no answer: %v", path, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if res, body := get("/healthz"); res.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz at the cap: %d %q", res.StatusCode, body)
	}
	res, body := get("/v2.1")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, `"serviceUnavailable"`) {
		t.Fatalf("request at the cap: %d %v %s", res.StatusCode, res.Header, body)
	}
	// The proof holds only if the cap was still full: the first slow
	// connections are still open.
	for i, c := range held[:maxConns] {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
			t.Fatalf("slow connection %d was closed before the checks ran: %v", i, err)
		}
	}
	// At the read timeout the server cuts them (408 or a bare close).
	for i, c := range held[:maxConns] {
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
	}
	if res, body := get("/v2.1"); res.StatusCode != 200 {
		t.Fatalf("after the slow connections: %d %s", res.StatusCode, body)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestHealthListenerApart: with --health-listen, /healthz answers on its
// own address at once even while slow clients hold every connection of
// the API's, its reserve included.
func TestHealthListenerApart(t *testing.T) {
	const maxConns = 8
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthAddr := free.Addr().String()
	free.Close()
	srv := startIdentityServer(t, "--max-connections", strconv.Itoa(maxConns), "--read-timeout", "30s", "--health-listen", healthAddr)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for range maxConns + 40 {
		slowLogin(t, addr)
	}
	res, err := clientFrom("127.0.0.1").Get("http://" + healthAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz apart: %d %q", res.StatusCode, b)
	}
	if res, err := clientFrom("127.0.0.1").Get("http://" + healthAddr + "/v2.1"); err != nil || res.StatusCode != 404 {
		t.Fatalf("the health listener serves more than /healthz: %v %v", res, err)
	}
}
