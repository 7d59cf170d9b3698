package kms

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DataKeySize is the length in bytes of the data keys a Wrapper wraps: an
// AES-256 key.
const DataKeySize = 32

// LocalBackend is the name of the embedded backend (kms/local); every other
// backend is an external KMS.
const LocalBackend = "local"

// Wrapper wraps and unwraps data keys under a key-encryption key it holds;
// the KEK never leaves it. Implementations are safe for concurrent use.
type Wrapper interface {
	// Wrap encrypts a 32-byte data key under the KMS key named keyName
	// ("" = the backend's default key), returning the wrapped bytes and
	// the full reference of the key version used (e.g.
	// "local/master@v2", "pkcs11/keyhaven-kek").
	Wrap(ctx context.Context, keyName string, dataKey []byte) (wrapped []byte, ref string, err error)
	// Unwrap decrypts what Wrap returned under ref.
	Unwrap(ctx context.Context, ref string, wrapped []byte) ([]byte, error)
	// Name is the backend's name ("local", "pkcs11"): the first element
	// of every ref it returns.
	Name() string
}

// Rotator is implemented by backends that can add a new version of their
// default key. Wrap then uses the new version; data wrapped under older
// versions still unwraps until it is rewrapped.
type Rotator interface {
	// Rotate adds a new key version and returns its ref.
	Rotate() (ref string, err error)
}

// KeyRotator is implemented by backends whose named keys are versioned:
// RotateKey adds a new version of the key called name, which Wrap uses
// from then on, and returns its ref.
type KeyRotator interface {
	// RotateKey adds a new version of key name and returns its ref; an
	// unknown name is an error wrapping ErrKeyNotFound.
	RotateKey(ctx context.Context, name string) (ref string, err error)
}

// KeyCreator is implemented by backends that can generate a new
// key-encryption key inside the KMS.
type KeyCreator interface {
	// CreateKey generates a key named name and returns its ref.
	CreateKey(ctx context.Context, name string) (ref string, err error)
}

// Resolver is implemented by backends that can tell, without wrapping
// anything, which ref Wrap would return for keyName now; rewrap uses it to
// skip data already under the latest version.
type Resolver interface {
	// Resolve returns the full ref of the key version Wrap uses for
	// keyName, or an error wrapping ErrKeyNotFound.
	Resolve(ctx context.Context, keyName string) (ref string, err error)
}

// ErrKeyNotFound is reported, wrapped, for an unknown key name or ref.
var ErrKeyNotFound = errors.New("kms: key not found")

// ErrUnavailable is reported, wrapped, when the KMS cannot serve now: an HSM
// that is unreachable, a wrong PIN, a session failure. A later call may
// succeed.
var ErrUnavailable = errors.New("kms: unavailable")

// KeyNotFoundError returns an error wrapping ErrKeyNotFound whose message
// is the formatted text.
func KeyNotFoundError(format string, args ...any) error {
	return &kindError{kind: ErrKeyNotFound, msg: fmt.Sprintf(format, args...)}
}

// UnavailableError returns an error wrapping ErrUnavailable and cause (which
// may be nil) whose message is the formatted text.
func UnavailableError(cause error, format string, args ...any) error {
	return &kindError{kind: ErrUnavailable, cause: cause, msg: fmt.Sprintf(format, args...)}
}

// kindError is a message of its own that matches one of the sentinel
// errors, and optionally its cause, with errors.Is.
type kindError struct {
	kind  error
	cause error
	msg   string
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// SplitRef splits a ref into its backend name and key part at the first
// "/": "pkcs11/keyhaven-kek" gives "pkcs11" and "keyhaven-kek". A ref
// without a "/" or with an empty backend is an error wrapping
// ErrKeyNotFound.
func SplitRef(ref string) (backend, key string, err error) {
	backend, key, ok := strings.Cut(ref, "/")
	if !ok || backend == "" {
		return "", "", KeyNotFoundError("kms: %q is not a key reference (backend/key)", ref)
	}
	return backend, key, nil
}

// CheckDataKey returns an error unless dataKey has DataKeySize bytes;
// backends call it at the top of Wrap.
func CheckDataKey(dataKey []byte) error {
	if len(dataKey) != DataKeySize {
		return fmt.Errorf("kms: a data key must be %d bytes, not %d", DataKeySize, len(dataKey))
	}
	return nil
}
