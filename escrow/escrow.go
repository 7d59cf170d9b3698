package escrow

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
)

// adPrefix starts the associated data of every sealed private key; the key
// pair's uid follows it.
const adPrefix = "keyhaven-escrow-v1\x00"

// Escrow seals private keys under the KMS backends of a registry. It is
// safe for concurrent use.
type Escrow struct {
	reg *kms.Registry
}

var _ keypair.Escrow = (*Escrow)(nil)

// New returns an Escrow whose default backend and external KMS are those of
// reg.
func New(reg *kms.Registry) *Escrow { return &Escrow{reg: reg} }

// Seal encrypts privateKey for the key pair uid under a fresh data key and
// wraps the data key with the KMS key enc selects: Type "default" (or "")
// the registry's default backend and its default key; Type "kms" the key
// named by KMSKeyID or KMSKeyName, as choose resolves it.
// The returned KeyRef is the ref of the KMS key version used.
func (e *Escrow) Seal(ctx context.Context, uid string, privateKey []byte, enc keypair.Encryption) (*keypair.Escrowed, error) {
	if uid == "" {
		return nil, errors.New("escrow: a key pair uid is required")
	}
	if len(privateKey) == 0 {
		return nil, errors.New("escrow: no private key to seal")
	}
	cands, shown, err := e.choose(enc)
	if err != nil {
		return nil, err
	}
	dataKey := make([]byte, kms.DataKeySize)
	defer clear(dataKey)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("escrow: generating a data key: %w", err)
	}
	w, wrapped, ref, err := wrap(ctx, cands, dataKey)
	if err != nil {
		return nil, kmsError(err, shown)
	}
	if backend, _, err := kms.SplitRef(ref); err != nil || backend != w.Name() {
		return nil, fmt.Errorf("escrow: backend %s returned the ref %q, not one of its own", w.Name(), ref)
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("escrow: generating a nonce: %w", err)
	}
	b := &blob{ref: ref, wrapped: wrapped, nonce: nonce, ciphertext: aead.Seal(nil, nonce, privateKey, ad(uid))}
	data, err := b.marshal()
	if err != nil {
		return nil, err
	}
	return &keypair.Escrowed{KeyRef: ref, Blob: data}, nil
}

// Open decrypts what Seal made for uid.
func (e *Escrow) Open(ctx context.Context, uid string, sealed *keypair.Escrowed) ([]byte, error) {
	b, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	dataKey, err := e.unwrap(ctx, b)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, b.nonce, b.ciphertext, ad(uid))
	if err != nil {
		return nil, doesNotOpen(errors.New("it was sealed for another key pair, or was tampered with"))
	}
	return plain, nil
}

// Rewrap moves the data key of sealed to the KMS key toRef: "local/master"
// (the latest version of the local master key), "pkcs11/<label>", or any
// ref a backend accepts as a key name. The nonce and ciphertext are kept as
// they are; the private key is not decrypted, so uid, which the ciphertext
// stays bound to, is not needed.
func (e *Escrow) Rewrap(ctx context.Context, uid string, sealed *keypair.Escrowed, toRef string) (*keypair.Escrowed, error) {
	_ = uid
	b, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	w, keyName, err := e.reg.ForRef(toRef)
	if err != nil {
		return nil, kmsError(err, toRef)
	}
	dataKey, err := e.unwrap(ctx, b)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	wrapped, ref, err := w.Wrap(ctx, keyName, dataKey)
	if err != nil {
		return nil, kmsError(err, toRef)
	}
	nb := &blob{ref: ref, wrapped: wrapped, nonce: b.nonce, ciphertext: b.ciphertext}
	data, err := nb.marshal()
	if err != nil {
		return nil, err
	}
	return &keypair.Escrowed{KeyRef: ref, Blob: data}, nil
}

// candidate is a backend and the name of a key in it.
type candidate struct {
	w   kms.Wrapper
	key string
}

// choose returns the backends and key names enc may select, in the order
// they are tried, and how to name the key in errors. The key is KMSKeyID
// when given (keyhaven's key ids are the refs `keyhaven kms create-key`
// prints, "local/demo"), else KMSKeyName. A key whose part before the first
// "/" is a configured backend names that backend ("local/demo",
// "pkcs11/kek-2"); any other is looked up in every external KMS, then in
// the embedded one (Registry.SearchOrder), so "kps/default" and "demo"
// work on the embedded defaults and a name both hold is the HSM's.
func (e *Escrow) choose(enc keypair.Encryption) ([]candidate, string, error) {
	switch enc.Type {
	case "", "default":
		return []candidate{{w: e.reg.Default()}}, "default", nil
	case "kms":
	default:
		return nil, "", keypair.Errorf(keypair.EINVALID, "unknown encryption type %q", enc.Type)
	}
	name := enc.KMSKeyID
	if name == "" {
		name = enc.KMSKeyName
	}
	if name == "" {
		// No name: the external KMS's own default key, if it has one.
		if w, ok := e.reg.External(); ok {
			return []candidate{{w: w}}, w.Name() + " default", nil
		}
		return nil, "", keypair.Errorf(keypair.EINVALID, "Encryption type kms needs kms_key_name or kms_key_id.")
	}
	if backend, key, ok := strings.Cut(name, "/"); ok {
		if w, err := e.reg.Backend(backend); err == nil {
			return []candidate{{w: w, key: key}}, name, nil
		}
	}
	var out []candidate
	for _, w := range e.reg.SearchOrder() {
		out = append(out, candidate{w: w, key: name})
	}
	return out, name, nil
}

// wrap wraps dataKey under the first candidate that holds its key: a
// backend that does not know the key passes to the next, any other
// failure (an HSM that is down) stops, so that a key is never sealed
// under another backend's key of the same name because the first could
// not be asked. When none holds it, the first backend's error is reported.
func wrap(ctx context.Context, cands []candidate, dataKey []byte) (kms.Wrapper, []byte, string, error) {
	var first error
	for _, c := range cands {
		wrapped, ref, err := c.w.Wrap(ctx, c.key, dataKey)
		if err == nil {
			return c.w, wrapped, ref, nil
		}
		if !errors.Is(err, kms.ErrKeyNotFound) {
			return nil, nil, "", err
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = kms.KeyNotFoundError("kms: no backend to look the key up in")
	}
	return nil, nil, "", first
}

// unwrap returns the data key of b.
func (e *Escrow) unwrap(ctx context.Context, b *blob) ([]byte, error) {
	w, _, err := e.reg.ForRef(b.ref)
	if err != nil {
		return nil, kmsError(err, b.ref)
	}
	dataKey, err := w.Unwrap(ctx, b.ref, b.wrapped)
	if err != nil {
		if errors.Is(err, kms.ErrUnavailable) || errors.Is(err, kms.ErrKeyNotFound) {
			return nil, kmsError(err, b.ref)
		}
		return nil, doesNotOpen(err)
	}
	if len(dataKey) != kms.DataKeySize {
		clear(dataKey)
		return nil, doesNotOpen(fmt.Errorf("backend %s returned a data key of %d bytes", w.Name(), len(dataKey)))
	}
	return dataKey, nil
}

// parse checks and decodes sealed.
func parse(sealed *keypair.Escrowed) (*blob, error) {
	if sealed == nil {
		return nil, errors.New("escrow: no sealed private key")
	}
	b, err := parseBlob(sealed.Blob)
	if err != nil {
		return nil, doesNotOpen(err)
	}
	if sealed.KeyRef != "" && sealed.KeyRef != b.ref {
		return nil, doesNotOpen(fmt.Errorf("its key ref %q is not the blob's %q", sealed.KeyRef, b.ref))
	}
	return b, nil
}

func ad(uid string) []byte { return []byte(adPrefix + uid) }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("escrow: %w", err)
	}
	return cipher.NewGCM(block)
}

// doesNotOpen is the internal error of a blob that does not open.
func doesNotOpen(err error) error {
	return fmt.Errorf("escrow: sealed private key does not open: %w", err)
}

// kmsFailure is a keypair error for the user that also wraps the KMS error,
// so that errors.Is(err, kms.ErrUnavailable) works and logs show the cause.
type kmsFailure struct {
	app   *keypair.Error
	cause error
}

// Error is the keypair error's text, with the KMS's own words when they are
// not already part of it.
func (f *kmsFailure) Error() string {
	msg, cause := f.app.Error(), f.cause.Error()
	if strings.Contains(msg, cause) {
		return msg
	}
	return msg + " (" + cause + ")"
}

func (f *kmsFailure) Unwrap() []error { return []error{f.app, f.cause} }

// kmsError turns a KMS error into the keypair error users see; key names
// the KMS key as the user gave it.
func kmsError(err error, key string) error {
	switch {
	case errors.Is(err, kms.ErrUnavailable):
		app := keypair.Errorf(keypair.EUNAVAILABLE, "the key management service is unavailable: %v", err)
		return &kmsFailure{app: app.WithReason(keypair.ReasonKMSUnavailable), cause: err}
	case errors.Is(err, kms.ErrKeyNotFound):
		app := keypair.Errorf(keypair.EINVALID, "KMS key %q not found", key)
		return &kmsFailure{app: app.WithReason(keypair.ReasonKMSKeyNotFound), cause: err}
	}
	return fmt.Errorf("escrow: %w", err)
}
