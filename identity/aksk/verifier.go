package aksk

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// Default limits of Config.
const (
	// DefaultMaxSkew is the default Config.MaxSkew.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultMaxBody is the default Config.MaxBody, 1 MiB.
	DefaultMaxBody = 1 << 20
)

// Config configures a Verifier.
type Config struct {
	// Secrets finds the secret key and principal of an access key.
	Secrets identity.SecretSource
	// MaxSkew is how far X-Sdk-Date may be from Now, either way; default
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the server's clock; default time.Now.
	Now func() time.Time
	// MaxBody is the largest body, in bytes, Verifier reads to hash it;
	// larger bodies are refused. Default DefaultMaxBody.
	MaxBody int64
}

// Verifier is an identity.Authenticator for AK/SK-signed requests. It is safe
// for concurrent use.
type Verifier struct {
	secrets identity.SecretSource
	maxSkew time.Duration
	now     func() time.Time
	maxBody int64
}

var _ identity.Authenticator = (*Verifier)(nil)

// New returns a Verifier for cfg, filling in the defaults.
func New(cfg Config) *Verifier {
	v := &Verifier{secrets: cfg.Secrets, maxSkew: cfg.MaxSkew, now: cfg.Now, maxBody: cfg.MaxBody}
	if v.maxSkew <= 0 {
		v.maxSkew = DefaultMaxSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxBody <= 0 {
		v.maxBody = DefaultMaxBody
	}
	return v
}

// Authenticate verifies r's signature and returns the principal of its access
// key. A refused request gives an *identity.AuthError with a log-safe reason;
// a failure of the secret source that is not an authentication error is
// returned wrapped, so it can be answered as a server error. When the body is
// hashed, Authenticate reads it and puts an equivalent reader back on r.Body.
func (v *Verifier) Authenticate(ctx context.Context, r *http.Request) (identity.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return identity.Principal{}, identity.Unauthenticated("missing Authorization header")
	}
	a, err := ParseAuthorization(h)
	if err != nil {
		return identity.Principal{}, err
	}
	if !slices.Contains(a.SignedHeaders, "x-sdk-date") {
		return identity.Principal{}, identity.Unauthenticated("signed headers must include x-sdk-date")
	}
	date := r.Header.Get(HeaderDate)
	if date == "" {
		return identity.Principal{}, identity.Unauthenticated("missing X-Sdk-Date header")
	}
	t, err := time.Parse(DateFormat, date)
	if err != nil {
		return identity.Principal{}, identity.Unauthenticated("malformed X-Sdk-Date header: want the format " + DateFormat)
	}
	if d := v.now().Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return identity.Principal{}, identity.Unauthenticated(fmt.Sprintf(
			"request date is more than %s away from the server's clock", v.maxSkew))
	}
	if a.Algorithm == AlgorithmDerived && a.Scope[:8] != t.Format("20060102") {
		return identity.Principal{}, identity.Unauthenticated("credential scope date does not match X-Sdk-Date")
	}

	if v.secrets == nil {
		return identity.Principal{}, errors.New("aksk: no secret source configured")
	}
	secret, p, err := v.secrets.LookupSecret(ctx, a.AccessKey)
	if err != nil {
		if errors.Is(err, identity.ErrUnauthenticated) {
			return identity.Principal{}, err
		}
		return identity.Principal{}, fmt.Errorf("aksk: looking up access key: %w", err)
	}
	if secret == "" {
		// Anyone can compute an HMAC with an empty key.
		return identity.Principal{}, errors.New("aksk: secret source returned an empty secret")
	}

	payloadHash, err := v.payloadHash(r)
	if err != nil {
		return identity.Principal{}, err
	}
	cr, err := canonicalRequest(r, a.SignedHeaders, payloadHash)
	if err != nil {
		return identity.Principal{}, err
	}
	if !hmac.Equal(signature(a, t, secret, cr), a.Signature) {
		return identity.Principal{}, identity.Unauthenticated("signature does not match")
	}
	return p, nil
}

// payloadHash returns the payload hash of the canonical request: the value of
// X-Sdk-Content-Sha256 when present (after checking it against the body
// unless it is UNSIGNED-PAYLOAD), else the hex SHA-256 of the body.
func (v *Verifier) payloadHash(r *http.Request) (string, error) {
	declared, hasDeclared := r.Header[HeaderContentSHA256]
	if hasDeclared && len(declared) > 0 && declared[0] == UnsignedPayload {
		return UnsignedPayload, nil
	}
	body, err := v.readBody(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	got := hex.EncodeToString(sum[:])
	if !hasDeclared {
		return got, nil
	}
	if len(declared) != 1 || declared[0] != got {
		return "", identity.Unauthenticated("request body does not match its X-Sdk-Content-Sha256 header")
	}
	return got, nil
}

// readBody reads the whole body, at most v.maxBody bytes, and puts it back.
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(body)) > v.maxBody:
		return nil, identity.Unauthenticated(fmt.Sprintf(
			"request body is larger than %d bytes and cannot be verified", v.maxBody))
	case err != nil:
		return nil, fmt.Errorf("aksk: reading request body: %w", err)
	}
	return body, nil
}

// signature computes the signature the SDK would have sent.
func signature(a Authorization, t time.Time, secret, canonical string) []byte {
	crHash := sha256.Sum256([]byte(canonical))
	date := t.UTC().Format(DateFormat)
	key := []byte(secret)
	sts := a.Algorithm + "\n" + date + "\n" + hex.EncodeToString(crHash[:])
	if a.Algorithm == AlgorithmDerived {
		sts = a.Algorithm + "\n" + date + "\n" + a.Scope + "\n" + hex.EncodeToString(crHash[:])
		// The SDK expands HKDF-SHA256(secret, salt = access key, info = scope)
		// to 32 bytes and keys the HMAC with their hex form.
		dk, err := hkdf.Key(sha256.New, key, []byte(a.AccessKey), a.Scope, 32)
		if err != nil {
			return nil // never matches
		}
		key = []byte(hex.EncodeToString(dk))
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sts))
	return m.Sum(nil)
}
