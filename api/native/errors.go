package native

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

// ProblemType prefixes the type URI of every problem this API answers; the
// rest is the problem's code.
const ProblemType = "urn:keyhaven:problem:"

// Problem is an RFC 9457 problem details body, with keyhaven's stable
// machine code beside the standard members.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Code is the stable machine code: the domain's error code, or one of
	// this API's own (unauthenticated, too_large, no_route…).
	Code string `json:"code"`
}

// The codes this API adds to the domain's.
const (
	CodeUnauthenticated  = "unauthenticated"
	CodeReplayed         = "replayed"
	CodeTooLarge         = "too_large"
	CodeNoRoute          = "no_route"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnsupportedMedia = "unsupported_media_type"
)

// apiError is an error this dialect raises itself.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func fail(status int, code, format string, args ...any) error {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// invalid is a 400 with the domain's invalid code.
func invalid(format string, args ...any) error {
	return fail(http.StatusBadRequest, string(keypair.EINVALID), format, args...)
}

// domainStatus is the status of each domain code.
var domainStatus = map[keypair.Code]int{
	keypair.EINVALID:     http.StatusBadRequest,
	keypair.ENOTFOUND:    http.StatusNotFound,
	keypair.ECONFLICT:    http.StatusConflict,
	keypair.EQUOTA:       http.StatusForbidden,
	keypair.EFORBIDDEN:   http.StatusForbidden,
	keypair.EUNAVAILABLE: http.StatusServiceUnavailable,
	keypair.EBUSY:        http.StatusServiceUnavailable,
	keypair.EINTERNAL:    http.StatusInternalServerError,
}

// ProblemOf maps any error to its problem details; it is the one place
// this dialect turns errors into HTTP.
func ProblemOf(err error) Problem {
	status, code, msg := http.StatusInternalServerError, string(keypair.EINTERNAL), "An unexpected error prevented the request; the service's log has the details."
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		status, code, msg = ae.status, ae.code, ae.msg
	case errors.As(err, &mbe):
		// Authentication of an AK/SK-signed request reads the body too.
		status, code, msg = http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)
	case errors.Is(err, identity.ErrReplayed):
		status, code, msg = http.StatusUnauthorized, CodeReplayed, "Authentication failed: "+identity.Reason(err)+"."
	case errors.Is(err, identity.ErrUnauthenticated):
		status, code, msg = http.StatusUnauthorized, CodeUnauthenticated, "Authentication is required: send X-Auth-Token or an AK/SK signature."
		if r := identity.Reason(err); r != "" {
			msg = "Authentication failed: " + r + "."
		}
	default:
		c := keypair.ErrorCode(err)
		if s, ok := domainStatus[c]; ok && c != keypair.EINTERNAL {
			status, code, msg = s, string(c), keypair.ErrorMessage(err)
			if c == keypair.EFORBIDDEN {
				msg = fmt.Sprintf("You are not allowed to %s this key pair.", keypair.ErrorAction(err))
			}
		}
	}
	return Problem{Type: ProblemType + code, Title: http.StatusText(status), Status: status, Detail: msg, Code: code}
}

// writeError answers err as problem details. An internal error while the
// database is down is answered 503 unavailable.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(err)
	if p.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if h.databaseDown(r.Context()) {
			p = ProblemOf(keypair.Errorf(keypair.EUNAVAILABLE, "The service cannot reach its database at the moment; nothing was changed. Retry later."))
		}
	}
	if d := keypair.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(max((d+time.Second-1)/time.Second, 1)), 10))
	}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// databaseDown asks the health probe, briefly, whether the database is
// unreachable.
func (h *Handler) databaseDown(ctx context.Context) bool {
	if h.health == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return h.health(ctx) != nil
}
