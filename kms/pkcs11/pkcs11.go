//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/miekg/pkcs11"
)

// formatKeyWrapPad is the first byte of wrapped keys made with
// CKM_AES_KEY_WRAP_PAD.
const formatKeyWrapPad = 1

// wrappedLen is the length of an RFC 5649 wrap of a 32-byte key.
const wrappedLen = kms.DataKeySize + 8

// Supported reports whether this build can use PKCS#11 modules: it needs
// cgo.
const Supported = true

// Backend is the PKCS#11 KMS backend. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	name   string
	mod    *module
	sem    chan struct{} // one token per session in use
	closed atomic.Bool
	// mu guards conn, its pool, and the PIN state.
	mu          sync.Mutex
	conn        *conn
	pinRejected bool
	pinError    error
}

var (
	_ kms.Wrapper    = (*Backend)(nil)
	_ kms.KeyCreator = (*Backend)(nil)
	_ kms.Resolver   = (*Backend)(nil)
)

// Open loads the module, finds the token and logs in. A module that does
// not load or an incomplete Config is an error; a token that cannot be
// reached or refuses the PIN is an error wrapping kms.ErrUnavailable. Once
// open, the backend reconnects by itself when the token comes back after
// an outage.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	switch {
	case cfg.Module == "":
		return nil, errors.New("pkcs11: no module (path of the PKCS#11 library) is configured")
	case cfg.TokenLabel == "":
		return nil, errors.New("pkcs11: no token label is configured")
	}
	mod, err := loadModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = defaultMaxSessions
	}
	b := &Backend{cfg: cfg, name: cfg.Name, mod: mod, sem: make(chan struct{}, cfg.MaxSessions)}
	if err := b.do(ctx, func(*pkcs11.Ctx, pkcs11.SessionHandle) error { return nil }); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// Name returns the backend's name, "pkcs11" unless configured otherwise.
func (b *Backend) Name() string { return b.name }

// Close logs out, closes the backend's sessions and, for the last backend
// of its module, finalizes and unloads the module.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	modules.mu.Lock()
	alone := b.mod.users == 1
	modules.mu.Unlock()
	b.mod.rw.Lock()
	b.closeConn(alone)
	b.mod.rw.Unlock()
	b.mod.release()
	return nil
}

// Wrap wraps dataKey inside the HSM under the key labelled keyName (the
// configured default key when keyName is ""); the ref is "pkcs11/<label>".
func (b *Backend) Wrap(ctx context.Context, keyName string, dataKey []byte) ([]byte, string, error) {
	if err := kms.CheckDataKey(dataKey); err != nil {
		return nil, "", err
	}
	label, err := b.label(keyName)
	if err != nil {
		return nil, "", err
	}
	var wrapped []byte
	err = b.do(ctx, func(p *pkcs11.Ctx, s pkcs11.SessionHandle) error {
		kek, err := b.find(p, s, label)
		if err != nil {
			return err
		}
		obj, err := p.CreateObject(s, dataKeyTemplate(dataKey))
		if err != nil {
			return fmt.Errorf("pkcs11: importing the data key: %w", err)
		}
		defer func() { _ = p.DestroyObject(s, obj) }()
		w, err := p.WrapKey(s, mechanism(), kek, obj)
		if err != nil {
			return fmt.Errorf("pkcs11: wrapping under key %q: %w", label, err)
		}
		wrapped = append([]byte{formatKeyWrapPad}, w...)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return wrapped, b.ref(label), nil
}

// Unwrap unwraps inside the HSM what Wrap returned under ref.
func (b *Backend) Unwrap(ctx context.Context, ref string, wrapped []byte) ([]byte, error) {
	backend, label, err := kms.SplitRef(ref)
	if err != nil {
		return nil, err
	}
	if backend != b.name || label == "" {
		return nil, kms.KeyNotFoundError("%s: %q is not a key reference of this backend", b.name, ref)
	}
	if len(wrapped) != 1+wrappedLen || wrapped[0] != formatKeyWrapPad {
		return nil, fmt.Errorf("%s: wrapped data key is malformed (%d bytes)", b.name, len(wrapped))
	}
	var dataKey []byte
	err = b.do(ctx, func(p *pkcs11.Ctx, s pkcs11.SessionHandle) error {
		kek, err := b.find(p, s, label)
		if err != nil {
			return err
		}
		obj, err := p.UnwrapKey(s, mechanism(), kek, wrapped[1:], unwrapTemplate())
		if err != nil {
			return fmt.Errorf("%s: key %q does not open this data key", b.name, label)
		}
		defer func() { _ = p.DestroyObject(s, obj) }()
		attrs, err := p.GetAttributeValue(s, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			return fmt.Errorf("%s: reading the unwrapped data key: %w", b.name, err)
		}
		if len(attrs) != 1 || len(attrs[0].Value) != kms.DataKeySize {
			return fmt.Errorf("%s: key %q unwrapped a data key of the wrong size", b.name, label)
		}
		dataKey = attrs[0].Value
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dataKey, nil
}

// Resolve returns the ref Wrap uses for keyName, after checking that the
// token holds that key.
func (b *Backend) Resolve(ctx context.Context, keyName string) (string, error) {
	label, err := b.label(keyName)
	if err != nil {
		return "", err
	}
	err = b.do(ctx, func(p *pkcs11.Ctx, s pkcs11.SessionHandle) error {
		_, err := b.find(p, s, label)
		return err
	})
	if err != nil {
		return "", err
	}
	return b.ref(label), nil
}

// CreateKey generates an AES-256 key-encryption key labelled label in the
// token: a token object that is sensitive, not extractable, and may only
// wrap and unwrap. It returns the key's ref; a label already in use is an
// error.
func (b *Backend) CreateKey(ctx context.Context, label string) (string, error) {
	if label == "" {
		return "", fmt.Errorf("%s: a key needs a label", b.name)
	}
	err := b.do(ctx, func(p *pkcs11.Ctx, s pkcs11.SessionHandle) error {
		_, err := b.find(p, s, label)
		switch {
		case err == nil:
			return fmt.Errorf("%s: token %q already holds a key labelled %q", b.name, b.cfg.TokenLabel, label)
		case !errors.Is(err, kms.ErrKeyNotFound):
			return err
		}
		gen := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}
		if _, err := p.GenerateKey(s, gen, kekTemplate(label)); err != nil {
			return fmt.Errorf("%s: generating key %q: %w", b.name, label, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return b.ref(label), nil
}

// label returns the label keyName selects.
func (b *Backend) label(keyName string) (string, error) {
	if keyName != "" {
		return keyName, nil
	}
	if b.cfg.DefaultKey == "" {
		return "", kms.KeyNotFoundError("%s: no key named and no default key configured", b.name)
	}
	return b.cfg.DefaultKey, nil
}

func (b *Backend) ref(label string) string { return b.name + "/" + label }

// find returns the AES secret key labelled label.
func (b *Backend) find(p *pkcs11.Ctx, s pkcs11.SessionHandle, label string) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
	if err := p.FindObjectsInit(s, tmpl); err != nil {
		return 0, fmt.Errorf("%s: looking up key %q: %w", b.name, label, err)
	}
	objs, _, err := p.FindObjects(s, 2)
	if ferr := p.FindObjectsFinal(s); err == nil {
		err = ferr
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s: looking up key %q: %w", b.name, label, err)
	case len(objs) == 0:
		return 0, kms.KeyNotFoundError("%s: key %q not found in token %q", b.name, label, b.cfg.TokenLabel)
	case len(objs) > 1:
		return 0, fmt.Errorf("%s: token %q holds several keys labelled %q", b.name, b.cfg.TokenLabel, label)
	}
	return objs[0], nil
}

func mechanism() []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}
}

// dataKeyTemplate imports a data key as a session object that may be
// wrapped.
func dataKeyTemplate(dataKey []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, dataKey),
	}
}

// unwrapTemplate makes the unwrapped data key a session object whose value
// can be read.
func unwrapTemplate() []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
	}
}

// kekTemplate describes a key-encryption key that never leaves the token.
func kekTemplate(label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
	}
}
