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
	// larger bodies are refused with an *http.MaxBytesError, as the
	// server's own body limit is, for the dialects to answer 413. Default
	// DefaultMaxBody.
	MaxBody int64
	// Ledger, when not nil, records the signature of every accepted
	// request that may change something (any method but GET, HEAD and
	// OPTIONS), so that every instance sharing it refuses a replay. Without
	// it only this Verifier's memory does.
	Ledger identity.SignatureLedger
	// ReplayCacheSize bounds how many signatures the Verifier keeps in
	// memory; default DefaultReplayCacheSize. When it is full the one whose
	// window closes first is forgotten (the ledger still has it).
	ReplayCacheSize int
}

// Verifier is an identity.Authenticator for AK/SK-signed requests. It is safe
// for concurrent use.
type Verifier struct {
	secrets identity.SecretSource
	maxSkew time.Duration
	now     func() time.Time
	maxBody int64
	replays *replayGuard
}

var _ identity.Authenticator = (*Verifier)(nil)

// New returns a Verifier for cfg, filling in the defaults.
func New(cfg Config) *Verifier {
	v := &Verifier{secrets: cfg.Secrets, maxSkew: cfg.MaxSkew, now: cfg.Now, maxBody: cfg.MaxBody,
		replays: newReplayGuard(cfg.Ledger, cfg.ReplayCacheSize)}
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
// key. A refused request gives an *identity.AuthError with a log-safe reason,
// among them a request that may change something and carries a signature
// accepted before, within its window (a replay). A body over the limit gives
// an *http.MaxBytesError; a failure of the secret source or the ledger that
// is not an authentication error is returned wrapped, so it can be answered
// as a server error. When the body is hashed, Authenticate reads it and puts
// an equivalent reader back on r.Body.
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
	if !safeMethod(r.Method) {
		// The signature covers the date, so it is acceptable until the date
		// is out of the window: that long is it remembered.
		if err := v.replays.check(ctx, hex.EncodeToString(a.Signature), t.Add(v.maxSkew), v.now()); err != nil {
			return identity.Principal{}, err
		}
	}
	return p, nil
}

// payloadHash returns the payload hash of the canonical request: the value of
// X-Sdk-Content-Sha256 when present (after checking it against the body; it
// may be UNSIGNED-PAYLOAD only when there is no body), else the hex SHA-256
// of the body.
func (v *Verifier) payloadHash(r *http.Request) (string, error) {
	declared, hasDeclared := r.Header[HeaderContentSHA256]
	body, err := v.readBody(r)
	if err != nil {
		return "", err
	}
	if hasDeclared && len(declared) > 0 && declared[0] == UnsignedPayload {
		// An unsigned body could be swapped for any other under the same
		// signature; only a request without one may go unsigned.
		if len(body) > 0 {
			return "", identity.Unauthenticated("X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is refused on a request with a body: sign the body (send it as application/json, or its hex SHA-256 in X-Sdk-Content-Sha256)")
		}
		return UnsignedPayload, nil
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
// A body over the limit is not an authentication failure: the client's
// signature may well be right, and it must learn that the body is too large.
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case err != nil:
		// The server's body limit (an *http.MaxBytesError) stays in the
		// chain, for the dialect to answer 413.
		return nil, fmt.Errorf("aksk: reading request body: %w", err)
	case int64(len(body)) > v.maxBody:
		return nil, fmt.Errorf("aksk: request body is larger than %d bytes: %w", v.maxBody, &http.MaxBytesError{Limit: v.maxBody})
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
