package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestCredentialKeyConcurrentFirstStart has several instances create the
// credential key of one data directory at once: all get the same key,
// stored once, private, with no temporary file left behind.
func TestCredentialKeyConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credential.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = loadCredentialKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("instance %d got another credential key than instance 0", i)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential key file: %v %v; want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("data directory holds %d entries, want only the key", len(entries))
	}
	again, err := loadCredentialKey(path)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("a later start read another key: %v", err)
	}
}

// TestWriteSecretFileNeverReplaces checks a secret that exists is kept.
func TestWriteSecretFileNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := writeSecretFile(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeSecretFile(path, "second\n"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n" {
		t.Fatalf("secret replaced: %q", b)
	}
}

// TestCredentialKeyEmptyFile: an empty key file (an older version killed
// while creating it) stops the start with a message saying what to do.
func TestCredentialKeyEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credential.key")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCredentialKey(path); err == nil || !bytes.Contains([]byte(err.Error()), []byte("remove it")) {
		t.Fatalf("empty credential key: %v", err)
	}
}
