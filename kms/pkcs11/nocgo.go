//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
)

// Supported reports whether this build can use PKCS#11 modules: it needs
// cgo.
const Supported = false

var errNoCgo = errors.New("pkcs11: this keyhaven was built without cgo, and PKCS#11 modules need it")

// Backend is the PKCS#11 KMS backend; without cgo it cannot be opened.
type Backend struct{ cfg Config }

// Open fails: PKCS#11 modules need a cgo build.
func Open(context.Context, Config) (*Backend, error) { return nil, errNoCgo }

// Name returns the backend's name.
func (b *Backend) Name() string { return b.cfg.Name }

// Close does nothing.
func (b *Backend) Close() error { return nil }

// Wrap fails: PKCS#11 modules need a cgo build.
func (b *Backend) Wrap(context.Context, string, []byte) ([]byte, string, error) {
	return nil, "", errNoCgo
}

// Unwrap fails: PKCS#11 modules need a cgo build.
func (b *Backend) Unwrap(context.Context, string, []byte) ([]byte, error) { return nil, errNoCgo }

// Resolve fails: PKCS#11 modules need a cgo build.
func (b *Backend) Resolve(context.Context, string) (string, error) { return "", errNoCgo }

// CreateKey fails: PKCS#11 modules need a cgo build.
func (b *Backend) CreateKey(context.Context, string) (string, error) { return "", errNoCgo }
