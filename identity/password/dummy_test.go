package password

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestDummyHash checks that the dummy hash has the Hasher's parameters,
// matches no password and costs one argon2id computation to check.
func TestDummyHash(t *testing.T) {
	h := NewHasher(fast, 1)
	d := h.DummyHash()
	if !strings.HasPrefix(d, "$argon2id$v=19$m=64,t=1,p=1$") || d == h.DummyHash() {
		t.Fatalf("dummy %q", d)
	}
	real, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != len(real) {
		t.Fatalf("dummy %q and real %q differ in shape", d, real)
	}
	before := h.Checks()
	for _, pw := range []string{"", "pw", "anything"} {
		if err := h.Verify(context.Background(), d, pw); !errors.Is(err, ErrMismatch) {
			t.Fatalf("%q: %v", pw, err)
		}
	}
	if got := h.Checks() - before; got != 3 {
		t.Fatalf("%d argon2id computations for 3 checks", got)
	}
}
