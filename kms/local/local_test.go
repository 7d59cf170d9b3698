package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/kmstest"
	"github.com/keyhaven/keyhaven/kms/local"
)

func open(t *testing.T, dir string) *local.Backend {
	t.Helper()
	b, err := local.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}

func TestContract(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) (kms.Wrapper, []string) {
		return open(t, filepath.Join(t.TempDir(), "kms-local")), []string{local.KeyName}
	})
}

// TestContractNamedKeys runs the contract suite over named keys: demo,
// made with CreateKey, and kps/default, made by Open.
func TestContractNamedKeys(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) (kms.Wrapper, []string) {
		b := open(t, filepath.Join(t.TempDir(), "kms-local"))
		if _, err := b.CreateKey(context.Background(), "demo"); err != nil {
			t.Fatal(err)
		}
		return b, []string{"demo", local.DefaultKPSKey, local.KeyName}
	})
}

func TestOpenCreatesV1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kms-local")
	b := open(t, dir)
	if got := b.Versions(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("Versions = %v, want [1]", got)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	path := filepath.Join(dir, "master-v1.key")
	fi, err = os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(path)
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		t.Fatalf("key file holds %q: %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("dir holds %d entries, want 2 (master and kps/default, no temporary files left)", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "kps+default-v1.key")); err != nil {
		t.Errorf("kps/default not created: %v", err)
	}

	// Opening again reuses v1 and unwraps what the first opened wrapped.
	ctx := context.Background()
	dk := bytes.Repeat([]byte{7}, 32)
	wrapped, ref, err := b.Wrap(ctx, "", dk)
	if err != nil || ref != "local/master@v1" {
		t.Fatalf("Wrap = %q, %v", ref, err)
	}
	got, err := open(t, dir).Unwrap(ctx, ref, wrapped)
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap after reopening = %x, %v", got, err)
	}
}

func TestOpenTightensDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open(t, dir)
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want 0700", fi.Mode().Perm())
	}
}

func TestRotateKeepsOldVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	dk := bytes.Repeat([]byte{1}, 32)
	w1, ref1, _ := b.Wrap(ctx, "master", dk)
	ref2, err := b.Rotate()
	if err != nil || ref2 != "local/master@v2" {
		t.Fatalf("Rotate = %q, %v", ref2, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master-v2.key")); err != nil {
		t.Fatal(err)
	}
	w2, ref, err := b.Wrap(ctx, "", dk)
	if err != nil || ref != ref2 {
		t.Fatalf("Wrap after Rotate = %q, %v", ref, err)
	}
	// Another process opening the directory unwraps under both versions.
	other := open(t, dir)
	for _, c := range []struct {
		ref     string
		wrapped []byte
	}{{ref1, w1}, {ref2, w2}} {
		if got, err := other.Unwrap(ctx, c.ref, c.wrapped); err != nil || !bytes.Equal(got, dk) {
			t.Errorf("Unwrap(%q) = %x, %v", c.ref, got, err)
		}
	}
	// Explicit versions: master@v1 wraps under v1; an absent version is
	// not found.
	if _, ref, err := b.Wrap(ctx, "master@v1", dk); err != nil || ref != ref1 {
		t.Errorf("Wrap(master@v1) = %q, %v", ref, err)
	}
	if _, _, err := b.Wrap(ctx, "master@v9", dk); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Errorf("Wrap(master@v9) error = %v, want ErrKeyNotFound", err)
	}
}

func TestRotateSeesOtherProcess(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	if ref, err := a.Rotate(); err != nil || ref != "local/master@v2" {
		t.Fatalf("a.Rotate = %q, %v", ref, err)
	}
	// b still believes v1 is the latest: its rotation must not clobber v2.
	if ref, err := b.Rotate(); err != nil || ref != "local/master@v3" {
		t.Fatalf("b.Rotate = %q, %v", ref, err)
	}
	ctx := context.Background()
	dk := bytes.Repeat([]byte{2}, 32)
	wrapped, ref, err := b.Wrap(ctx, "", dk)
	if err != nil || ref != "local/master@v3" {
		t.Fatal(ref, err)
	}
	if got, err := a.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("a.Unwrap(v3) = %x, %v", got, err)
	}
}

func TestWrongKeyFileFailsClosed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dk := bytes.Repeat([]byte{3}, 32)
	wrapped, ref, err := open(t, dir).Wrap(ctx, "", dk)
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	path := filepath.Join(dir, "master-v1.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := open(t, dir).Unwrap(ctx, ref, wrapped)
	if err == nil {
		t.Fatalf("Unwrap with another key file succeeded: %x", got)
	}
	want := "local master key v1 does not open this data key: wrong key file?"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if errors.Is(err, kms.ErrKeyNotFound) || errors.Is(err, kms.ErrUnavailable) {
		t.Errorf("error %v should be neither not-found nor unavailable", err)
	}
}

func TestCorruptKeyFile(t *testing.T) {
	for name, content := range map[string]string{
		"not base64": "this is not base64!\n",
		"short":      base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"empty":      "",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "master-v1.key"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := local.Open(dir)
			if err == nil || !strings.Contains(err.Error(), "master-v1.key is corrupt") {
				t.Fatalf("Open error = %v, want a corrupt key file", err)
			}
			if content != "" && strings.Contains(err.Error(), strings.TrimSpace(content)) {
				t.Errorf("error %q shows the file's content", err)
			}
		})
	}
}

func TestIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"README", "master-v0.key", "master-v01.key", "master-vx.key", "master-v2.key.bak"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := open(t, dir).Versions(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("Versions = %v, want [1]", got)
	}
}

func TestRefMismatch(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	wrapped, _, err := b.Wrap(ctx, "", bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"local/master", "local/master@v0", "local/master@v01", "local/other@v1", "pkcs11/master@v1"} {
		if _, err := b.Unwrap(ctx, ref, wrapped); !errors.Is(err, kms.ErrKeyNotFound) {
			t.Errorf("Unwrap(%q) error = %v, want ErrKeyNotFound", ref, err)
		}
	}
}
