package local_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
)

func TestValidKeyName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"demo", true},
		{"testName", true},
		{"kps/default", true},
		{"a:b/c_d-e", true},
		{strings.Repeat("k", local.MaxKeyNameLength), true},
		{"", false},
		{strings.Repeat("k", local.MaxKeyNameLength+1), false},
		{"/demo", false},
		{"demo/", false},
		{"a//b", false},
		{"demo@v1", false},
		{"de mo", false},
		{"de+mo", false},
		{"../etc", false},
		{".hidden", false},
		{"démo", false},
		{"a\x00b", false},
	} {
		if got := local.ValidKeyName(tc.name); got != tc.ok {
			t.Errorf("ValidKeyName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestCreateKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "kms-local")
	b := open(t, dir)
	for _, tc := range []struct {
		name    string
		wantRef string
		wantErr error // nil: success; fs.ErrExist; errInvalid: any other error
		file    string
	}{
		{"demo", "local/demo@v1", nil, "demo-v1.key"},
		{"team/a:b", "local/team/a:b@v1", nil, "team+a:b-v1.key"},
		{"demo", "", fs.ErrExist, ""},
		{local.KeyName, "", fs.ErrExist, ""},
		{local.DefaultKPSKey, "", fs.ErrExist, ""},
		{"", "", errInvalid, ""},
		{"a/../b", "", errInvalid, ""},
		{"x@v2", "", errInvalid, ""},
	} {
		ref, err := b.CreateKey(ctx, tc.name)
		switch {
		case tc.wantErr == nil && (err != nil || ref != tc.wantRef):
			t.Errorf("CreateKey(%q) = %q, %v; want %q", tc.name, ref, err, tc.wantRef)
		case tc.wantErr == fs.ErrExist && !errors.Is(err, fs.ErrExist):
			t.Errorf("CreateKey(%q) error = %v, want fs.ErrExist", tc.name, err)
		case tc.wantErr == errInvalid && (err == nil || errors.Is(err, fs.ErrExist)):
			t.Errorf("CreateKey(%q) error = %v, want an invalid name", tc.name, err)
		}
		if tc.file == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, tc.file))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", tc.file, fi.Mode().Perm(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if got := strings.Join(b.Keys(), ","); got != "demo,kps/default,master,team/a:b" {
		t.Errorf("Keys = %s", got)
	}
}

// errInvalid stands for "an error other than fs.ErrExist" in tables.
var errInvalid = errors.New("invalid")

func TestNamedKeyWrap(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	if _, err := b.CreateKey(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RotateKey(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keyName string
		wantRef string // "" = ErrKeyNotFound
	}{
		{"", "local/master@v1"},
		{"master", "local/master@v1"},
		{"demo", "local/demo@v2"},
		{"demo@v1", "local/demo@v1"},
		{"demo@v2", "local/demo@v2"},
		{"kps/default", "local/kps/default@v1"},
		{"demo@v3", ""},
		{"demo@v0", ""},
		{"testName", ""},
		{"kps", ""},
		{"kps/default/x", ""},
		{"../master", ""},
		{"demo@", ""},
	} {
		dk := bytes.Repeat([]byte{9}, kms.DataKeySize)
		wrapped, ref, err := b.Wrap(ctx, tc.keyName, dk)
		if tc.wantRef == "" {
			if !errors.Is(err, kms.ErrKeyNotFound) {
				t.Errorf("Wrap(%q) error = %v, want ErrKeyNotFound", tc.keyName, err)
			}
			continue
		}
		if err != nil || ref != tc.wantRef {
			t.Errorf("Wrap(%q) = %q, %v; want %q", tc.keyName, ref, err, tc.wantRef)
			continue
		}
		if got, err := b.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
			t.Errorf("Unwrap(%q) = %x, %v", ref, got, err)
		}
		// Unwrap takes versioned refs only, of this very key.
		for _, bad := range []string{"local/demo", "local/kps/default", "local/testName@v1"} {
			if _, err := b.Unwrap(ctx, bad, wrapped); err == nil {
				t.Errorf("Unwrap(%q) of what %q wrapped succeeded", bad, ref)
			}
		}
	}
}

// TestNamedKeyAcrossProcesses: a key one process creates or rotates is
// found by another sharing the directory, without a restart; two creating
// the same name at once make one key.
func TestNamedKeyAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	c := open(t, dir)
	if _, _, err := c.Wrap(ctx, "demo", make([]byte, kms.DataKeySize)); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Fatalf("c.Wrap(demo) before it exists: %v", err)
	}
	if _, err := a.CreateKey(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	dk := bytes.Repeat([]byte{5}, kms.DataKeySize)
	wrapped, ref, err := b.Wrap(ctx, "demo", dk)
	if err != nil || ref != "local/demo@v1" {
		t.Fatalf("b.Wrap(demo) = %q, %v", ref, err)
	}
	if got, err := a.Unwrap(ctx, ref, wrapped); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("a.Unwrap = %x, %v", got, err)
	}
	if ref, err := a.RotateKey(ctx, "demo"); err != nil || ref != "local/demo@v2" {
		t.Fatalf("a.RotateKey = %q, %v", ref, err)
	}
	// b wraps under a's new version from its next wrap on.
	if _, ref, err := b.Wrap(ctx, "demo", dk); err != nil || ref != "local/demo@v2" {
		t.Fatalf("b.Wrap(demo) after a's rotation = %q, %v", ref, err)
	}
	if _, ref, err := b.Wrap(ctx, "", dk); err != nil || ref != "local/master@v1" {
		t.Fatalf("b.Wrap() = %q, %v", ref, err)
	}
	if _, err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, ref, err := b.Wrap(ctx, "", dk); err != nil || ref != "local/master@v2" {
		t.Fatalf("b.Wrap() after a's rotation of the master key = %q, %v", ref, err)
	}
	// c never loaded demo: its rotation must not clobber v2.
	if ref, err := c.RotateKey(ctx, "demo"); err != nil || ref != "local/demo@v3" {
		t.Fatalf("b.RotateKey = %q, %v", ref, err)
	}
	if _, ref, err := a.Wrap(ctx, "demo@v3", dk); err != nil || ref != "local/demo@v3" {
		t.Fatalf("a.Wrap(demo@v3) = %q, %v", ref, err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for _, p := range []*local.Backend{a, b, open(t, dir), open(t, dir)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.CreateKey(ctx, "race")
			if err != nil && !errors.Is(err, fs.ErrExist) {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d processes created the key race, want 1", won)
	}
}

// TestNamedKeyCorruptFile: a corrupt file of a named key stops Open with
// its path, never its content.
func TestNamedKeyCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo-v1.key"), []byte("c2VjcmV0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := local.Open(dir)
	if err == nil || !strings.Contains(err.Error(), "demo-v1.key is corrupt") || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("Open error = %v", err)
	}
}

// TestOpenReadOnlyDir: a key directory that holds only the master key and
// cannot be written (a secret volume) still opens, without kps/default.
// The directory is made read-only with its mode, which root ignores, or
// with KEYHAVEN_TEST_RO_KMS_DIR, a read-only mount holding master-v1.key.
func TestOpenReadOnlyDir(t *testing.T) {
	dir := os.Getenv("KEYHAVEN_TEST_RO_KMS_DIR")
	if dir == "" {
		if os.Geteuid() == 0 {
			t.Skip("root writes to read-only directories; set KEYHAVEN_TEST_RO_KMS_DIR to a read-only mount")
		}
		dir = t.TempDir()
		open(t, dir)
		if err := os.Remove(filepath.Join(dir, "kps+default-v1.key")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	b, err := local.Open(dir)
	if err != nil {
		t.Fatalf("Open of a read-only key directory: %v", err)
	}
	if _, _, err := b.Wrap(context.Background(), "", make([]byte, kms.DataKeySize)); err != nil {
		t.Fatalf("Wrap under the master key: %v", err)
	}
	if _, _, err := b.Wrap(context.Background(), local.DefaultKPSKey, make([]byte, kms.DataKeySize)); !errors.Is(err, kms.ErrKeyNotFound) {
		t.Fatalf("Wrap under kps/default: %v, want ErrKeyNotFound", err)
	}
}
