package kps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/keypair"
)

// ErrorCode is one of KPS's error codes, with its status and meaning.
type ErrorCode struct {
	Code    string
	Status  int
	Meaning string
}

// The error codes; docs/errors.md is generated from this table
// (go test ./api/kps -run TestErrorsDoc -update).
var (
	ErrInvalidParameter  = ErrorCode{"KPS.0001", 400, "A parameter is missing, has the wrong type or an invalid value."}
	ErrKeypairExists     = ErrorCode{"KPS.0002", 409, "A key pair of that name already exists for the caller (their own, or one shared with their domain)."}
	ErrKeypairNotFound   = ErrorCode{"KPS.0003", 404, "No key pair of that name is visible to the caller."}
	ErrQuotaExceeded     = ErrorCode{"KPS.0004", 403, "The owner already has as many key pairs as the quota allows."}
	ErrInvalidPublicKey  = ErrorCode{"KPS.0005", 400, "The public key (or certificate) cannot be parsed."}
	ErrKeyMismatch       = ErrorCode{"KPS.0006", 400, "The private key is valid but is not the private half of the key pair's public key."}
	ErrKMSKeyNotFound    = ErrorCode{"KPS.0007", 400, "The KMS key named in the encryption settings does not exist."}
	ErrKMSUnavailable    = ErrorCode{"KPS.0008", 503, "The key management service cannot be reached or refused; nothing was changed. Retry later."}
	ErrNotAuthorized     = ErrorCode{"KPS.0009", 403, "Policy does not allow the caller to do this (another user's key pair, a reader role, another project)."}
	ErrUnauthenticated   = ErrorCode{"KPS.0010", 401, "The request carries no valid token or AK/SK signature."}
	ErrNoPrivateKey      = ErrorCode{"KPS.0011", 404, "The key pair keeps no private key in escrow."}
	ErrHasPrivateKey     = ErrorCode{"KPS.0012", 409, "The key pair already keeps a private key in escrow; clear it first."}
	ErrInvalidPrivateKey = ErrorCode{"KPS.0013", 400, "The private key cannot be parsed, or is protected by a passphrase."}
	ErrEscrowUnsupported = ErrorCode{"KPS.0014", 400, "This service is configured without escrow."}
	ErrTooLarge          = ErrorCode{"KPS.0015", 413, "The request body is larger than the service accepts."}
	ErrResourceNotFound  = ErrorCode{"KPS.0016", 404, "No such API resource."}
	ErrMethodNotAllowed  = ErrorCode{"KPS.0017", 405, "The resource does not support that method."}
	ErrInternal          = ErrorCode{"KPS.0018", 500, "An unexpected error; the operator's log has the details."}
	ErrConflict          = ErrorCode{"KPS.0019", 409, "The key pair changed while the request ran; retry."}
	ErrUnavailable       = ErrorCode{"KPS.0020", 503, "The service cannot reach its database at the moment; nothing was changed. Retry later."}
	ErrBusy              = ErrorCode{"KPS.0021", 503, "As many key pairs are being generated as the service allows at once; nothing was changed. Retry after the Retry-After header's seconds, or import a public key."}
	ErrOverloaded        = ErrorCode{"KPS.0022", 503, "The server is at its connection limit and did not read the request; nothing was changed. Retry after the Retry-After header's seconds."}
)

// Codes lists every error code, in order.
var Codes = []ErrorCode{ErrInvalidParameter, ErrKeypairExists, ErrKeypairNotFound, ErrQuotaExceeded, ErrInvalidPublicKey,
	ErrKeyMismatch, ErrKMSKeyNotFound, ErrKMSUnavailable, ErrNotAuthorized, ErrUnauthenticated, ErrNoPrivateKey,
	ErrHasPrivateKey, ErrInvalidPrivateKey, ErrEscrowUnsupported, ErrTooLarge, ErrResourceNotFound, ErrMethodNotAllowed,
	ErrInternal, ErrConflict, ErrUnavailable, ErrBusy, ErrOverloaded}

// apiError is an error this dialect raises, with its code and message.
type apiError struct {
	code ErrorCode
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func fail(code ErrorCode, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// reasonCodes maps the domain's reasons to KPS codes.
var reasonCodes = map[keypair.Reason]ErrorCode{
	keypair.ReasonInvalidPublicKey:  ErrInvalidPublicKey,
	keypair.ReasonPrivateKeyInvalid: ErrInvalidPrivateKey,
	keypair.ReasonKeyMismatch:       ErrKeyMismatch,
	keypair.ReasonNoPrivateKey:      ErrNoPrivateKey,
	keypair.ReasonHasPrivateKey:     ErrHasPrivateKey,
	keypair.ReasonKMSKeyNotFound:    ErrKMSKeyNotFound,
	keypair.ReasonKMSUnavailable:    ErrKMSUnavailable,
	keypair.ReasonEscrowUnsupported: ErrEscrowUnsupported,
}

// codeOf maps an error to KPS's code and message; it is the one place this
// dialect turns errors into HTTP.
func codeOf(err error) (ErrorCode, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code, ae.msg
	}
	// Authentication reads an AK/SK-signed body to hash it, so the body
	// limit can surface there, before the handler reads it.
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ErrTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)
	}
	if errors.Is(err, identity.ErrUnauthenticated) {
		if r := identity.Reason(err); r != "" {
			return ErrUnauthenticated, "Authentication failed: " + r + "."
		}
		return ErrUnauthenticated, "Authentication is required: send X-Auth-Token or an AK/SK signature."
	}
	if c, ok := reasonCodes[keypair.ErrorReason(err)]; ok {
		return c, keypair.ErrorMessage(err)
	}
	msg := keypair.ErrorMessage(err)
	switch keypair.ErrorCode(err) {
	case keypair.EINVALID:
		return ErrInvalidParameter, msg
	case keypair.ENOTFOUND:
		return ErrKeypairNotFound, msg
	case keypair.ECONFLICT:
		if strings.Contains(msg, "already exists") {
			return ErrKeypairExists, msg
		}
		return ErrConflict, msg
	case keypair.EQUOTA:
		return ErrQuotaExceeded, msg
	case keypair.EFORBIDDEN:
		return ErrNotAuthorized, fmt.Sprintf("You are not allowed to %s this key pair.", keypair.ErrorAction(err))
	case keypair.EUNAVAILABLE:
		return ErrKMSUnavailable, msg
	case keypair.EBUSY:
		return ErrBusy, msg
	}
	return ErrInternal, "An unexpected error prevented the request; the service's log has the details."
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := codeOf(err)
	if code == ErrInternal {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if h.databaseDown(r.Context()) {
			code, msg = ErrUnavailable, "The service cannot reach its database at the moment. Retry later."
		}
	}
	if d := keypair.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(max((d+time.Second-1)/time.Second, 1)), 10))
	}
	writeJSON(w, code.Status, map[string]string{"error_code": code.Code, "error_msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // only this package's own view types reach here
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ErrorsDoc renders the error table as the Markdown of docs/errors.md.
func ErrorsDoc() string {
	var b strings.Builder
	b.WriteString("# KPS error codes\n\nGenerated from `api/kps/errors.go` by `go test ./api/kps -run TestErrorsDoc -update`; do not edit.\n\n")
	b.WriteString("Every KPS error answers `{\"error_code\": \"KPS.xxxx\", \"error_msg\": \"…\"}`; the message says what to do.\n\n")
	b.WriteString("| code | status | meaning |\n|---|---|---|\n")
	for _, c := range Codes {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", c.Code, c.Status, c.Meaning)
	}
	return b.String()
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
