package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("secret panic detail")
		case "/body":
			b, err := io.ReadAll(r.Body)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			_, _ = w.Write(b)
		default:
			_, _ = io.WriteString(w, RequestID(r.Context()))
		}
	})
	s := New(Config{Nova: inner, Log: slog.New(slog.NewJSONHandler(&logs, nil)), MaxBodyBytes: 10})
	h := s.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	id := rec.Header()["x-openstack-request-id"]
	if len(id) != 1 || rec.Body.String() != id[0] || rec.Header()["x-compute-request-id"][0] != id[0] || !strings.HasPrefix(id[0], "req-") {
		t.Fatalf("request id: headers %v body %q", rec.Header(), rec.Body.String())
	}
	wantRequestID(t, "GET /x", rec.Header())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/body", strings.NewReader("0123456789A")))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("over-limit body: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/body", strings.NewReader("0123456789")))
	if rec.Code != 200 || rec.Body.String() != "0123456789" {
		t.Fatalf("body at limit: %d %q", rec.Code, rec.Body.String())
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("panic: %d %q", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), `"status":500`) || !strings.Contains(logs.String(), `"msg":"panic"`) {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestHealth(t *testing.T) {
	bad := New(Config{Nova: http.NotFoundHandler(), Health: func(context.Context) error { return errors.New("db down") }})
	rec := httptest.NewRecorder()
	bad.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 || strings.Contains(rec.Body.String(), "db down") {
		t.Fatalf("unhealthy: %d %q", rec.Code, rec.Body.String())
	}
	good := New(Config{Nova: http.NotFoundHandler()})
	rec = httptest.NewRecorder()
	good.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthy: %d", rec.Code)
	}
}

// TestRouterNoRedirect checks that paths ServeMux would clean and redirect
// reach the dialect owning their prefix unchanged.
func TestRouterNoRedirect(t *testing.T) {
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, name+" "+r.URL.Path) })
	}
	h := New(Config{Nova: tag("nova"), Identity: tag("identity"), KPS: tag("kps")}).Handler()
	for _, tt := range []struct{ method, path, want string }{
		{"DELETE", "/v2.1/os-keypairs/..", "nova /v2.1/os-keypairs/.."},
		{"GET", "//v2.1/./os-keypairs", "nova //v2.1/./os-keypairs"},
		{"GET", "/identity", "identity /identity"},
		{"GET", "/identity/v3/../x", "identity /identity/v3/../x"},
		{"GET", "/identityx", "nova /identityx"},
		{"GET", "/v3", "kps /v3"},
		{"GET", "/v3/p/keypairs/..", "kps /v3/p/keypairs/.."},
		{"GET", "/v3x", "nova /v3x"},
		{"GET", "/healthz/..", "nova /healthz/.."},
		{"HEAD", "/healthz", "ok\n"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != 200 || rec.Body.String() != tt.want {
			t.Errorf("%s %s: %d %q, want %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/healthz", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: %d %v", rec.Code, rec.Header())
	}
}
