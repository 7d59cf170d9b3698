//go:build cgo

package pkcs11_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/kmstest"
	khpkcs11 "github.com/keyhaven/keyhaven/kms/pkcs11"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
	"github.com/miekg/pkcs11"
)

const tokenLabel = "keyhaven-test"

// setup makes a token with the keys kek-a and kek-b and opens a backend on
// it whose default key is kek-a.
func setup(t *testing.T) (*softhsmtest.Token, *khpkcs11.Backend) {
	t.Helper()
	tok := softhsmtest.New(t, tokenLabel)
	b := open(t, config(tok))
	for _, label := range []string{"kek-a", "kek-b"} {
		if ref, err := b.CreateKey(context.Background(), label); err != nil || ref != "pkcs11/"+label {
			t.Fatalf("CreateKey(%q) = %q, %v", label, ref, err)
		}
	}
	return tok, b
}

func config(tok *softhsmtest.Token) khpkcs11.Config {
	return khpkcs11.Config{Module: tok.Module, TokenLabel: tok.Label, PIN: tok.PIN, DefaultKey: "kek-a"}
}

func open(t *testing.T, cfg khpkcs11.Config) *khpkcs11.Backend {
	t.Helper()
	b, err := khpkcs11.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestContract(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) (kms.Wrapper, []string) {
		_, b := setup(t)
		return b, []string{"kek-a", "kek-b"}
	})
}

func dataKey(b byte) []byte { return bytes.Repeat([]byte{b}, kms.DataKeySize) }

func TestWrongPIN(t *testing.T) {
	tok := softhsmtest.New(t, tokenLabel)
	cfg := config(tok)
	cfg.PIN = "987654"
	b, err := khpkcs11.Open(context.Background(), cfg)
	if err == nil {
		b.Close()
		t.Fatal("Open with a wrong PIN succeeded")
	}
	if !errors.Is(err, kms.ErrUnavailable) {
		t.Errorf("error %v does not wrap ErrUnavailable", err)
	}
	want := `pkcs11: login to token "keyhaven-test" failed: wrong PIN?`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), cfg.PIN) || strings.Contains(cfg.String(), cfg.PIN) {
		t.Error("the PIN shows in an error or in Config.String")
	}
	// The right PIN still works: the failure did not leave the module in a
	// bad state.
	open(t, config(tok))
}

func TestUnknownTokenAndModule(t *testing.T) {
	tok := softhsmtest.New(t, tokenLabel)
	cfg := config(tok)
	cfg.TokenLabel = "no-such-token"
	if _, err := khpkcs11.Open(context.Background(), cfg); !errors.Is(err, kms.ErrUnavailable) || !strings.Contains(err.Error(), "no-such-token") {
		t.Errorf("unknown token: error %v, want ErrUnavailable naming the token", err)
	}
	cfg = config(tok)
	cfg.Module = "/nonexistent/libnothing.so"
	if _, err := khpkcs11.Open(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "cannot load module") {
		t.Errorf("bad module: error %v", err)
	}
	for _, cfg := range []khpkcs11.Config{{TokenLabel: "x"}, {Module: tok.Module}} {
		if _, err := khpkcs11.Open(context.Background(), cfg); err == nil {
			t.Errorf("Open(%v) succeeded", cfg)
		}
	}
}

func TestNoDefaultKey(t *testing.T) {
	tok, _ := setup(t)
	cfg := config(tok)
	cfg.DefaultKey = ""
	b := open(t, cfg)
	if _, _, err := b.Wrap(context.Background(), "", dataKey(1)); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("Wrap without a default key: %v, want ErrKeyNotFound", err)
	}
	if _, ref, err := b.Wrap(context.Background(), "kek-b", dataKey(1)); err != nil || ref != "pkcs11/kek-b" {
		t.Errorf("Wrap(kek-b) = %q, %v", ref, err)
	}
}

func TestCustomName(t *testing.T) {
	tok, _ := setup(t)
	cfg := config(tok)
	cfg.Name = "hsm2"
	b := open(t, cfg)
	w, ref, err := b.Wrap(context.Background(), "", dataKey(2))
	if err != nil || ref != "hsm2/kek-a" || b.Name() != "hsm2" {
		t.Fatalf("Wrap = %q, %v (name %q)", ref, err, b.Name())
	}
	if _, err := b.Unwrap(context.Background(), "pkcs11/kek-a", w); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("Unwrap under another backend's name: %v", err)
	}
}

func TestCreateKey(t *testing.T) {
	tok, b := setup(t)
	ctx := context.Background()
	if _, err := b.CreateKey(ctx, "kek-a"); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("CreateKey of an existing label: %v", err)
	}
	if _, err := b.CreateKey(ctx, ""); err == nil {
		t.Error("CreateKey without a label succeeded")
	}
	if ref, err := b.Resolve(ctx, ""); err != nil || ref != "pkcs11/kek-a" {
		t.Errorf("Resolve(\"\") = %q, %v", ref, err)
	}

	// Read the key's attributes through a handle of our own on the module.
	p, _, s := raw(t, tok)
	defer p.CloseSession(s)
	if err := p.FindObjectsInit(s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, "kek-a")}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := p.FindObjects(s, 2)
	p.FindObjectsFinal(s)
	if err != nil || len(objs) != 1 {
		t.Fatalf("FindObjects = %v, %v", objs, err)
	}
	attrs, err := p.GetAttributeValue(s, objs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, nil),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, nil),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 1, 1, 1, 1}
	for i, a := range attrs[:5] {
		if len(a.Value) != 1 || a.Value[0] != want[i] {
			t.Errorf("attribute %#x = %v, want %d", a.Type, a.Value, want[i])
		}
	}
	if n := attrs[5].Value; len(n) == 0 || n[0] != 32 {
		t.Errorf("CKA_VALUE_LEN = %v, want 32", n)
	}
	// The key's value cannot be read.
	if _, err := p.GetAttributeValue(s, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)}); err == nil {
		t.Error("the KEK's value could be read")
	}
}

// raw opens a session of our own on the token, sharing the module state of
// the backends of this process. The caller must not finalize it.
func raw(t *testing.T, tok *softhsmtest.Token) (*pkcs11.Ctx, uint, pkcs11.SessionHandle) {
	t.Helper()
	p := pkcs11.New(tok.Module)
	if p == nil {
		t.Fatal("cannot load the module")
	}
	t.Cleanup(p.Destroy)
	if err := p.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatal(err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, slot := range slots {
		if ti, err := p.GetTokenInfo(slot); err == nil && ti.Label == tok.Label {
			s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
			if err != nil {
				t.Fatal(err)
			}
			return p, slot, s
		}
	}
	t.Fatal("token not found")
	return nil, 0, 0
}

// TestTokenGoneAndBack: an HSM that goes away gives ErrUnavailable (not
// ErrKeyNotFound), and the same backend works again once it is back.
func TestTokenGoneAndBack(t *testing.T) {
	tok, b := setup(t)
	ctx := context.Background()
	w, ref, err := b.Wrap(ctx, "", dataKey(3))
	if err != nil {
		t.Fatal(err)
	}
	tok.Remove(t)
	if _, _, err := b.Wrap(ctx, "", dataKey(3)); !errors.Is(err, kms.ErrUnavailable) || errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("Wrap with the token gone: %v, want ErrUnavailable only", err)
	}
	if _, err := b.Unwrap(ctx, ref, w); !errors.Is(err, kms.ErrUnavailable) {
		t.Errorf("Unwrap with the token gone: %v, want ErrUnavailable", err)
	}
	if _, err := b.CreateKey(ctx, "kek-c"); !errors.Is(err, kms.ErrUnavailable) {
		t.Errorf("CreateKey with the token gone: %v, want ErrUnavailable", err)
	}
	tok.Restore(t)
	got, err := b.Unwrap(ctx, ref, w)
	if err != nil || !bytes.Equal(got, dataKey(3)) {
		t.Fatalf("Unwrap with the token back = %x, %v", got, err)
	}
	if _, _, err := b.Wrap(ctx, "kek-b", dataKey(3)); err != nil {
		t.Fatalf("Wrap with the token back: %v", err)
	}
}

// TestSessionsClosedBehindItsBack: sessions that die under the backend
// (CKR_SESSION_HANDLE_INVALID) are replaced without the caller noticing.
func TestSessionsClosedBehindItsBack(t *testing.T) {
	tok, b := setup(t)
	ctx := context.Background()
	w, ref, err := b.Wrap(ctx, "", dataKey(4))
	if err != nil {
		t.Fatal(err)
	}
	p, slot, _ := raw(t, tok)
	if err := p.CloseAllSessions(slot); err != nil {
		t.Fatal(err)
	}
	got, err := b.Unwrap(ctx, ref, w)
	if err != nil || !bytes.Equal(got, dataKey(4)) {
		t.Fatalf("Unwrap after the sessions were closed = %x, %v", got, err)
	}
}

func TestTwoBackendsShareTheModule(t *testing.T) {
	tok, a := setup(t)
	ctx := context.Background()
	b, err := khpkcs11.Open(ctx, config(tok))
	if err != nil {
		t.Fatal(err)
	}
	w, ref, err := b.Wrap(ctx, "", dataKey(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Unwrap(ctx, ref, w); err != nil || !bytes.Equal(got, dataKey(5)) {
		t.Fatalf("Unwrap after another backend closed = %x, %v", got, err)
	}
}

func TestClose(t *testing.T) {
	_, b := setup(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := b.Wrap(context.Background(), "", dataKey(6)); err == nil {
		t.Fatal("Wrap after Close succeeded")
	}
}

func TestConcurrentOutage(t *testing.T) {
	tok, b := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				// Errors are expected while the token is away; no panic,
				// no deadlock, and only the two kinds of failure.
				w, ref, err := b.Wrap(ctx, "", dataKey(byte(i)))
				if err == nil {
					_, err = b.Unwrap(ctx, ref, w)
				}
				if err != nil && !errors.Is(err, kms.ErrUnavailable) {
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	tok.Remove(t)
	time.Sleep(20 * time.Millisecond)
	tok.Restore(t)
	wg.Wait()
	if _, _, err := b.Wrap(ctx, "", dataKey(7)); err != nil {
		t.Fatalf("Wrap after the outage: %v", err)
	}
}

// TestPINChangedWhileRunning: when the token's PIN changes under a running
// backend, its next login fails with "wrong PIN?" and it stops trying the
// old PIN (which could lock the token), without a panic.
func TestPINChangedWhileRunning(t *testing.T) {
	tok, b := setup(t)
	ctx := context.Background()
	p, slot, _ := raw(t, tok)
	s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	// The backend's login covers this session too: the module's state is
	// per process.
	if err := p.SetPIN(s, tok.PIN, "424242"); err != nil {
		t.Fatalf("SetPIN: %v", err)
	}
	if err := p.CloseAllSessions(slot); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _, err := b.Wrap(ctx, "", dataKey(8))
		if !errors.Is(err, kms.ErrUnavailable) || !strings.Contains(err.Error(), "wrong PIN?") {
			t.Fatalf("Wrap after the PIN changed: %v", err)
		}
		if strings.Contains(err.Error(), tok.PIN) {
			t.Fatalf("error %q shows the PIN", err)
		}
	}
}

func TestMaxSessions(t *testing.T) {
	tok, _ := setup(t)
	cfg := config(tok)
	cfg.MaxSessions = 1
	b := open(t, cfg)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, ref, err := b.Wrap(ctx, "kek-b", dataKey(byte(i)))
			if err == nil {
				_, err = b.Unwrap(ctx, ref, w)
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := b.Wrap(cancelled, "", dataKey(9)); !errors.Is(err, context.Canceled) {
		t.Errorf("Wrap with a cancelled context: %v", err)
	}
}
