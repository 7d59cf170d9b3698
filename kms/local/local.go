package local

import (
	"context"
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
	"strconv"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/kms"
)

// Name is the backend's name, the first element of its refs.
const Name = kms.LocalBackend

// KeyName is the name of the backend's only key, the master key.
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

	mu       sync.RWMutex
	versions map[int]cipher.AEAD
	latest   int
}

var (
	_ kms.Wrapper  = (*Backend)(nil)
	_ kms.Rotator  = (*Backend)(nil)
	_ kms.Resolver = (*Backend)(nil)
)

// Open loads the master key versions kept in dir, creating dir (mode 0700)
// and version 1 when there is none. A key file that cannot be read or does
// not hold a base64 32-byte key is an error.
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
	if b.latest == 0 {
		if _, err := b.Rotate(); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Name returns "local".
func (b *Backend) Name() string { return Name }

// Dir returns the directory holding the key files.
func (b *Backend) Dir() string { return b.dir }

// Wrap seals dataKey under the master key. keyName "" or "master" selects
// the newest version; "master@vN" selects version N.
func (b *Backend) Wrap(_ context.Context, keyName string, dataKey []byte) ([]byte, string, error) {
	if err := kms.CheckDataKey(dataKey); err != nil {
		return nil, "", err
	}
	v, aead, err := b.version(keyName)
	if err != nil {
		return nil, "", err
	}
	ref := ref(v)
	nonce := make([]byte, nonceSize, nonceSize+len(dataKey)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("local: reading random nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, dataKey, []byte(ref)), ref, nil
}

// Unwrap opens what Wrap returned under ref ("local/master@vN").
func (b *Backend) Unwrap(_ context.Context, ref string, wrapped []byte) ([]byte, error) {
	backend, key, err := kms.SplitRef(ref)
	if err != nil {
		return nil, err
	}
	if backend != Name {
		return nil, kms.KeyNotFoundError("local: %q is not a local key reference", ref)
	}
	if _, ok := parseVersion(key); !ok {
		return nil, kms.KeyNotFoundError("local: key %q not found (want master@vN)", key)
	}
	v, aead, err := b.version(key)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("local: wrapped data key is truncated (%d bytes)", len(wrapped))
	}
	dk, err := aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], []byte(ref))
	if err != nil {
		return nil, fmt.Errorf("local master key v%d does not open this data key: wrong key file?", v)
	}
	return dk, nil
}

// Resolve returns the ref Wrap uses for keyName.
func (b *Backend) Resolve(_ context.Context, keyName string) (string, error) {
	v, _, err := b.version(keyName)
	if err != nil {
		return "", err
	}
	return ref(v), nil
}

// Rotate writes a new master key version, which Wrap uses from now on, and
// returns its ref. Older versions are kept.
func (b *Backend) Rotate() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		next := b.latest + 1
		err := b.create(next)
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
		return ref(b.latest), nil
	}
}

// version returns the version number and cipher that keyName selects,
// reloading the directory once if another process may have added it.
func (b *Backend) version(keyName string) (int, cipher.AEAD, error) {
	want := 0 // 0: the latest
	switch {
	case keyName == "" || keyName == KeyName:
	default:
		n, ok := parseVersion(keyName)
		if !ok {
			return 0, nil, kms.KeyNotFoundError("local: key %q not found (the local KMS has one key, %q)", keyName, KeyName)
		}
		want = n
	}
	b.mu.RLock()
	v, aead := b.pick(want)
	b.mu.RUnlock()
	if aead != nil {
		return v, aead, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadLocked(); err != nil {
		return 0, nil, err
	}
	if v, aead = b.pick(want); aead == nil {
		return 0, nil, kms.KeyNotFoundError("local: master key version %d not found in %s", want, b.dir)
	}
	return v, aead, nil
}

func (b *Backend) pick(want int) (int, cipher.AEAD) {
	if want == 0 {
		want = b.latest
	}
	return want, b.versions[want]
}

func (b *Backend) load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loadLocked()
}

// loadLocked reads every master-vN.key file of the directory.
func (b *Backend) loadLocked() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("local: reading key directory: %w", err)
	}
	versions := make(map[int]cipher.AEAD)
	latest := 0
	for _, e := range entries {
		n, ok := fileVersion(e.Name())
		if !ok {
			continue
		}
		aead, err := b.read(n)
		if err != nil {
			return err
		}
		versions[n] = aead
		latest = max(latest, n)
	}
	b.versions, b.latest = versions, latest
	return nil
}

// read loads version n from its file.
func (b *Backend) read(n int) (cipher.AEAD, error) {
	path := b.path(n)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local: reading master key v%d: %w", n, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("local: master key file %s is corrupt: want the base64 of %d bytes", path, keySize)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local: master key v%d: %w", n, err)
	}
	return cipher.NewGCM(block)
}

// create writes version n with a fresh random key, atomically and only if
// it does not exist yet (fs.ErrExist then).
func (b *Backend) create(n int) error {
	key := make([]byte, keySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("local: generating master key: %w", err)
	}
	tmp, err := os.CreateTemp(b.dir, ".master-*.tmp")
	if err != nil {
		return fmt.Errorf("local: writing master key v%d: %w", n, err)
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
		return fmt.Errorf("local: writing master key v%d: %w", n, err)
	}
	// A hard link publishes the complete file under its name, and fails
	// if that version exists already.
	if err := os.Link(tmp.Name(), b.path(n)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("local: writing master key v%d: %w", n, err)
	}
	return nil
}

// Versions returns the master key versions present, oldest first.
func (b *Backend) Versions() []int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	vs := make([]int, 0, len(b.versions))
	for v := range b.versions {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

func (b *Backend) path(n int) string {
	return filepath.Join(b.dir, "master-v"+strconv.Itoa(n)+".key")
}

func ref(v int) string { return Name + "/" + KeyName + "@v" + strconv.Itoa(v) }

// parseVersion parses "master@vN".
func parseVersion(key string) (int, bool) {
	s, ok := strings.CutPrefix(key, KeyName+"@v")
	if !ok {
		return 0, false
	}
	return positive(s)
}

// fileVersion parses "master-vN.key".
func fileVersion(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "master-v")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".key")
	if !ok {
		return 0, false
	}
	return positive(s)
}

func positive(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}
