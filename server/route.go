package server

import (
	"net/http"
	"strings"
)

// router sends each request to its dialect by the first segment of its
// path, exactly as sent. It replaces http.ServeMux on purpose: ServeMux
// answers a path holding "//", "." or ".." segments with a redirect to the
// cleaned path, so a key pair named ".." could be created but not shown
// or deleted, and a redirect would be an answer in no API's format. Every
// path is answered by the dialect that owns its prefix, which says 404 in
// its own format for what it does not serve.
type router struct {
	health   http.Handler
	nova     http.Handler
	identity http.Handler
	kps      http.Handler
	metrics  http.Handler
	debug    http.Handler
	native   http.Handler
	console  http.Handler
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/healthz":
		rt.health.ServeHTTP(w, r)
	case rt.metrics != nil && p == "/metrics":
		rt.metrics.ServeHTTP(w, r)
	case rt.debug != nil && strings.HasPrefix(p, "/debug/pprof/"):
		rt.debug.ServeHTTP(w, r)
	case rt.identity != nil && (p == "/identity" || strings.HasPrefix(p, "/identity/")):
		rt.identity.ServeHTTP(w, r)
	case rt.kps != nil && (p == "/v3" || strings.HasPrefix(p, "/v3/")):
		rt.kps.ServeHTTP(w, r)
	case rt.native != nil && (p == "/keyhaven" || strings.HasPrefix(p, "/keyhaven/")):
		rt.native.ServeHTTP(w, r)
	case rt.console != nil && (p == "/console" || strings.HasPrefix(p, "/console/")):
		rt.console.ServeHTTP(w, r)
	default:
		rt.nova.ServeHTTP(w, r)
	}
}

// healthHandler answers GET and HEAD /healthz: "ok", or 503 while health
// fails.
func healthHandler(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed\n", http.StatusMethodNotAllowed)
			return
		}
		if cfg.Health != nil {
			if err := cfg.Health(r.Context()); err != nil {
				cfg.Log.ErrorContext(r.Context(), "health check failed", "error", err)
				http.Error(w, "unhealthy\n", http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
}
