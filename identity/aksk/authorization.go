package aksk

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/identity"
)

// The signature algorithms Verifier accepts.
const (
	// AlgorithmHMACSHA256 is the SDK's default algorithm: HMAC-SHA256 keyed
	// with the secret key.
	AlgorithmHMACSHA256 = "SDK-HMAC-SHA256"
	// AlgorithmDerived is the SDK's derived-key algorithm: HMAC-SHA256 keyed
	// with a key derived by HKDF-SHA256 from the secret key, the access key and
	// the credential scope.
	AlgorithmDerived = "V11-HMAC-SHA256"
)

// Header names of the scheme.
const (
	// HeaderDate carries the signing time, formatted as DateFormat.
	HeaderDate = "X-Sdk-Date"
	// HeaderContentSHA256 replaces the body hash when present; the SDK sends
	// UnsignedPayload in it for bodies that are not JSON or BSON.
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
	// DateFormat is the layout of HeaderDate.
	DateFormat = "20060102T150405Z"
	// UnsignedPayload in HeaderContentSHA256 leaves the body unsigned.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// Authorization is a parsed Authorization header of the scheme.
type Authorization struct {
	// Algorithm is AlgorithmHMACSHA256 or AlgorithmDerived.
	Algorithm string
	// AccessKey names the key pair that signed the request.
	AccessKey string
	// Scope is the credential scope "<yyyymmdd>/<region>/<service>" of an
	// AlgorithmDerived header, and empty for AlgorithmHMACSHA256.
	Scope string
	// SignedHeaders are the lower-case names of the signed headers, in the
	// order they were signed.
	SignedHeaders []string
	// Signature is the decoded signature (32 bytes).
	Signature []byte
}

// String formats a as an Authorization header value, the way the SDK does.
func (a Authorization) String() string {
	cred := "Access=" + a.AccessKey
	if a.Algorithm == AlgorithmDerived {
		cred = "Credential=" + a.AccessKey + "/" + a.Scope
	}
	return fmt.Sprintf("%s %s, SignedHeaders=%s, Signature=%s",
		a.Algorithm, cred, strings.Join(a.SignedHeaders, ";"), hex.EncodeToString(a.Signature))
}

// Applies reports whether r carries an Authorization header of this scheme
// (SDK-HMAC-SHA256, V11-HMAC-SHA256 or another "SDK-" algorithm of the
// Huawei Cloud SDKs), so a chain of authenticators can route it here. The
// SDK algorithms Verifier does not support are routed here too, so that
// they are refused with a clear reason.
func Applies(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return scheme == AlgorithmDerived || strings.HasPrefix(scheme, "SDK-")
}

func malformed(format string, args ...any) error {
	return identity.Unauthenticated("malformed Authorization header: " + fmt.Sprintf(format, args...))
}

// ParseAuthorization parses the Authorization header value h. Its errors are
// *identity.AuthError values with a caller-safe reason.
func ParseAuthorization(h string) (Authorization, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return Authorization{}, malformed("empty")
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != AlgorithmHMACSHA256 && alg != AlgorithmDerived {
		return Authorization{}, unsupported(alg)
	}
	credName := "Access"
	if alg == AlgorithmDerived {
		credName = "Credential"
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return Authorization{}, malformed("no parameters after the algorithm")
	}
	var cred, signed, sig string
	var have [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Authorization{}, malformed("empty parameter")
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return Authorization{}, malformed("parameter without '='")
		}
		var i int
		switch k {
		case credName:
			i, cred = 0, val
		case "SignedHeaders":
			i, signed = 1, val
		case "Signature":
			i, sig = 2, val
		default:
			return Authorization{}, malformed("unknown parameter (want %s, SignedHeaders and Signature)", credName)
		}
		if have[i] {
			return Authorization{}, malformed("duplicate %s", k)
		}
		have[i] = true
	}
	for i, name := range []string{credName, "SignedHeaders", "Signature"} {
		if !have[i] {
			return Authorization{}, malformed("missing %s", name)
		}
	}
	a := Authorization{Algorithm: alg}
	a.AccessKey = cred
	if alg == AlgorithmDerived {
		ak, scope, ok := strings.Cut(cred, "/")
		if !ok || !validScope(scope) {
			return Authorization{}, malformed("Credential is not <access key>/<yyyymmdd>/<region>/<service>")
		}
		a.AccessKey, a.Scope = ak, scope
	}
	if !validAccessKey(a.AccessKey) {
		return Authorization{}, malformed("empty or invalid access key")
	}
	for name := range strings.SplitSeq(signed, ";") {
		if !validHeaderName(name) {
			return Authorization{}, malformed("SignedHeaders must be lower-case header names separated by ';'")
		}
		a.SignedHeaders = append(a.SignedHeaders, name)
	}
	if len(sig) != 64 {
		return Authorization{}, malformed("Signature is not 64 hexadecimal digits")
	}
	b, err := hex.DecodeString(sig)
	if err != nil {
		return Authorization{}, malformed("Signature is not 64 hexadecimal digits")
	}
	a.Signature = b
	return a, nil
}

func unsupported(alg string) error {
	if len(alg) > 32 {
		alg = alg[:32] + "..."
	}
	return identity.Unauthenticated(fmt.Sprintf("unsupported signature algorithm %q (want %s or %s)",
		alg, AlgorithmHMACSHA256, AlgorithmDerived))
}

func validAccessKey(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// validScope reports whether s is "<yyyymmdd>/<region>/<service>".
func validScope(s string) bool {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || len(parts[0]) != 8 {
		return false
	}
	for i := 0; i < 8; i++ {
		if c := parts[0][i]; c < '0' || c > '9' {
			return false
		}
	}
	return validAccessKey(parts[1]) && validAccessKey(parts[2])
}

// validHeaderName reports whether s is a non-empty lower-case HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
