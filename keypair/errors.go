package keypair

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies a domain error; each API dialect maps codes to its own
// status codes and bodies in one place.
type Code string

// The error codes of the domain.
const (
	// EINVALID: the request is malformed or names invalid data.
	EINVALID Code = "invalid"
	// ENOTFOUND: the key pair (or a marker) does not exist for that user.
	ENOTFOUND Code = "not_found"
	// ECONFLICT: a key pair of that name already exists for that user.
	ECONFLICT Code = "conflict"
	// EQUOTA: creating one more key pair would exceed the owner's quota.
	EQUOTA Code = "quota"
	// EFORBIDDEN: policy does not let the caller perform the action.
	EFORBIDDEN Code = "forbidden"
	// EUNAVAILABLE: a dependency (the KMS) cannot serve now; retry later.
	EUNAVAILABLE Code = "unavailable"
	// EBUSY: the service is doing as much of this work as it allows at
	// once (key generation); retry after Error.RetryAfter.
	EBUSY Code = "busy"
	// EINTERNAL: anything else; never shown to users in detail.
	EINTERNAL Code = "internal"
)

// Action names what was attempted, so a dialect can phrase a policy refusal
// in its own words (Nova names the policy rule).
type Action string

// The actions policy decides on.
const (
	ActionCreate Action = "create"
	ActionList   Action = "index"
	ActionShow   Action = "show"
	ActionDelete Action = "delete"
	ActionUpdate Action = "update"
	ActionExport Action = "export"
)

// Reason refines a code for dialects that distinguish more cases (KPS has
// an error code each).
type Reason string

// The reasons.
const (
	ReasonInvalidPublicKey  Reason = "invalid_public_key"
	ReasonPrivateKeyInvalid Reason = "private_key_invalid"
	ReasonKeyMismatch       Reason = "private_key_mismatch"
	ReasonNoPrivateKey      Reason = "no_private_key"
	ReasonKMSKeyNotFound    Reason = "kms_key_not_found"
	ReasonKMSUnavailable    Reason = "kms_unavailable"
	ReasonEscrowUnsupported Reason = "escrow_unsupported"
)

// Error is an application error: a code, a message safe to show the caller,
// and for EFORBIDDEN the action that was refused.
type Error struct {
	// Code classifies the error for the dialects.
	Code Code
	// Message is safe to show the caller: it holds no internals or secrets.
	Message string
	// Action is the refused action, for EFORBIDDEN only.
	Action Action
	// Reason refines Code; empty when the code says it all.
	Reason Reason
	// RetryAfter, for EBUSY, is when the caller may usefully try again.
	RetryAfter time.Duration
}

// WithReason returns a copy of e carrying reason.
func (e *Error) WithReason(r Reason) *Error {
	c := *e
	c.Reason = r
	return &c
}

// ErrorReason returns the reason of an application error, or "".
func ErrorReason(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Error returns the user-facing message.
func (e *Error) Error() string { return fmt.Sprintf("keypair: %s: %s", e.Code, e.Message) }

// Errorf builds an application error with a formatted user-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error anywhere in err's
// chain, EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of an application error, and
// "Internal error." for anything else, so that internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorRetryAfter returns how long the caller should wait before retrying
// an EBUSY error, and 0 for any other error.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorAction returns the refused action of an EFORBIDDEN error, or "".
func ErrorAction(err error) Action {
	var e *Error
	if errors.As(err, &e) {
		return e.Action
	}
	return ""
}

// The messages below are shared by every dialect that has no wording of
// its own; they are Nova's, which clients and tests match on.

// NotFound reports that user has no key pair called name.
func NotFound(name, user string) *Error {
	return Errorf(ENOTFOUND, "Keypair %s not found for user %s", name, user)
}

// Conflict reports that user already has a key pair called name.
func Conflict(name string) *Error {
	return Errorf(ECONFLICT, "Key pair '%s' already exists.", name)
}

// QuotaExceeded reports that the owner is at their key pair quota.
func QuotaExceeded() *Error {
	return Errorf(EQUOTA, "Quota exceeded, too many key pairs.")
}

// MarkerNotFound reports a pagination marker that names no key pair.
func MarkerNotFound(marker string) *Error {
	return Errorf(EINVALID, "Marker %s could not be found.", marker)
}

// Forbidden reports that policy refused action.
func Forbidden(action Action) *Error {
	return &Error{Code: EFORBIDDEN, Action: action, Message: fmt.Sprintf("Policy doesn't allow %s to be performed.", action)}
}

// Busy reports that as many key pairs are being generated as the service
// allows at once; retryAfter is how long the caller should wait.
func Busy(retryAfter time.Duration) *Error {
	return &Error{Code: EBUSY, RetryAfter: retryAfter,
		Message: "Too many key pairs are being generated at the moment. Retry later, or import a public key instead."}
}
