package kmstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/kms"
)

// Open opens a fresh backend for one subtest and returns it with the names
// of keys it holds (at least one; "" for the default key is always tried
// too). It registers its own cleanup with t.
type Open func(t *testing.T) (w kms.Wrapper, keyNames []string)

// Run runs the contract suite against the backend that open returns.
func Run(t *testing.T, open Open) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, w kms.Wrapper, names []string)
	}{
		{"RoundTrip", testRoundTrip},
		{"FreshWrapEachTime", testFreshWrap},
		{"Tampered", testTampered},
		{"OtherRef", testOtherRef},
		{"UnknownKey", testUnknownKey},
		{"ForeignRef", testForeignRef},
		{"DataKeyLength", testDataKeyLength},
		{"Concurrent", testConcurrent},
		{"Rotate", testRotate},
		{"CreateKey", testCreateKey},
		{"RotateKey", testRotateKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, names := open(t)
			if len(names) == 0 {
				t.Fatal("kmstest: open returned no key names")
			}
			tc.fn(t, w, names)
		})
	}
}

// dataKey returns a random data key; crypto/rand.Read does not fail.
func dataKey(testing.TB) []byte {
	k := make([]byte, kms.DataKeySize)
	_, _ = rand.Read(k)
	return k
}

// prefix is what every ref of w starts with.
func prefix(w kms.Wrapper) string { return w.Name() + "/" }

func testRoundTrip(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	for _, name := range append([]string{""}, names...) {
		dk := dataKey(t)
		wrapped, ref, err := w.Wrap(ctx, name, dk)
		if err != nil {
			t.Fatalf("Wrap(%q): %v", name, err)
		}
		if !strings.HasPrefix(ref, prefix(w)) {
			t.Errorf("Wrap(%q) ref = %q, want prefix %q", name, ref, prefix(w))
		}
		if bytes.Contains(wrapped, dk) {
			t.Errorf("Wrap(%q): wrapped bytes contain the data key", name)
		}
		got, err := w.Unwrap(ctx, ref, wrapped)
		if err != nil {
			t.Fatalf("Unwrap(%q): %v", ref, err)
		}
		if !bytes.Equal(got, dk) {
			t.Fatalf("Unwrap(%q) = %x, want %x", ref, got, dk)
		}
		if r, ok := w.(kms.Resolver); ok {
			res, err := r.Resolve(ctx, name)
			if err != nil || res != ref {
				t.Errorf("Resolve(%q) = %q, %v; want %q", name, res, err, ref)
			}
		}
	}
}

func testFreshWrap(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	dk := dataKey(t)
	a, refA, err := w.Wrap(ctx, names[0], dk)
	if err != nil {
		t.Fatal(err)
	}
	b, refB, err := w.Wrap(ctx, names[0], dk)
	if err != nil {
		t.Fatal(err)
	}
	if refA != refB {
		t.Errorf("two wraps under %q gave refs %q and %q", names[0], refA, refB)
	}
	for _, x := range [][]byte{a, b} {
		got, err := w.Unwrap(ctx, refA, x)
		if err != nil || !bytes.Equal(got, dk) {
			t.Fatalf("Unwrap = %x, %v", got, err)
		}
	}
}

func testTampered(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	dk := dataKey(t)
	wrapped, ref, err := w.Wrap(ctx, names[0], dk)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(wrapped) / 2, len(wrapped) - 1} {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 0x01
		got, err := w.Unwrap(ctx, ref, bad)
		if err == nil {
			t.Fatalf("Unwrap of a wrapped key with byte %d flipped succeeded (%x)", i, got)
		}
		if errors.Is(err, kms.ErrUnavailable) {
			t.Errorf("tampered key reported as unavailable: %v", err)
		}
	}
	for _, bad := range [][]byte{nil, wrapped[:len(wrapped)-1], append(bytes.Clone(wrapped), 0)} {
		if _, err := w.Unwrap(ctx, ref, bad); err == nil {
			t.Errorf("Unwrap of %d bytes succeeded", len(bad))
		}
	}
	// The good one still opens: a failure does not break the backend.
	if got, err := w.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap after failures = %x, %v", got, err)
	}
}

func testOtherRef(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	dk := dataKey(t)
	wrapped, ref, err := w.Wrap(ctx, names[0], dk)
	if err != nil {
		t.Fatal(err)
	}
	// Under every other key the backend holds: fails.
	for _, name := range names[1:] {
		_, other, err := w.Wrap(ctx, name, dataKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if other == ref {
			continue
		}
		if got, err := w.Unwrap(ctx, other, wrapped); err == nil {
			t.Errorf("data key wrapped under %q unwrapped under %q: %x", ref, other, got)
		}
	}
	// Under a key that does not exist: ErrKeyNotFound.
	missing := prefix(w) + "kmstest-no-such-key"
	if _, err := w.Unwrap(ctx, missing, wrapped); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("Unwrap(%q) error = %v, want ErrKeyNotFound", missing, err)
	}
}

func testUnknownKey(t *testing.T, w kms.Wrapper, _ []string) {
	ctx := context.Background()
	for _, name := range []string{"kmstest-no-such-key", "kmstest/slash"} {
		_, _, err := w.Wrap(ctx, name, dataKey(t))
		if !errors.Is(err, kms.ErrKeyNotFound) {
			t.Errorf("Wrap(%q) error = %v, want ErrKeyNotFound", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), name) {
			t.Errorf("Wrap(%q) error %q does not name the key", name, err)
		}
	}
}

func testForeignRef(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	wrapped, _, err := w.Wrap(ctx, names[0], dataKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"", "no-slash", "kmstest-other-backend/" + names[0]} {
		if _, err := w.Unwrap(ctx, ref, wrapped); !errors.Is(err, kms.ErrKeyNotFound) {
			t.Errorf("Unwrap(%q) error = %v, want ErrKeyNotFound", ref, err)
		}
	}
}

func testDataKeyLength(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	for _, n := range []int{0, 16, 31, 33, 64} {
		dk := make([]byte, n)
		if _, _, err := w.Wrap(ctx, names[0], dk); err == nil {
			t.Errorf("Wrap of a %d-byte data key succeeded", n)
		}
	}
}

func testConcurrent(t *testing.T, w kms.Wrapper, names []string) {
	ctx := context.Background()
	const workers, rounds = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := names[i%len(names)]
			for range rounds {
				dk := dataKey(t)
				wrapped, ref, err := w.Wrap(ctx, name, dk)
				if err != nil {
					errs <- err
					return
				}
				got, err := w.Unwrap(ctx, ref, wrapped)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, dk) {
					errs <- errors.New("kmstest: concurrent round trip gave another key")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testRotate checks a kms.Rotator: after a rotation the default key wraps
// under a new ref, and what was wrapped before still unwraps under its own
// ref only.
func testRotate(t *testing.T, w kms.Wrapper, _ []string) {
	r, ok := w.(kms.Rotator)
	if !ok {
		t.Skipf("%s does not implement kms.Rotator", w.Name())
	}
	ctx := context.Background()
	dk := dataKey(t)
	old, oldRef, err := w.Wrap(ctx, "", dk)
	if err != nil {
		t.Fatal(err)
	}
	newRef, err := r.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newRef == oldRef || !strings.HasPrefix(newRef, prefix(w)) {
		t.Fatalf("Rotate ref = %q (before: %q)", newRef, oldRef)
	}
	wrapped, ref, err := w.Wrap(ctx, "", dk)
	if err != nil || ref != newRef {
		t.Fatalf("Wrap after Rotate: ref %q, %v; want %q", ref, err, newRef)
	}
	if got, err := w.Unwrap(ctx, oldRef, old); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("Unwrap under the old version = %x, %v", got, err)
	}
	if got, err := w.Unwrap(ctx, newRef, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("Unwrap under the new version = %x, %v", got, err)
	}
	if _, err := w.Unwrap(ctx, newRef, old); err == nil {
		t.Error("a key wrapped under the old version unwrapped under the new ref")
	}
	if _, err := w.Unwrap(ctx, oldRef, wrapped); err == nil {
		t.Error("a key wrapped under the new version unwrapped under the old ref")
	}
}

// testCreateKey checks a kms.KeyCreator: a created key wraps and unwraps
// at once, under a ref of its own that no other key opens, and its name
// cannot be created twice.
func testCreateKey(t *testing.T, w kms.Wrapper, names []string) {
	kc, ok := w.(kms.KeyCreator)
	if !ok {
		t.Skipf("%s does not implement kms.KeyCreator", w.Name())
	}
	ctx := context.Background()
	const name = "kmstest-created"
	if _, _, err := w.Wrap(ctx, name, dataKey(t)); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Fatalf("Wrap(%q) before CreateKey: error = %v, want ErrKeyNotFound", name, err)
	}
	ref, err := kc.CreateKey(ctx, name)
	if err != nil {
		t.Fatalf("CreateKey(%q): %v", name, err)
	}
	if !strings.HasPrefix(ref, prefix(w)) {
		t.Errorf("CreateKey ref = %q, want prefix %q", ref, prefix(w))
	}
	dk := dataKey(t)
	wrapped, wref, err := w.Wrap(ctx, name, dk)
	if err != nil || wref != ref {
		t.Fatalf("Wrap(%q) = %q, %v; want %q", name, wref, err, ref)
	}
	if got, err := w.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap(%q) = %x, %v", ref, got, err)
	}
	for _, other := range names {
		_, oref, err := w.Wrap(ctx, other, dataKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if oref == ref {
			t.Fatalf("created key %q shares the ref %q of %q", name, ref, other)
		}
		if _, err := w.Unwrap(ctx, oref, wrapped); err == nil {
			t.Errorf("a data key wrapped under %q unwrapped under %q", ref, oref)
		}
	}
	if _, err := kc.CreateKey(ctx, name); err == nil {
		t.Errorf("CreateKey(%q) twice succeeded", name)
	}
	if got, err := w.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap after a refused CreateKey = %x, %v", got, err)
	}
}

// testRotateKey checks a kms.KeyRotator on the first named key: a new
// version wraps from then on, the old one still unwraps what it wrapped,
// and an unknown name is ErrKeyNotFound.
func testRotateKey(t *testing.T, w kms.Wrapper, names []string) {
	kr, ok := w.(kms.KeyRotator)
	if !ok {
		t.Skipf("%s does not implement kms.KeyRotator", w.Name())
	}
	ctx := context.Background()
	dk := dataKey(t)
	for _, name := range names {
		old, oldRef, err := w.Wrap(ctx, name, dk)
		if err != nil {
			t.Fatal(err)
		}
		newRef, err := kr.RotateKey(ctx, name)
		if err != nil {
			t.Fatalf("RotateKey(%q): %v", name, err)
		}
		if newRef == oldRef || !strings.HasPrefix(newRef, prefix(w)) {
			t.Fatalf("RotateKey(%q) ref = %q (before: %q)", name, newRef, oldRef)
		}
		wrapped, ref, err := w.Wrap(ctx, name, dk)
		if err != nil || ref != newRef {
			t.Fatalf("Wrap(%q) after RotateKey: ref %q, %v; want %q", name, ref, err, newRef)
		}
		if got, err := w.Unwrap(ctx, oldRef, old); err != nil || !bytes.Equal(got, dk) {
			t.Errorf("Unwrap under the old version = %x, %v", got, err)
		}
		if got, err := w.Unwrap(ctx, newRef, wrapped); err != nil || !bytes.Equal(got, dk) {
			t.Errorf("Unwrap under the new version = %x, %v", got, err)
		}
		if _, err := w.Unwrap(ctx, newRef, old); err == nil {
			t.Errorf("%q: a key wrapped under the old version unwrapped under the new ref", name)
		}
	}
	if _, err := kr.RotateKey(ctx, "kmstest-no-such-key"); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("RotateKey of an unknown key: error = %v, want ErrKeyNotFound", err)
	}
}
