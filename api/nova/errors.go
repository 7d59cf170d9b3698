package nova

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
)

// httpError is an error the dialect itself raises (schema, routing, body
// size), already carrying Nova's status and message.
type httpError struct {
	status  int
	message string
	allow   string
}

func (e *httpError) Error() string { return e.message }

func badRequest(msg string) error { return &httpError{status: http.StatusBadRequest, message: msg} }

// faultNames are the body keys of Nova's wsgi.Fault, by status.
var faultNames = map[int]string{
	400: "badRequest",
	401: "unauthorized",
	403: "forbidden",
	404: "itemNotFound",
	405: "badMethod",
	409: "conflictingRequest",
	413: "overLimit",
	415: "badMediaType",
	429: "overLimit",
	501: "notImplemented",
	503: "serviceUnavailable",
}

// internalMessage is what users see of an unexpected failure; the cause is
// logged for the operator only.
const internalMessage = "Unexpected API Error. Please report this to the operator of this service and attach its log if possible."

// unavailableMessage answers requests while the database cannot be reached.
const unavailableMessage = "The service cannot reach its database at the moment. Retry later."

// databaseDown asks health, briefly, whether the database is unreachable.
func databaseDown(ctx context.Context, health func(context.Context) error) bool {
	if health == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return health(ctx) != nil
}

// unauthenticatedMessage is keystonemiddleware's 401 message.
const unauthenticatedMessage = "The request you have made requires authentication."

// statusOf maps an error to Nova's status and message. It is the only place
// that turns domain errors into HTTP.
func statusOf(err error) (int, string) {
	var he *httpError
	var ve *versionError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.message
	case errors.As(err, &ve):
		return ve.status, ve.message
	case errors.As(err, &mbe):
		// Authentication reads an AK/SK-signed body to hash it, so the
		// body limit can surface there, before the handler reads it.
		return http.StatusRequestEntityTooLarge, "Request is too large."
	case errors.Is(err, identity.ErrUnauthenticated):
		if reason := identity.Reason(err); reason != "" {
			return http.StatusUnauthorized, reason
		}
		return http.StatusUnauthorized, unauthenticatedMessage
	}
	switch keypair.ErrorCode(err) {
	case keypair.EINVALID:
		return http.StatusBadRequest, keypair.ErrorMessage(err)
	case keypair.ENOTFOUND:
		return http.StatusNotFound, keypair.ErrorMessage(err)
	case keypair.ECONFLICT:
		return http.StatusConflict, keypair.ErrorMessage(err)
	case keypair.EQUOTA:
		return http.StatusForbidden, keypair.ErrorMessage(err)
	case keypair.EFORBIDDEN:
		return http.StatusForbidden, fmt.Sprintf("Policy doesn't allow os_compute_api:os-keypairs:%s to be performed.", keypair.ErrorAction(err))
	case keypair.EBUSY:
		return http.StatusServiceUnavailable, keypair.ErrorMessage(err)
	}
	return http.StatusInternalServerError, internalMessage
}

// writeError answers err in Nova's fault format. A 401 takes Keystone's
// shape instead, because keystonemiddleware answers it before Nova runs.
// In ModeHuawei every error takes KPS's format instead (writeHuaweiError).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if h.mode == ModeHuawei {
		h.writeHuaweiError(w, r, err)
		return
	}
	status, msg := statusOf(err)
	if status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if databaseDown(r.Context(), h.health) {
			status, msg = http.StatusServiceUnavailable, unavailableMessage
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", h.authURI(r)))
		writeJSON(w, status, "application/json", map[string]any{"error": map[string]any{
			"code": status, "title": "Unauthorized", "message": msg,
		}})
		return
	}
	var he *httpError
	if errors.As(err, &he) && he.allow != "" {
		w.Header().Set("Allow", he.allow)
	}
	if d := keypair.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(d))
	}
	name, ok := faultNames[status]
	if !ok {
		name = "computeFault"
	}
	writeJSON(w, status, "application/json; charset=UTF-8", map[string]any{name: map[string]any{"code": status, "message": msg}})
}

// writeJSON writes v with the given status and Content-Type.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own view types reach here; they always marshal.
		panic(err)
	}
	writeBody(w, status, contentType, body)
}

// writeBody writes body with the given status and Content-Type, and a
// Content-Length, as the real services send, rather than chunks.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// retryAfterSeconds formats d as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(max((d+time.Second-1)/time.Second, 1)), 10)
}
