package token

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newIssuer(t *testing.T) (*Issuer, *Keyring, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	ring, err := OpenKeyring(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	return NewIssuer(ring), ring, dir
}

func TestSealOpen(t *testing.T) {
	iss, ring, dir := newIssuer(t)
	now := time.Now().UTC().Truncate(time.Second)
	p := Payload{UserID: "u1", ProjectID: "p1", DomainID: "default", Roles: []string{"member"}, Methods: []string{"password"},
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuditID: NewAuditID()}
	tok, err := iss.Seal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := iss.Open(tok, now)
	if err != nil || got.UserID != "u1" || got.ProjectID != "p1" || got.Roles[0] != "member" || !got.ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := iss.Open(tok, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}

	// Any altered byte makes the token invalid.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x01
		if _, err := iss.Open(base64.RawURLEncoding.EncodeToString(bad), now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d altered: %v", i, err)
		}
	}
	for _, junk := range []string{"", "x", "!!!", base64.RawURLEncoding.EncodeToString([]byte{1, 0, 0, 0, 1}), string(make([]byte, MaxLength+1))} {
		if _, err := iss.Open(junk, now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q: %v", junk, err)
		}
	}

	// Rotation: old tokens open while their key is kept, then not.
	for range 2 {
		if err := ring.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := iss.Open(tok, now); err != nil {
		t.Fatalf("after 2 rotations with keep=3: %v", err)
	}
	tok2, _ := iss.Seal(p)
	if err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Open(tok, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token under a forgotten key: %v", err)
	}
	if _, err := iss.Open(tok2, now); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("%d key files, want 3", len(entries))
	}
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", fi.Mode())
		}
	}

	// Another process opening the same directory reads the same keys.
	ring2, err := OpenKeyring(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewIssuer(ring2).Open(tok2, now); err != nil {
		t.Fatalf("reloaded ring: %v", err)
	}

	iss.Revoke(p.AuditID, p.ExpiresAt)
	if _, err := iss.Open(tok2, now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked: %v", err)
	}
	iss.SetRevocations(map[string]time.Time{p.AuditID: now.Add(-time.Second)}, now)
	if iss.IsRevoked(p.AuditID) {
		t.Fatal("expired revocation kept")
	}
}

func TestKeyringRejectsBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "1"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyring(dir, 3); err == nil {
		t.Fatal("accepted a bad key file")
	}
}

func TestRotateIfOlder(t *testing.T) {
	_, ring, _ := newIssuer(t)
	id, _ := ring.primaryKey()
	if err := ring.RotateIfOlder(time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	if id2, _ := ring.primaryKey(); id2 != id {
		t.Fatal("rotated a fresh key")
	}
	if err := ring.RotateIfOlder(time.Hour, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if id2, _ := ring.primaryKey(); id2 != id+1 {
		t.Fatal("did not rotate an old key")
	}
}

func BenchmarkOpen(b *testing.B) {
	ring, err := OpenKeyring(b.TempDir(), 3)
	if err != nil {
		b.Fatal(err)
	}
	iss := NewIssuer(ring)
	now := time.Now()
	tok, _ := iss.Seal(Payload{UserID: "u", ProjectID: "p", Roles: []string{"member"}, Methods: []string{"password"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuditID: NewAuditID()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Open(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSharedKeyDirectory is two keyhaven instances on one key directory:
// a key one of them makes is staged, so the other has loaded it before it
// seals anything, and two rotations at once do not lose a key.
func TestSharedKeyDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	a, err := OpenKeyring(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenKeyring(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	a.Staging, b.Staging = time.Hour, time.Hour
	ia, ib := NewIssuer(a), NewIssuer(b)
	now := time.Now()
	p := Payload{UserID: "u", ProjectID: "p", Methods: []string{"password"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuditID: NewAuditID()}

	if err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	// a made key 2 but keeps sealing with key 1 while 2 is staged, so b,
	// which has not reloaded yet, still opens a's tokens.
	tok, err := ia.Seal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ib.Open(tok, now); err != nil {
		t.Fatalf("b cannot open a's token after a's rotation: %v", err)
	}
	// b rotates too without reloading: it must not overwrite a's key 2.
	if err := b.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	a.mu.RLock()
	k2a := append([]byte(nil), a.keys[2]...)
	a.mu.RUnlock()
	b.mu.RLock()
	k2b := b.keys[2]
	b.mu.RUnlock()
	if string(k2a) != string(k2b) {
		t.Fatal("two instances hold different keys under one id")
	}
	// Once staged long enough, both seal with the newest key and open
	// each other's tokens.
	a.Staging, b.Staging = time.Nanosecond, time.Nanosecond
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	tok2, _ := ia.Seal(p)
	if _, err := ib.Open(tok2, now); err != nil {
		t.Fatalf("b cannot open a's token sealed with the new key: %v", err)
	}
}
