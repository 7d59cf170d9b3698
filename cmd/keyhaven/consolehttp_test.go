package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/web"
)

// wantConsoleHeaders fails t unless h has every security header of the
// console.
func wantConsoleHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k := range web.SecurityHeaders() {
		if got, want := h.Get(k), web.SecurityHeaders().Get(k); got != want {
			t.Errorf("%s: %s is %q, want %q", what, k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline code", what, csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: headers %v", what, h)
	}
	if h.Get("Set-Cookie") != "" {
		t.Errorf("%s sets a cookie", what)
	}
}

// TestConsoleOverHTTP checks, with plain HTTP against a real keyhaven,
// that the console is served at /console/, that every file the index
// links and every module they import is served with its type, that every
// answer (files, 404s, 405s, the redirect) has the security headers, and
// that nothing outside the embedded files is reachable from /console/.
func TestConsoleOverHTTP(t *testing.T) {
	srv := startServer(t, "")
	resp, index := srv.do(t, "GET", "/console/", nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("index: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	wantConsoleHeaders(t, "/console/", resp.Header)

	// Every linked file and every imported module, transitively.
	link := regexp.MustCompile(`(?:src|href)="([a-z][a-z0-9/._-]*\.(?:js|css|svg))"`)
	imp := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	seen := map[string]bool{}
	var queue []string
	for _, m := range link.FindAllStringSubmatch(string(index), -1) {
		queue = append(queue, m[1])
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, body := srv.do(t, "GET", "/console/"+p, nil, "")
		ext := p[strings.LastIndex(p, "."):]
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != types[ext] {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		wantConsoleHeaders(t, p, resp.Header)
		if ext == ".js" {
			dir := p[:strings.LastIndex(p, "/")+1]
			for _, m := range imp.FindAllStringSubmatch(string(body), -1) {
				queue = append(queue, dir+m[1])
			}
		}
	}
	if !seen["js/app.js"] || !seen["js/api.js"] || !seen["app.css"] || len(seen) < 8 {
		t.Fatalf("files reached from the index: %v", seen)
	}

	cases := []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/console/", 200},
		{"GET", "/console/js/", 404},
		{"GET", "/console/js", 404},
		{"GET", "/console/static/index.html", 404},
		{"GET", "/console/../go.mod", 404},
		{"GET", "/console/js/../../../../etc/passwd", 404},
		{"GET", "/console/%2e%2e/%2e%2e/go.mod", 404},
		{"GET", "/console/..%2f..%2fgo.mod", 404},
		{"GET", "/console//etc/passwd", 404},
		{"GET", "/console/./index.html", 404},
		{"GET", "/console/web/console.go", 404},
		{"GET", "/console/console.go", 404},
		{"GET", "/console/index.html%00.js", 404},
		{"POST", "/console/", 405},
		{"PUT", "/console/js/app.js", 405},
	}
	for _, c := range cases {
		resp, body := srv.do(t, c.method, c.path, nil, "")
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d (%.80s)", c.method, c.path, resp.StatusCode, c.status, body)
			continue
		}
		wantConsoleHeaders(t, c.method+" "+c.path, resp.Header)
		if c.status == 404 && (strings.Contains(string(body), "<a href") || strings.Contains(string(body), "module")) {
			t.Errorf("%s: a 404 with a listing or a file: %.200s", c.path, body)
		}
	}
	// /console is redirected to /console/, and the redirect has the
	// headers too.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("/console: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantConsoleHeaders(t, "the redirect", resp.Header)
}

// TestConsoleOff checks that --console=false serves no console: /console/
// is a 404 like any path no dialect serves.
func TestConsoleOff(t *testing.T) {
	srv := startServer(t, "", "--console=false")
	for _, p := range []string{"/console/", "/console/js/app.js"} {
		resp, _ := srv.do(t, "GET", p, nil, "")
		if resp.StatusCode != 404 || resp.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("%s with the console off: %d %v", p, resp.StatusCode, resp.Header)
		}
	}
}
