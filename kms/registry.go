package kms

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Registry is a set of named backends, one of them the default. cmd builds
// it from its table of configured backends; it is read-only afterwards and
// safe for concurrent use.
type Registry struct {
	def      string
	order    []string
	backends map[string]Wrapper
}

// NewRegistry returns a registry of backends, keyed by their Name, whose
// default is the backend called defaultBackend. Names must be non-empty,
// free of "/" and unique, and the default must be among them.
func NewRegistry(defaultBackend string, backends ...Wrapper) (*Registry, error) {
	r := &Registry{def: defaultBackend, backends: make(map[string]Wrapper, len(backends))}
	for _, b := range backends {
		if b == nil {
			return nil, errors.New("kms: nil backend")
		}
		name := b.Name()
		if name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("kms: invalid backend name %q", name)
		}
		if _, dup := r.backends[name]; dup {
			return nil, fmt.Errorf("kms: backend %q given twice", name)
		}
		r.backends[name] = b
		r.order = append(r.order, name)
	}
	if _, ok := r.backends[defaultBackend]; !ok {
		return nil, fmt.Errorf("kms: default backend %q is not configured (have %s)", defaultBackend, strings.Join(r.order, ", "))
	}
	return r, nil
}

// Default returns the default backend.
func (r *Registry) Default() Wrapper { return r.backends[r.def] }

// Backend returns the backend called name, or an error wrapping
// ErrKeyNotFound.
func (r *Registry) Backend(name string) (Wrapper, error) {
	b, ok := r.backends[name]
	if !ok {
		return nil, KeyNotFoundError("kms: no backend %q is configured", name)
	}
	return b, nil
}

// ForRef returns the backend that owns ref ("pkcs11/…" → the pkcs11
// backend) and the key part of ref, or an error wrapping ErrKeyNotFound.
func (r *Registry) ForRef(ref string) (Wrapper, string, error) {
	name, key, err := SplitRef(ref)
	if err != nil {
		return nil, "", err
	}
	b, err := r.Backend(name)
	if err != nil {
		return nil, "", err
	}
	return b, key, nil
}

// External returns the external KMS: the first backend, in the order given
// to NewRegistry, that is not the embedded LocalBackend. ok is false when
// only the embedded backend is configured.
func (r *Registry) External() (w Wrapper, ok bool) {
	for _, name := range r.order {
		if name != LocalBackend {
			return r.backends[name], true
		}
	}
	return nil, false
}

// SearchOrder returns the backends a bare key name (one that does not
// start with a backend's name and "/") is looked up in: every external KMS
// in the order given to NewRegistry, then the embedded LocalBackend when it
// is configured. A name held by both is therefore the external KMS's; a
// caller who means the embedded one writes "local/NAME".
func (r *Registry) SearchOrder() []Wrapper {
	out := make([]Wrapper, 0, len(r.order))
	for _, name := range r.order {
		if name != LocalBackend {
			out = append(out, r.backends[name])
		}
	}
	if b, ok := r.backends[LocalBackend]; ok {
		out = append(out, b)
	}
	return out
}

// Names returns the backend names in the order given to NewRegistry.
func (r *Registry) Names() []string { return append([]string(nil), r.order...) }

// Close closes every backend that implements io.Closer and returns their
// errors joined.
func (r *Registry) Close() error {
	var errs []error
	for _, name := range r.order {
		if c, ok := r.backends[name].(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("kms: closing %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}
