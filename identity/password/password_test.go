package password

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fast keeps the tests quick; the format and logic are the same.
var fast = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fast, 2)
	hash, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(hash, "correct") {
		t.Fatalf("hash %q", hash)
	}
	if err := h.Verify(ctx, hash, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(ctx, hash, "correct horsE"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	hash2, _ := h.Hash(ctx, "correct horse")
	if hash2 == hash {
		t.Fatal("same salt twice")
	}
	// A hash made with other parameters still verifies.
	if err := NewHasher(Default, 1).Verify(ctx, hash, "correct horse"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if err := h.Verify(ctx, bad, "x"); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestHashHonoursContext(t *testing.T) {
	h := NewHasher(fast, 1)
	h.sem <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(Default, 1)
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}
