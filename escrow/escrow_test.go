package escrow_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/kms/pkcs11"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
)

var ctx = context.Background()

var defaultEnc = keypair.Encryption{Type: "default"}

// privateKey returns a fresh Ed25519 private key in PKCS#8 PEM.
func privateKey(t testing.TB) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// withLocal returns an escrow over a local backend in a fresh directory.
func withLocal(t testing.TB) (*escrow.Escrow, *local.Backend) {
	t.Helper()
	loc, err := local.Open(filepath.Join(t.TempDir(), "kms-local"))
	if err != nil {
		t.Fatal(err)
	}
	return escrow.New(registry(t, loc)), loc
}

func registry(t testing.TB, backends ...kms.Wrapper) *kms.Registry {
	t.Helper()
	reg, err := kms.NewRegistry(local.Name, backends...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// withHSM returns an escrow over a local backend (the default) and a
// SoftHSM2 token holding kek-a (its default key) and kek-b.
func withHSM(t *testing.T) (*escrow.Escrow, *local.Backend, *softhsmtest.Token) {
	t.Helper()
	if !pkcs11.Supported {
		softhsmtest.Unavailable(t, "this test binary was built without cgo")
	}
	tok := softhsmtest.New(t, "escrow-test")
	hsm, err := pkcs11.Open(ctx, pkcs11.Config{Module: tok.Module, TokenLabel: tok.Label, PIN: tok.PIN, DefaultKey: "kek-a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hsm.Close() })
	for _, label := range []string{"kek-a", "kek-b"} {
		if _, err := hsm.CreateKey(ctx, label); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return escrow.New(registry(t, loc, hsm)), loc, tok
}

func seal(t testing.TB, e *escrow.Escrow, uid string, priv []byte, enc keypair.Encryption) *keypair.Escrowed {
	t.Helper()
	sealed, err := e.Seal(ctx, uid, priv, enc)
	if err != nil {
		t.Fatalf("Seal(%+v): %v", enc, err)
	}
	return sealed
}

func mustOpen(t testing.TB, e *escrow.Escrow, uid string, sealed *keypair.Escrowed, want []byte) {
	t.Helper()
	got, err := e.Open(ctx, uid, sealed)
	if err != nil {
		t.Fatalf("Open(%s): %v", sealed.KeyRef, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open(%s) returned another key", sealed.KeyRef)
	}
}

// wantCode checks the keypair code and reason of err.
func wantCode(t *testing.T, err error, code keypair.Code, reason keypair.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s/%s", code, reason)
	}
	if got := keypair.ErrorCode(err); got != code {
		t.Errorf("code = %s, want %s (%v)", got, code, err)
	}
	if got := keypair.ErrorReason(err); got != reason {
		t.Errorf("reason = %q, want %q (%v)", got, reason, err)
	}
}

func TestRoundTripLocal(t *testing.T) {
	e, _ := withLocal(t)
	priv := privateKey(t)
	for _, enc := range []keypair.Encryption{defaultEnc, {}, {Type: "kms", KMSKeyID: "local/master"}} {
		sealed := seal(t, e, "uid-1", priv, enc)
		if sealed.KeyRef != "local/master@v1" {
			t.Errorf("KeyRef = %q, want local/master@v1", sealed.KeyRef)
		}
		if bytes.Contains(sealed.Blob, priv) || bytes.Contains(sealed.Blob, priv[40:72]) {
			t.Fatal("the blob contains the plaintext private key")
		}
		mustOpen(t, e, "uid-1", sealed, priv)
	}
}

func TestFreshDataKeyPerSeal(t *testing.T) {
	e, _ := withLocal(t)
	priv := privateKey(t)
	a, b := seal(t, e, "uid", priv, defaultEnc), seal(t, e, "uid", priv, defaultEnc)
	if bytes.Equal(a.Blob, b.Blob) || bytes.Equal(a.Blob[len(a.Blob)-40:], b.Blob[len(b.Blob)-40:]) {
		t.Fatal("two seals of one key gave the same blob or ciphertext")
	}
}

func TestRoundTripPKCS11(t *testing.T) {
	e, _, _ := withHSM(t)
	priv := privateKey(t)
	for _, c := range []struct {
		enc keypair.Encryption
		ref string
	}{
		{keypair.Encryption{Type: "kms", KMSKeyName: "kek-a"}, "pkcs11/kek-a"},
		{keypair.Encryption{Type: "kms", KMSKeyID: "kek-b"}, "pkcs11/kek-b"},
		{keypair.Encryption{Type: "kms", KMSKeyID: "pkcs11/kek-b", KMSKeyName: "ignored"}, "pkcs11/kek-b"},
		{keypair.Encryption{Type: "kms"}, "pkcs11/kek-a"},
		{defaultEnc, "local/master@v1"},
	} {
		sealed := seal(t, e, "uid-2", priv, c.enc)
		if sealed.KeyRef != c.ref {
			t.Errorf("Seal(%+v) KeyRef = %q, want %q", c.enc, sealed.KeyRef, c.ref)
		}
		if bytes.Contains(sealed.Blob, priv) {
			t.Fatal("the blob contains the plaintext private key")
		}
		mustOpen(t, e, "uid-2", sealed, priv)
	}
}

func TestBlobBoundToUID(t *testing.T) {
	e, _ := withLocal(t)
	sealed := seal(t, e, "uid-a", privateKey(t), defaultEnc)
	got, err := e.Open(ctx, "uid-b", sealed)
	if err == nil {
		t.Fatalf("a blob opened for another key pair: %q", got)
	}
	if keypair.ErrorCode(err) != keypair.EINTERNAL || !strings.Contains(err.Error(), "escrow: sealed private key does not open") {
		t.Errorf("error = %v", err)
	}
	if _, err := e.Open(ctx, "uid-a\x00", sealed); err == nil {
		t.Error("uid with a trailing NUL opened")
	}
}

func TestTamperedBlob(t *testing.T) {
	e, _ := withLocal(t)
	priv := privateKey(t)
	sealed := seal(t, e, "uid", priv, defaultEnc)
	for i := range sealed.Blob {
		bad := &keypair.Escrowed{KeyRef: sealed.KeyRef, Blob: bytes.Clone(sealed.Blob)}
		bad.Blob[i] ^= 0x20
		got, err := e.Open(ctx, "uid", bad)
		if err == nil {
			t.Fatalf("blob with byte %d flipped opened: %q", i, got)
		}
		if keypair.ErrorCode(err) != keypair.EINTERNAL {
			t.Errorf("byte %d: code %s (%v), want internal", i, keypair.ErrorCode(err), err)
		}
		if bytes.Contains([]byte(err.Error()), priv[40:60]) {
			t.Fatal("an error shows the private key")
		}
	}
	for _, n := range []int{0, 1, 3, 20, len(sealed.Blob) - 1} {
		bad := &keypair.Escrowed{KeyRef: sealed.KeyRef, Blob: sealed.Blob[:n]}
		if _, err := e.Open(ctx, "uid", bad); err == nil {
			t.Errorf("blob truncated to %d bytes opened", n)
		}
	}
	if _, err := e.Open(ctx, "uid", &keypair.Escrowed{KeyRef: "local/master@v2", Blob: sealed.Blob}); err == nil {
		t.Error("a blob opened under a KeyRef that is not its own")
	}
	if _, err := e.Open(ctx, "uid", nil); err == nil {
		t.Error("Open(nil) succeeded")
	}
	// KeyRef may be left empty: the blob names its key.
	mustOpen(t, e, "uid", &keypair.Escrowed{Blob: sealed.Blob}, priv)
}

func TestWrongMasterKeyFailsClosed(t *testing.T) {
	dir := t.TempDir()
	loc, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := seal(t, escrow.New(registry(t, loc)), "uid", privateKey(t), defaultEnc)
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	if err := os.WriteFile(filepath.Join(dir, "master-v1.key"), []byte(base64.StdEncoding.EncodeToString(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	loc, err = local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := escrow.New(registry(t, loc)).Open(ctx, "uid", sealed)
	if err == nil {
		t.Fatalf("opened with another master key: %q", got)
	}
	want := "escrow: sealed private key does not open: local master key v1 does not open this data key: wrong key file?"
	if err.Error() != want || keypair.ErrorCode(err) != keypair.EINTERNAL {
		t.Errorf("error = %q (%s), want %q", err, keypair.ErrorCode(err), want)
	}
}

func TestUnknownKMSKey(t *testing.T) {
	e, _, _ := withHSM(t)
	priv := privateKey(t)
	_, err := e.Seal(ctx, "uid", priv, keypair.Encryption{Type: "kms", KMSKeyName: "nope"})
	wantCode(t, err, keypair.EINVALID, keypair.ReasonKMSKeyNotFound)
	if msg := keypair.ErrorMessage(err); msg != `KMS key "nope" not found` {
		t.Errorf("message = %q", msg)
	}
	if !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("%v does not wrap kms.ErrKeyNotFound", err)
	}
	_, err = e.Seal(ctx, "uid", priv, keypair.Encryption{Type: "kms", KMSKeyID: "local/other"})
	wantCode(t, err, keypair.EINVALID, keypair.ReasonKMSKeyNotFound)

	sealed := seal(t, e, "uid", priv, defaultEnc)
	_, err = e.Rewrap(ctx, "uid", sealed, "pkcs11/nope")
	wantCode(t, err, keypair.EINVALID, keypair.ReasonKMSKeyNotFound)
	_, err = e.Rewrap(ctx, "uid", sealed, "vault/transit")
	wantCode(t, err, keypair.EINVALID, keypair.ReasonKMSKeyNotFound)

	_, err = e.Seal(ctx, "uid", priv, keypair.Encryption{Type: "rot13"})
	wantCode(t, err, keypair.EINVALID, "")
}

// TestNamedKeysEmbedded: on the embedded defaults (local only) kms_key_name
// and kms_key_id name local keys; an unknown one is a KMS-key-not-found.
func TestNamedKeysEmbedded(t *testing.T) {
	e, loc := withLocal(t)
	if _, err := loc.CreateKey(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	priv := privateKey(t)
	for _, tc := range []struct {
		enc     keypair.Encryption
		wantRef string // "" = not found
	}{
		{keypair.Encryption{Type: "kms", KMSKeyName: "demo"}, "local/demo@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyName: "kps/default"}, "local/kps/default@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyID: "local/demo"}, "local/demo@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyID: "demo"}, "local/demo@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyID: "local/kps/default", KMSKeyName: "demo"}, "local/kps/default@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyName: "testName"}, ""},
		{keypair.Encryption{Type: "kms", KMSKeyName: "local/testName"}, ""},
		{keypair.Encryption{Type: "kms", KMSKeyName: "pkcs11/demo"}, ""},
		{keypair.Encryption{Type: "kms", KMSKeyName: "demo@v1"}, "local/demo@v1"},
		{keypair.Encryption{Type: "kms", KMSKeyName: "../demo"}, ""},
	} {
		sealed, err := e.Seal(ctx, "uid", priv, tc.enc)
		if tc.wantRef == "" {
			wantCode(t, err, keypair.EINVALID, keypair.ReasonKMSKeyNotFound)
			if err != nil && !strings.HasPrefix(keypair.ErrorMessage(err), "KMS key ") {
				t.Errorf("%+v: message = %q", tc.enc, keypair.ErrorMessage(err))
			}
			continue
		}
		if err != nil || sealed.KeyRef != tc.wantRef {
			t.Errorf("Seal(%+v) = %v, %v; want %s", tc.enc, sealed, err, tc.wantRef)
			continue
		}
		mustOpen(t, e, "uid", sealed, priv)
	}
	_, err := e.Seal(ctx, "uid", priv, keypair.Encryption{Type: "kms"})
	wantCode(t, err, keypair.EINVALID, "")
}

// TestNamedKeysBothBackends: a bare name is the HSM's when it holds it,
// the local backend's otherwise; a backend prefix picks one.
func TestNamedKeysBothBackends(t *testing.T) {
	e, loc, tok := withHSM(t)
	for _, name := range []string{"kek-b", "only-local"} {
		if _, err := loc.CreateKey(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	priv := privateKey(t)
	for _, tc := range []struct {
		name, wantRef string
	}{
		{"kek-b", "pkcs11/kek-b"},
		{"local/kek-b", "local/kek-b@v1"},
		{"pkcs11/kek-b", "pkcs11/kek-b"},
		{"only-local", "local/only-local@v1"},
		{"kps/default", "local/kps/default@v1"},
	} {
		sealed := seal(t, e, "uid", priv, keypair.Encryption{Type: "kms", KMSKeyName: tc.name})
		if sealed.KeyRef != tc.wantRef {
			t.Errorf("%s: KeyRef = %s, want %s", tc.name, sealed.KeyRef, tc.wantRef)
		}
	}
	// With the HSM gone, a bare name cannot be resolved (the HSM might hold
	// it): unavailable, not sealed under the local key of that name.
	tok.Remove(t)
	_, err := e.Seal(ctx, "uid", priv, keypair.Encryption{Type: "kms", KMSKeyName: "only-local"})
	wantCode(t, err, keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable)
	if s := seal(t, e, "uid", priv, keypair.Encryption{Type: "kms", KMSKeyName: "local/only-local"}); s.KeyRef != "local/only-local@v1" {
		t.Errorf("KeyRef = %s", s.KeyRef)
	}
	tok.Restore(t)
}

func TestHSMGone(t *testing.T) {
	e, _, tok := withHSM(t)
	priv := privateKey(t)
	enc := keypair.Encryption{Type: "kms", KMSKeyName: "kek-b"}
	sealed := seal(t, e, "uid", priv, enc)

	tok.Remove(t)
	_, err := e.Seal(ctx, "uid", priv, enc)
	wantCode(t, err, keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable)
	if !errors.Is(err, kms.ErrUnavailable) || errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("%v should wrap kms.ErrUnavailable only", err)
	}
	if msg := keypair.ErrorMessage(err); !strings.HasPrefix(msg, "the key management service is unavailable: ") {
		t.Errorf("message = %q", msg)
	}
	_, err = e.Open(ctx, "uid", sealed)
	wantCode(t, err, keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable)
	_, err = e.Rewrap(ctx, "uid", sealed, "local/master")
	wantCode(t, err, keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable)
	// The default (local) backend still works.
	mustOpen(t, e, "uid", seal(t, e, "uid", priv, defaultEnc), priv)

	tok.Restore(t)
	mustOpen(t, e, "uid", sealed, priv)
}

// stub is a backend that fails with a given error.
type stub struct{ err error }

func (s stub) Name() string { return "stub" }
func (s stub) Wrap(context.Context, string, []byte) ([]byte, string, error) {
	return nil, "", s.err
}
func (s stub) Unwrap(context.Context, string, []byte) ([]byte, error) { return nil, s.err }

func TestKMSErrorMapping(t *testing.T) {
	loc, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err    error
		code   keypair.Code
		reason keypair.Reason
	}{
		{kms.UnavailableError(nil, "stub: login to token %q failed: wrong PIN?", "t"), keypair.EUNAVAILABLE, keypair.ReasonKMSUnavailable},
		{kms.KeyNotFoundError("stub: no key"), keypair.EINVALID, keypair.ReasonKMSKeyNotFound},
		{errors.New("stub: broken"), keypair.EINTERNAL, ""},
	} {
		e := escrow.New(registry(t, loc, stub{c.err}))
		_, err := e.Seal(ctx, "uid", []byte("k"), keypair.Encryption{Type: "kms", KMSKeyName: "x"})
		wantCode(t, err, c.code, c.reason)
		if !errors.Is(err, c.err) {
			t.Errorf("%v does not wrap %v", err, c.err)
		}
	}
}

func TestRewrapLocalRotation(t *testing.T) {
	e, loc := withLocal(t)
	priv := privateKey(t)
	sealed := seal(t, e, "uid", priv, defaultEnc)
	if _, err := loc.Rotate(); err != nil {
		t.Fatal(err)
	}
	moved, err := e.Rewrap(ctx, "uid", sealed, "local/master")
	if err != nil {
		t.Fatal(err)
	}
	if moved.KeyRef != "local/master@v2" {
		t.Errorf("KeyRef = %q, want local/master@v2", moved.KeyRef)
	}
	// The private key was not re-encrypted: nonce and ciphertext are kept.
	tail := len(priv) + 16 + 12
	if !bytes.Equal(moved.Blob[len(moved.Blob)-tail:], sealed.Blob[len(sealed.Blob)-tail:]) {
		t.Error("Rewrap changed the nonce or ciphertext")
	}
	mustOpen(t, e, "uid", moved, priv)
	mustOpen(t, e, "uid", sealed, priv) // v1 is kept until every blob moved

	// Without v1, only the rewrapped blob opens.
	if err := os.Remove(filepath.Join(loc.Dir(), "master-v1.key")); err != nil {
		t.Fatal(err)
	}
	e2, _ := reopen(t, loc.Dir())
	mustOpen(t, e2, "uid", moved, priv)
	if _, err := e2.Open(ctx, "uid", sealed); err == nil {
		t.Error("a blob under a deleted master key version opened")
	}
}

func reopen(t *testing.T, dir string) (*escrow.Escrow, *local.Backend) {
	t.Helper()
	loc, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return escrow.New(registry(t, loc)), loc
}

func TestRewrapAcrossBackends(t *testing.T) {
	e, _, _ := withHSM(t)
	priv := privateKey(t)
	sealed := seal(t, e, "uid", priv, defaultEnc)
	toHSM, err := e.Rewrap(ctx, "uid", sealed, "pkcs11/kek-b")
	if err != nil {
		t.Fatal(err)
	}
	if toHSM.KeyRef != "pkcs11/kek-b" {
		t.Errorf("KeyRef = %q", toHSM.KeyRef)
	}
	mustOpen(t, e, "uid", toHSM, priv)
	back, err := e.Rewrap(ctx, "uid", toHSM, "local/master")
	if err != nil {
		t.Fatal(err)
	}
	if back.KeyRef != "local/master@v1" {
		t.Errorf("KeyRef = %q", back.KeyRef)
	}
	mustOpen(t, e, "uid", back, priv)
	// Rewrap keeps the uid binding.
	if _, err := e.Open(ctx, "other", toHSM); err == nil {
		t.Error("a rewrapped blob opened for another key pair")
	}
}

func TestSealRefusesEmptyInput(t *testing.T) {
	e, _ := withLocal(t)
	if _, err := e.Seal(ctx, "", []byte("k"), defaultEnc); err == nil {
		t.Error("Seal without a uid succeeded")
	}
	if _, err := e.Seal(ctx, "uid", nil, defaultEnc); err == nil {
		t.Error("Seal of an empty key succeeded")
	}
}

func BenchmarkSeal(b *testing.B) {
	e, _ := withLocal(b)
	priv := privateKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Seal(ctx, "uid", priv, defaultEnc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	e, _ := withLocal(b)
	priv := privateKey(b)
	sealed := seal(b, e, "uid", priv, defaultEnc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Open(ctx, "uid", sealed); err != nil {
			b.Fatal(err)
		}
	}
}
