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
	// Staging is how long a new key waits before it seals tokens. Every
	// keyhaven instance sharing the directory reloads it more often than
	// that, so all of them can open a token before any of them issues it
	// (Keystone stages Fernet keys for the same reason). Zero seals with a
	// new key at once, right for a single instance.
	Staging time.Duration

	mu      sync.RWMutex
	keys    map[uint32][]byte
	born    map[uint32]time.Time
	newest  uint32
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
	born := map[uint32]time.Time{}
	var newest uint32
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
		if fi, err := e.Info(); err == nil {
			born[uint32(id)] = fi.ModTime()
		}
		if uint32(id) >= newest {
			newest = uint32(id)
			created = born[newest]
		}
	}
	k.mu.Lock()
	k.keys, k.born, k.newest, k.created = keys, born, newest, created
	k.mu.Unlock()
	return nil
}

// Reload reads the key directory again, picking up keys that other
// keyhaven instances sharing it have made or forgotten.
func (k *Keyring) Reload() error { return k.load() }

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
	id := k.newest + 1
	path := filepath.Join(k.dir, strconv.FormatUint(uint64(id), 10))
	tmp, err := os.CreateTemp(k.dir, "new-*.tmp")
	if err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("token keys: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token keys: %w", err)
	}
	// A link, unlike a rename, never replaces a key another instance made
	// under the same id at the same moment: the loser takes the winner's.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			k.mu.Unlock()
			err := k.load()
			k.mu.Lock()
			return err
		}
		return fmt.Errorf("token keys: %w", err)
	}
	if k.keys == nil {
		k.keys, k.born = map[uint32][]byte{}, map[uint32]time.Time{}
	}
	now := time.Now()
	k.keys[id], k.born[id], k.newest, k.created = key, now, id, now
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

// primaryKey is the key that seals new tokens: the newest key that has been
// staged long enough, or the oldest key when none has.
func (k *Keyring) primaryKey() (uint32, []byte) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.Staging <= 0 {
		return k.newest, k.keys[k.newest]
	}
	now := time.Now()
	var best, oldest uint32
	for id := range k.keys {
		if oldest == 0 || id < oldest {
			oldest = id
		}
		if now.Sub(k.born[id]) >= k.Staging && id > best {
			best = id
		}
	}
	if best == 0 {
		best = oldest
	}
	return best, k.keys[best]
}

func (k *Keyring) key(id uint32) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[id]
	return key, ok
}
