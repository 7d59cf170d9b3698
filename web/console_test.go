package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsoleAnswers checks every kind of answer the console gives: its
// files with their types, 404 for anything else under it (directories,
// escapes, files it does not embed), 405 for other methods, the redirect
// to the index, each with the security headers.
func TestConsoleAnswers(t *testing.T) {
	h := New()
	cases := []struct {
		method, target string
		status         int
		contentType    string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/console/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/index.html", 200, "text/html; charset=utf-8"},
		{"GET", "/console/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "/console/js/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/favicon.svg", 200, "image/svg+xml"},
		{"GET", "/console", 301, ""},
		{"GET", "/console/js", 404, ""},
		{"GET", "/console/js/", 404, ""},
		{"GET", "/console/static/index.html", 404, ""},
		{"GET", "/console/../web/console.go", 404, ""},
		{"GET", "/console/js/../../console.go", 404, ""},
		{"GET", "/console/./index.html", 404, ""},
		{"GET", "/console//index.html", 404, ""},
		{"GET", "/console/%2e%2e/go.mod", 404, ""},
		{"GET", "/console/index.html/", 404, ""},
		{"GET", "/console/nope.html", 404, ""},
		{"GET", "/consolex", 404, ""},
		{"POST", "/console/", 405, ""},
		{"DELETE", "/console/js/app.js", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			// The path as sent, uncleaned, as the server's router passes it on.
			req := httptest.NewRequest(c.method, c.target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d", res.StatusCode, c.status)
			}
			wantSecurityHeaders(t, res.Header)
			if c.contentType != "" && res.Header.Get("Content-Type") != c.contentType {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), c.contentType)
			}
			if c.status == 301 && res.Header.Get("Location") != Prefix {
				t.Errorf("Location %q", res.Header.Get("Location"))
			}
			if c.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", res.Header.Get("Allow"))
			}
		})
	}
}

// wantSecurityHeaders fails t unless h has every security header.
func wantSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, v := range SecurityHeaders() {
		if got := h.Get(k); got != v[0] {
			t.Errorf("%s: %q, want %q", k, got, v[0])
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", h.Get("Content-Security-Policy"))
	}
}

// TestConsoleRevalidates checks that a browser's cached copy is
// revalidated by ETag: 304 when unchanged.
func TestConsoleRevalidates(t *testing.T) {
	h := New()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/console/js/api.js", nil))
	etag := rec.Result().Header.Get("ETag")
	if etag == "" || rec.Result().Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers: %v", rec.Result().Header)
	}
	req := httptest.NewRequest("GET", "/console/js/api.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", rec.Code)
	}
	wantSecurityHeaders(t, rec.Result().Header)
}

// TestConsoleHasNoInlineCode checks the served HTML needs nothing the
// Content-Security-Policy forbids: no inline script, no style attributes,
// no event handler attributes.
func TestConsoleHasNoInlineCode(t *testing.T) {
	h := New()
	for name, f := range h.files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		s := strings.ToLower(string(f.body))
		for _, bad := range []string{"<script>", "style=", " onclick", " onload", " onsubmit", " onchange", "javascript:", "<style"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s holds %q", name, bad)
			}
		}
		if strings.Count(s, "<script") != strings.Count(s, `<script type="module" src=`) {
			t.Errorf("%s has a script that is not an external module", name)
		}
	}
}
