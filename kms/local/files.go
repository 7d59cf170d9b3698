package local

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func (b *Backend) load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loadLocked()
}

// loadLocked reads every key file of the directory. Versions already
// loaded are kept as they are: a key file never changes once published.
func (b *Backend) loadLocked() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("local: reading key directory: %w", err)
	}
	keys := make(map[string]*versions)
	for _, e := range entries {
		name, n, ok := parseFileName(e.Name())
		if !ok {
			continue
		}
		k := keys[name]
		if k == nil {
			k = &versions{aead: make(map[int]cipher.AEAD)}
			keys[name] = k
		}
		aead := b.loaded(name, n)
		if aead == nil {
			if aead, err = b.read(name, n); err != nil {
				return err
			}
		}
		k.aead[n] = aead
		k.latest = max(k.latest, n)
	}
	b.keys = keys
	return nil
}

// loaded returns version n of name if it is loaded already.
func (b *Backend) loaded(name string, n int) cipher.AEAD {
	if k := b.keys[name]; k != nil {
		return k.aead[n]
	}
	return nil
}

// read loads version n of key name from its file.
func (b *Backend) read(name string, n int) (cipher.AEAD, error) {
	path := b.path(name, n)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local: reading %s key v%d: %w", name, n, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("local: key file %s is corrupt: want the base64 of %d bytes", path, keySize)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local: %s key v%d: %w", name, n, err)
	}
	return cipher.NewGCM(block)
}

// create writes version n of key name with a fresh random key, atomically
// and only if it does not exist yet (fs.ErrExist then).
func (b *Backend) create(name string, n int) error {
	key := make([]byte, keySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("local: generating a key: %w", err)
	}
	tmp, err := os.CreateTemp(b.dir, ".key-*.tmp")
	if err != nil {
		return fmt.Errorf("local: writing %s key v%d: %w", name, n, err)
	}
	defer os.Remove(tmp.Name())
	text := base64.StdEncoding.EncodeToString(key) + "\n"
	if err := tmp.Chmod(filePerm); err == nil {
		_, err = tmp.WriteString(text)
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("local: writing %s key v%d: %w", name, n, err)
	}
	// A hard link publishes the complete file under its name, and fails
	// if that version exists already.
	if err := os.Link(tmp.Name(), b.path(name, n)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("local: writing %s key v%d: %w", name, n, err)
	}
	return nil
}

// Versions returns the master key versions present, oldest first.
func (b *Backend) Versions() []int { return b.KeyVersions(KeyName) }

// KeyVersions returns the versions of key name present, oldest first.
func (b *Backend) KeyVersions(name string) []int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	k := b.keys[name]
	if k == nil {
		return nil
	}
	vs := make([]int, 0, len(k.aead))
	for v := range k.aead {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// Keys returns the names of the keys present, sorted.
func (b *Backend) Keys() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	names := make([]string, 0, len(b.keys))
	for name := range b.keys {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (b *Backend) path(name string, n int) string { return filepath.Join(b.dir, fileName(name, n)) }
