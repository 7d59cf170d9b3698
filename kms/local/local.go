package local

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/keyhaven/keyhaven/kms"
)

// Name is the backend's name, the first element of its refs.
const Name = kms.LocalBackend

// KeyName is the name of the backend's default key, the master key.
const KeyName = "master"

const (
	keySize   = 32
	nonceSize = 12
	filePerm  = 0o600
	dirPerm   = 0o700
)

// Backend is the local KMS backend. It is safe for concurrent use; several
// processes may share its directory.
type Backend struct {
	dir string

	mu   sync.RWMutex
	keys map[string]*versions
}

// versions are the loaded versions of one named key.
type versions struct {
	aead   map[int]cipher.AEAD
	latest int
}

var (
	_ kms.Wrapper    = (*Backend)(nil)
	_ kms.Rotator    = (*Backend)(nil)
	_ kms.KeyRotator = (*Backend)(nil)
	_ kms.KeyCreator = (*Backend)(nil)
	_ kms.Resolver   = (*Backend)(nil)
)

// Open loads the key versions kept in dir, creating dir (mode 0700) and
// version 1 of the master key and of DefaultKPSKey when they are missing
// (DefaultKPSKey only if the directory is writable).
// A key file that cannot be read or does not hold a base64 32-byte key is
// an error.
func Open(dir string) (*Backend, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("local: creating key directory: %w", err)
	}
	// Tighten a directory made by someone else; a read-only mount that
	// cannot be changed is left as it is.
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(dir, dirPerm)
	}
	b := &Backend{dir: dir}
	if err := b.load(); err != nil {
		return nil, err
	}
	for _, name := range []string{KeyName, DefaultKPSKey} {
		if b.latest(name) != 0 {
			continue
		}
		// Another process starting at the same time may create it
		// first; either way it exists afterwards.
		_, err := b.CreateKey(context.Background(), name)
		if err == nil || errors.Is(err, fs.ErrExist) {
			continue
		}
		// kps/default is a convenience: a key directory mounted read-only
		// with only the master key in it (a secret volume) still opens,
		// and requests naming kps/default get "not found".
		if name == DefaultKPSKey && b.latest(KeyName) != 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
			continue
		}
		return nil, err
	}
	return b, nil
}

// Name returns "local".
func (b *Backend) Name() string { return Name }

// Dir returns the directory holding the key files.
func (b *Backend) Dir() string { return b.dir }

// Wrap seals dataKey under a local key. keyName "" selects the newest
// version of the master key, "NAME" the newest version of key NAME, and
// "NAME@vN" its version N.
func (b *Backend) Wrap(_ context.Context, keyName string, dataKey []byte) ([]byte, string, error) {
	if err := kms.CheckDataKey(dataKey); err != nil {
		return nil, "", err
	}
	name, v, aead, err := b.version(keyName)
	if err != nil {
		return nil, "", err
	}
	ref := ref(name, v)
	nonce := make([]byte, nonceSize, nonceSize+len(dataKey)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("local: reading random nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, dataKey, []byte(ref)), ref, nil
}

// Unwrap opens what Wrap returned under ref ("local/NAME@vN").
func (b *Backend) Unwrap(_ context.Context, ref string, wrapped []byte) ([]byte, error) {
	backend, key, err := kms.SplitRef(ref)
	if err != nil {
		return nil, err
	}
	if backend != Name {
		return nil, kms.KeyNotFoundError("local: %q is not a local key reference", ref)
	}
	if _, v, ok := parseKey(key); !ok || v == 0 {
		return nil, kms.KeyNotFoundError("local: key %q not found (want NAME@vN)", key)
	}
	name, v, aead, err := b.version(key)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("local: wrapped data key is truncated (%d bytes)", len(wrapped))
	}
	dk, err := aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], []byte(ref))
	if err != nil {
		return nil, fmt.Errorf("local %s key v%d does not open this data key: wrong key file?", name, v)
	}
	return dk, nil
}

// Resolve returns the ref Wrap uses for keyName.
func (b *Backend) Resolve(_ context.Context, keyName string) (string, error) {
	name, v, _, err := b.version(keyName)
	if err != nil {
		return "", err
	}
	return ref(name, v), nil
}

// CreateKey makes version 1 of a new key called name and returns its ref.
// A name already in use, here or by another process sharing the
// directory, is an error wrapping fs.ErrExist (its file is published with
// a hard link, which only one process can win).
func (b *Backend) CreateKey(_ context.Context, name string) (string, error) {
	if !ValidKeyName(name) {
		return "", fmt.Errorf("local: invalid key name %q: want 1 to %d letters, digits, _ - : or /", name, MaxKeyNameLength)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadLocked(); err != nil {
		return "", err
	}
	if b.keys[name] != nil {
		return "", fmt.Errorf("local: key %q already exists: %w", name, fs.ErrExist)
	}
	if err := b.create(name, 1); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("local: key %q already exists: %w", name, fs.ErrExist)
		}
		return "", err
	}
	if err := b.loadLocked(); err != nil {
		return "", err
	}
	return ref(name, 1), nil
}

// Rotate adds a version of the master key; see RotateKey.
func (b *Backend) Rotate() (string, error) { return b.RotateKey(context.Background(), KeyName) }

// RotateKey writes a new version of key name, which Wrap uses from now on,
// and returns its ref. Older versions are kept. An unknown name is an
// error wrapping kms.ErrKeyNotFound.
func (b *Backend) RotateKey(_ context.Context, name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadLocked(); err != nil {
		return "", err
	}
	for {
		k := b.keys[name]
		if k == nil {
			return "", kms.KeyNotFoundError("local: key %q not found in %s", name, b.dir)
		}
		err := b.create(name, k.latest+1)
		if errors.Is(err, fs.ErrExist) {
			// Another process rotated first: take its versions and retry.
			if err := b.loadLocked(); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		if err := b.loadLocked(); err != nil {
			return "", err
		}
		return ref(name, b.keys[name].latest), nil
	}
}

// version returns the key name, version number and cipher that keyName
// selects, reloading the directory once on a miss: another process may
// have created or rotated the key.
func (b *Backend) version(keyName string) (string, int, cipher.AEAD, error) {
	name, want, ok := parseKey(keyName)
	if !ok {
		return "", 0, nil, kms.KeyNotFoundError("local: key %q not found (not a valid local key name)", keyName)
	}
	b.mu.RLock()
	v, aead := b.pick(name, want)
	b.mu.RUnlock()
	// Only when a file this process has not loaded exists is the
	// directory worth reading again, under the write lock: a name no key
	// has costs one stat, not a reload that would stall every other wrap.
	// For the latest version that file is the next one, so that a
	// rotation by another process (keyhaven kms rotate) is used here from
	// the next wrap on.
	probe := max(want, 1)
	if aead != nil {
		if want != 0 {
			return name, v, aead, nil
		}
		probe = v + 1
	}
	if _, err := os.Stat(b.path(name, probe)); errors.Is(err, fs.ErrNotExist) {
		if aead != nil {
			return name, v, aead, nil
		}
		return "", 0, nil, notFound(name, want, b.dir)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadLocked(); err != nil {
		return "", 0, nil, err
	}
	if v, aead = b.pick(name, want); aead == nil {
		return "", 0, nil, notFound(name, want, b.dir)
	}
	return name, v, aead, nil
}

func notFound(name string, version int, dir string) error {
	if version == 0 {
		return kms.KeyNotFoundError("local: key %q not found in %s (keyhaven kms create-key makes one)", name, dir)
	}
	return kms.KeyNotFoundError("local: key %q version %d not found in %s", name, version, dir)
}

func (b *Backend) pick(name string, want int) (int, cipher.AEAD) {
	k := b.keys[name]
	if k == nil {
		return 0, nil
	}
	if want == 0 {
		want = k.latest
	}
	return want, k.aead[want]
}

func (b *Backend) latest(name string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if k := b.keys[name]; k != nil {
		return k.latest
	}
	return 0
}
