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
	"github.com/keyhaven/keyhaven/task"
)

// ErrorCode is one of KPS's error codes, with its status and meaning.
type ErrorCode struct {
	Code    string
	Status  int
	Meaning string
}

// The error codes; docs/errors.md is generated from Codes
// (go test ./api/kps -run TestErrorsDoc -update). Huawei's published codes
// (the spec's table) keep Huawei's meaning; the cases Huawei does not list
// have keyhaven's own codes, KPS.7001 on, a block Huawei does not use.
// Where keyhaven's status differs from Huawei's, docs/compatibility.md says
// why.
var (
	ErrInvalidParameter = ErrorCode{"KPS.0002", 400, "Parameter error: a parameter is missing, has the wrong type or an invalid value (a public key or private key that cannot be parsed included)."}
	ErrKMSUnavailable   = ErrorCode{"KPS.0003", 503, "A service KPS depends on (the key management service) cannot be reached or refused; nothing was changed. Retry later."}
	ErrKeypairNotFound  = ErrorCode{"KPS.4016", 404, "The key pair does not exist: no key pair of that name is visible to the caller."}
	ErrDatabaseQuery    = ErrorCode{"KPS.5001", 503, "Querying a database record failed: the service cannot reach its database at the moment; nothing was changed. Retry later."}
	ErrDatabaseInsert   = ErrorCode{"KPS.5002", 503, "Inserting a database record failed: the service cannot reach its database at the moment; nothing was changed. Retry later."}
	ErrDatabaseDelete   = ErrorCode{"KPS.5003", 503, "Deleting a database record failed: the service cannot reach its database at the moment; nothing was changed. Retry later."}
	ErrDatabaseUpdate   = ErrorCode{"KPS.5004", 503, "Updating a database record failed: the service cannot reach its database at the moment; nothing was changed. Retry later."}
	ErrNoPrivateKey     = ErrorCode{"KPS.6005", 404, "The key pair keeps no private key in escrow."}
	ErrKMSKeyNotFound   = ErrorCode{"KPS.6008", 400, "Encrypting the private key failed: the KMS key named in the encryption settings does not exist or is disabled."}
	ErrKeyMismatch      = ErrorCode{"KPS.6011", 400, "The imported private key is valid but does not match the key pair's public key."}
	ErrUnauthenticated  = ErrorCode{"KPS.9001", 401, "The request carries no valid token or AK/SK signature, or it failed authentication."}
	ErrNotAuthorized    = ErrorCode{"KPS.9003", 403, "No permission for the operation: policy does not allow it (another user's key pair, a reader role, another project)."}

	ErrKeypairExists     = ErrorCode{"KPS.7001", 409, "A key pair of that name already exists for the caller (their own, or one shared with their domain)."}
	ErrQuotaExceeded     = ErrorCode{"KPS.7002", 403, "The owner already has as many key pairs as the quota allows."}
	ErrEscrowUnsupported = ErrorCode{"KPS.7004", 400, "This service is configured without escrow: it keeps no private keys."}
	ErrTooLarge          = ErrorCode{"KPS.7005", 413, "The request body is larger than the service accepts."}
	ErrResourceNotFound  = ErrorCode{"KPS.7006", 404, "No such API resource (an unknown path)."}
	ErrMethodNotAllowed  = ErrorCode{"KPS.7007", 405, "The resource does not support that method; the Allow header lists those it does."}
	ErrConflict          = ErrorCode{"KPS.7008", 409, "The key pair changed while the request ran; retry."}
	ErrBusy              = ErrorCode{"KPS.7009", 503, "As many key pairs are being generated as the service allows at once; nothing was changed. Retry after the Retry-After header's seconds, or import a public key."}
	ErrOverloaded        = ErrorCode{"KPS.7010", 503, "The server is at its connection limit and did not read the request; nothing was changed. Retry after the Retry-After header's seconds."}
	ErrReplayed          = ErrorCode{"KPS.7011", 401, "This AK/SK-signed request was already received (a replay); nothing was done. Sign the request again to repeat it."}
	ErrInternal          = ErrorCode{"KPS.7012", 500, "An unexpected error; the operator's log has the details."}
	ErrTaskInProgress    = ErrorCode{"KPS.7013", 409, "The task has not finished yet (READY or RUNNING); only failed tasks can be deleted."}

	ErrInvalidTaskID       = ErrorCode{"KPS.0001", 400, "The task id is invalid: no task of that id exists in the caller's project."}
	ErrFailedTaskNotFound  = ErrorCode{"KPS.0005", 400, "The failed task is not found in the caller's project."}
	ErrNoKeypairAssociated = ErrorCode{"KPS.6004", 400, "No key pair found: the server has no key pair associated by keyhaven, so there is nothing to disassociate."}
	ErrServerNotFound      = ErrorCode{"KPS.7014", 404, "The server is not in the caller's project's inventory (an operator adds it with keyhaven servers add); a server of another project is answered alike."}
	ErrStopping            = ErrorCode{"KPS.7016", 503, "This keyhaven instance is shutting down and accepts no association task; nothing was done. Submit it again."}
	ErrTaskQueueFull       = ErrorCode{"KPS.7017", 503, "As many association tasks as this keyhaven instance holds already wait to run; nothing was done. Retry after the Retry-After header's seconds."}
	ErrAuthRequired        = ErrorCode{"KPS.7015", 400, "server.auth is required: keyhaven logs in to the server over SSH (password or private key); it cannot reset a stopped server's key offline as Huawei's RESET does."}
)

// The task_error_code of a failed task, one per task.FailureCode. They
// are never an HTTP answer (status 0): failed-tasks lists them.
var (
	ErrTaskAuthFailed  = ErrorCode{"KPS.7101", 0, "Task failure: the server refused the login (wrong password, or a private key it does not accept)."}
	ErrTaskHostKey     = ErrorCode{"KPS.7102", 0, "Task failure: the server's host key is not one its inventory entry pins; keyhaven did not log in."}
	ErrTaskUnreachable = ErrorCode{"KPS.7103", 0, "Task failure: nothing answered at the server's address and port (connection refused, no route)."}
	ErrTaskTimeout     = ErrorCode{"KPS.7104", 0, "Task failure: connecting, the SSH handshake or the whole task took longer than keyhaven allows."}
	ErrTaskRemote      = ErrorCode{"KPS.7105", 0, "Task failure: logged in, but changing the server failed (authorized_keys not writable, the new key does not log in, sshd configuration)."}
	ErrTaskInterrupted = ErrorCode{"KPS.7106", 0, "Task failure: keyhaven stopped before the task finished; the credentials are never stored, so submit the task again."}
	ErrTaskInternal    = ErrorCode{"KPS.7107", 0, "Task failure: an unexpected error; the operator's log has the details."}
	ErrTaskWithdrawn   = ErrorCode{"KPS.7108", 0, "Task failure: before the task ran, the access of the user who submitted it was withdrawn, or its key pair was deleted or changed; keyhaven did not log in."}
)

// Aliases kept so that callers of the codes before Huawei's numbering
// still compile; each is the code that now carries its meaning.
var (
	// ErrInvalidPublicKey is Huawei's parameter error, KPS.0002.
	ErrInvalidPublicKey = ErrInvalidParameter
	// ErrInvalidPrivateKey is Huawei's parameter error, KPS.0002.
	ErrInvalidPrivateKey = ErrInvalidParameter
	// ErrUnavailable is the database outage of a read, KPS.5001; writes
	// answer ErrDatabaseInsert, ErrDatabaseDelete or ErrDatabaseUpdate.
	ErrUnavailable = ErrDatabaseQuery
)

// Codes lists every error code, in order.
var Codes = []ErrorCode{ErrInvalidParameter, ErrKMSUnavailable, ErrKeypairNotFound,
	ErrDatabaseQuery, ErrDatabaseInsert, ErrDatabaseDelete, ErrDatabaseUpdate,
	ErrNoPrivateKey, ErrKMSKeyNotFound, ErrKeyMismatch, ErrUnauthenticated, ErrNotAuthorized,
	ErrKeypairExists, ErrQuotaExceeded, ErrEscrowUnsupported, ErrTooLarge,
	ErrResourceNotFound, ErrMethodNotAllowed, ErrConflict, ErrBusy, ErrOverloaded, ErrReplayed,
	ErrInternal, ErrTaskInProgress,
	ErrInvalidTaskID, ErrFailedTaskNotFound, ErrNoKeypairAssociated, ErrServerNotFound, ErrAuthRequired, ErrStopping, ErrTaskQueueFull,
	ErrTaskAuthFailed, ErrTaskHostKey, ErrTaskUnreachable, ErrTaskTimeout, ErrTaskRemote, ErrTaskInterrupted, ErrTaskInternal, ErrTaskWithdrawn}

// taskErrorCodes maps why a task failed to its task_error_code.
var taskErrorCodes = map[task.FailureCode]ErrorCode{
	task.FailAuth:        ErrTaskAuthFailed,
	task.FailHostKey:     ErrTaskHostKey,
	task.FailUnreachable: ErrTaskUnreachable,
	task.FailTimeout:     ErrTaskTimeout,
	task.FailRemote:      ErrTaskRemote,
	task.FailInterrupted: ErrTaskInterrupted,
	task.FailInternal:    ErrTaskInternal,
	task.FailWithdrawn:   ErrTaskWithdrawn,
}

// TaskErrorCode is the task_error_code of a failed task's failure code.
func TaskErrorCode(c task.FailureCode) ErrorCode {
	if e, ok := taskErrorCodes[c]; ok {
		return e
	}
	return ErrTaskInternal
}

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
	keypair.ReasonKMSKeyNotFound:    ErrKMSKeyNotFound,
	keypair.ReasonKMSUnavailable:    ErrKMSUnavailable,
	keypair.ReasonEscrowUnsupported: ErrEscrowUnsupported,
	task.ReasonServerNotFound:       ErrServerNotFound,
	task.ReasonAuthRequired:         ErrAuthRequired,
	task.ReasonNotAssociated:        ErrNoKeypairAssociated,
	task.ReasonTaskNotFound:         ErrInvalidTaskID,
	task.ReasonFailedTaskNotFound:   ErrFailedTaskNotFound,
	task.ReasonTaskInProgress:       ErrTaskInProgress,
	task.ReasonTaskForbidden:        ErrNotAuthorized,
	task.ReasonStopping:             ErrStopping,
	task.ReasonQueueFull:            ErrTaskQueueFull,
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
	if errors.Is(err, identity.ErrReplayed) {
		return ErrReplayed, "Authentication failed: " + identity.Reason(err) + "."
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

// writeError answers err; an internal error while the database is down is
// answered with ErrDatabaseQuery, the outage code of a request that has
// read nothing yet.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	h.writeErrorAs(w, r, err, ErrDatabaseQuery)
}

// writeErrorAs answers err; an internal error while the database is down
// is answered with db, Huawei's code for the kind of record the operation
// writes or reads (KPS.5001–5004).
func (h *Handler) writeErrorAs(w http.ResponseWriter, r *http.Request, err error, db ErrorCode) {
	code, msg := codeOf(err)
	if code == ErrInternal {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if h.databaseDown(r.Context()) {
			code, msg = db, "The service cannot reach its database at the moment; nothing was changed. Retry later."
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
	// A Content-Length, as the real services send, rather than chunks.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ErrorsDoc renders the error table as the Markdown of docs/errors.md.
func ErrorsDoc() string {
	var b strings.Builder
	b.WriteString("# KPS error codes\n\nGenerated from `api/kps/errors.go` by `go test ./api/kps -run TestErrorsDoc -update`; do not edit.\n\n")
	b.WriteString("Every KPS error answers `{\"error_code\": \"KPS.xxxx\", \"error_msg\": \"…\"}`; the message says what to do.\n\n")
	b.WriteString("Codes from Huawei's published table keep Huawei's meaning. The cases Huawei's table does not list have keyhaven's own codes, ")
	b.WriteString("`KPS.7001` on, a block Huawei does not use, so that no Huawei code ever means something else here. ")
	b.WriteString("Where keyhaven's status differs from Huawei's (404 for a missing key pair or private key, 503 for an outage), ")
	b.WriteString("`docs/compatibility.md` says why; `docs/release-notes.md` maps the codes of earlier releases to these.\n\n")
	b.WriteString("Codes with no status are never an HTTP answer: they are the `task_error_code` of a failed task, as `failed-tasks` lists it.\n\n")
	b.WriteString("| code | status | origin | meaning |\n|---|---|---|---|\n")
	for _, c := range Codes {
		origin := "Huawei"
		if strings.HasPrefix(c.Code, "KPS.7") {
			origin = "keyhaven"
		}
		status := "—"
		if c.Status != 0 {
			status = strconv.Itoa(c.Status)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Code, status, origin, c.Meaning)
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
