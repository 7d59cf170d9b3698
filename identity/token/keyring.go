package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeySize is the size of a token key: AES-256.
const KeySize = 32

// Keyring holds the token keys: the primary seals new tokens, every key
// opens tokens. Keys live in a directory, one file per key named by its
// id, mode 0600, like Keystone's fernet key repository.
type Keyring struct {
	dir string
	// Keep is how many keys a rotation leaves, the new primary included.
	keep int

	mu      sync.RWMutex
	keys    map[uint32][]byte
	primary uint32
	created time.Time
}

// OpenKeyring loads the keys in dir, creating dir and a first key when
// there are none. keep (at least 2) is how many keys rotations retain.
func OpenKeyring(dir string, keep int) (*Keyring, error) {
	if keep < 2 {
		keep = 2
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	k := &Keyring{dir: dir, keep: keep}
	if err := k.load(); err != nil {
		return nil, err
	}
	if len(k.keys) == 0 {
		if err := k.Rotate(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keyring) load() error {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	keys := map[uint32][]byte{}
	var primary uint32
	var created time.Time
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || e.IsDir() {
			continue
		}
		path := filepath.Join(k.dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != KeySize {
			return fmt.Errorf("token keys: %s is not a base64 %d-byte key", path, KeySize)
		}
		keys[uint32(id)] = key
		if uint32(id) >= primary {
			primary = uint32(id)
			if fi, err := e.Info(); err == nil {
				created = fi.ModTime()
			}
		}
	}
	k.mu.Lock()
	k.keys, k.primary, k.created = keys, primary, created
	k.mu.Unlock()
	return nil
}

// Rotate makes a new primary key and forgets the oldest keys beyond keep.
// Tokens sealed under a forgotten key no longer open, so keep times the
// rotation period must exceed the token lifetime.
func (k *Keyring) Rotate() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	id := k.primary + 1
	if len(k.keys) == 0 {
		id = 1
	}
	path := filepath.Join(k.dir, strconv.FormatUint(uint64(id), 10))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	if k.keys == nil {
		k.keys = map[uint32][]byte{}
	}
	k.keys[id], k.primary, k.created = key, id, time.Now()
	ids := make([]uint32, 0, len(k.keys))
	for i := range k.keys {
		ids = append(ids, i)
	}
	slices.Sort(ids)
	for len(ids) > k.keep {
		old := ids[0]
		ids = ids[1:]
		if err := os.Remove(filepath.Join(k.dir, strconv.FormatUint(uint64(old), 10))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("token keys: %w", err)
		}
		delete(k.keys, old)
	}
	return nil
}

// RotateIfOlder rotates when the primary key is older than age.
func (k *Keyring) RotateIfOlder(age time.Duration, now time.Time) error {
	k.mu.RLock()
	due := now.Sub(k.created) >= age
	k.mu.RUnlock()
	if !due {
		return nil
	}
	return k.Rotate()
}

func (k *Keyring) primaryKey() (uint32, []byte) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.primary, k.keys[k.primary]
}

func (k *Keyring) key(id uint32) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[id]
	return key, ok
}
