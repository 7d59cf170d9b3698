package nova

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/keypair"
)

// Mode says whose rules os-keypairs follows.
type Mode string

// The modes.
const (
	// ModeNova is OpenStack Nova's os-keypairs, exactly.
	ModeNova Mode = "nova"
	// ModeHuawei is Huawei ECS's edition of os-keypairs: user_id in the
	// create body at every microversion, names of at most 64 letters,
	// digits, '_' and '-', and errors in KPS's format, which is the only
	// one Huawei's SDKs read.
	ModeHuawei Mode = "huawei"
)

// huaweiName is Huawei ECS's rule for new key pair names; names made
// before, or through Nova, still resolve in paths.
var huaweiName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validateHuaweiName applies Huawei ECS's name rule.
func validateHuaweiName(val any) error {
	s, ok := val.(string)
	if !ok {
		return fieldError("name", val, notOfType(val, "string"))
	}
	if !huaweiName.MatchString(s) {
		return fieldError("name", val, "The name must be 1 to 64 letters, digits, '_' or '-'.")
	}
	return nil
}

// huaweiCodes gives KPS's code for the errors this dialect raises itself,
// by their Nova status. An unsupported media type or microversion has no
// KPS code of its own: it is a parameter error.
var huaweiCodes = map[int]kps.ErrorCode{
	http.StatusBadRequest:            kps.ErrInvalidParameter,
	http.StatusNotFound:              kps.ErrResourceNotFound,
	http.StatusMethodNotAllowed:      kps.ErrMethodNotAllowed,
	http.StatusNotAcceptable:         kps.ErrInvalidParameter,
	http.StatusRequestEntityTooLarge: kps.ErrTooLarge,
	http.StatusUnsupportedMediaType:  kps.ErrInvalidParameter,
}

// huaweiCodeOf maps an error to KPS's code and message: the dialect's own
// errors by their status, everything else by KPS's one mapping.
func huaweiCodeOf(err error) (kps.ErrorCode, string) {
	var he *httpError
	var ve *versionError
	switch {
	case errors.As(err, &he):
		if c, ok := huaweiCodes[he.status]; ok {
			return c, he.message
		}
	case errors.As(err, &ve):
		if c, ok := huaweiCodes[ve.status]; ok {
			return c, ve.message
		}
	}
	return kps.Describe(err)
}

// writeHuaweiError answers err as Huawei ECS does: {"error_code",
// "error_msg"} with the code's status.
func (h *Handler) writeHuaweiError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := huaweiCodeOf(err)
	if code == kps.ErrInternal {
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if databaseDown(r.Context(), h.health) {
			code, msg = kps.ErrUnavailable, unavailableMessage
		}
	}
	var he *httpError
	if errors.As(err, &he) && he.allow != "" {
		w.Header().Set("Allow", he.allow)
	}
	if code == kps.ErrUnauthenticated {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", h.authURI(r)))
	}
	if d := keypair.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(d))
	}
	writeJSON(w, code.Status, "application/json;charset=UTF-8", map[string]string{"error_code": code.Code, "error_msg": msg})
}
