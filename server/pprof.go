package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"

	"github.com/keyhaven/keyhaven/identity"
)

// Pprof returns Go's profiling endpoints under /debug/pprof/, for
// wrapping in AdminOnly. They are served from a mux of their own, never
// from http.DefaultServeMux.
func Pprof() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// AdminOnly serves next to callers that auth authenticates as holding the
// admin role: a profile shows the process's memory and timing, so it is
// the administrators', like the identity service's admin calls. Others get
// 401 (no valid credential) or 403, in Keystone's error format, the
// identity service's, since this endpoint belongs to no key pair dialect.
func AdminOnly(auth identity.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.Authenticate(r.Context(), r)
		switch {
		case errors.Is(err, identity.ErrUnauthenticated):
			keystoneError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
		case err != nil:
			keystoneError(w, http.StatusServiceUnavailable, "Service Unavailable", "Credentials could not be checked now.")
		case !p.IsAdmin():
			keystoneError(w, http.StatusForbidden, "Forbidden", "Profiling is for administrators.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func keystoneError(w http.ResponseWriter, code int, title, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "title": title, "message": msg}})
}
