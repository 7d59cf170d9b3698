package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/policy"
)

// httpError is an error this dialect raises with Keystone's status and
// message.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

var titles = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	409: "Conflict",
	413: "Request Entity Too Large",
	415: "Unsupported Media Type",
	429: "Too Many Requests",
	503: "Service Unavailable",
	500: "Internal Server Error",
}

// statusOf maps an error to Keystone's status and message; it is the one
// place this dialect turns errors into HTTP.
func statusOf(err error) (int, string) {
	var he *httpError
	var denied *policy.Denied
	var invalid *identity.InvalidError
	var limited *loginguard.Limited
	switch {
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, limited.Message
	case errors.As(err, &he):
		return he.status, he.message
	case errors.As(err, &invalid):
		return http.StatusBadRequest, fmt.Sprintf("Invalid input for field '%s': %s", invalid.Field, invalid.Reason)
	case errors.Is(err, identity.ErrUnauthenticated):
		if r := identity.Reason(err); r != "" {
			return http.StatusUnauthorized, r
		}
		return http.StatusUnauthorized, "The request you have made requires authentication."
	case errors.As(err, &denied):
		return http.StatusForbidden, fmt.Sprintf("You are not authorized to perform the requested action: %s.", denied.Action)
	case errors.Is(err, builtin.ErrTokenNotFound):
		return http.StatusNotFound, "Could not find token."
	case errors.Is(err, identity.ErrNotFound):
		return http.StatusNotFound, "Could not find the requested resource."
	case errors.Is(err, identity.ErrConflict):
		return http.StatusConflict, "Conflict occurred attempting to store the resource: it already exists."
	}
	return http.StatusInternalServerError, "An unexpected error prevented the server from fulfilling your request."
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if h.health != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
			down := h.health(ctx) != nil
			cancel()
			if down {
				status, msg = http.StatusServiceUnavailable, "The service cannot reach its database at the moment. Retry later."
			}
		}
	}
	if lim := (*loginguard.Limited)(nil); errors.As(err, &lim) {
		w.Header().Set("Retry-After", strconv.Itoa(lim.RetryAfterSeconds()))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", h.baseURL(r)+"/identity"))
	}
	title := titles[status]
	if title == "" {
		title = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // only this package's own view types reach here
	}
	w.Header().Set("Content-Type", "application/json")
	// A Content-Length, as the real services send, rather than chunks.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
