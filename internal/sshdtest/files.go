package sshdtest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// AuthorizedKeysPath is the login user's ~/.ssh/authorized_keys.
func (s *Server) AuthorizedKeysPath() string {
	return filepath.Join(s.Home, ".ssh", "authorized_keys")
}

// AuthorizedKeys returns the content of the login user's
// ~/.ssh/authorized_keys ("" when there is none).
func (s *Server) AuthorizedKeys(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.AuthorizedKeysPath())
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return string(b)
}

// SetAuthorizedKeys writes the login user's ~/.ssh/authorized_keys (mode
// 0600 in a 0700 ~/.ssh, both owned by the user, as sshd's StrictModes
// wants).
func (s *Server) SetAuthorizedKeys(t testing.TB, content string) {
	t.Helper()
	dir := filepath.Dir(s.AuthorizedKeysPath())
	must(t, os.MkdirAll(dir, 0o700))
	must(t, os.Chmod(dir, 0o700))
	must(t, os.Chown(dir, s.UID, s.GID))
	must(t, os.WriteFile(s.AuthorizedKeysPath(), []byte(content), 0o600))
	must(t, os.Chmod(s.AuthorizedKeysPath(), 0o600))
	must(t, os.Chown(s.AuthorizedKeysPath(), s.UID, s.GID))
}

// LockAuthorizedKeys makes ~/.ssh and ~/.ssh/authorized_keys root's (0755
// and 0644, content kept or empty), so the login user can read but not
// change them: sshd still honours the file, a rewrite must fail.
func (s *Server) LockAuthorizedKeys(t testing.TB) {
	t.Helper()
	content := s.AuthorizedKeys(t)
	dir := filepath.Dir(s.AuthorizedKeysPath())
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(s.AuthorizedKeysPath(), []byte(content), 0o644))
	for _, p := range []string{dir, s.AuthorizedKeysPath()} {
		must(t, os.Chown(p, 0, 0))
	}
	must(t, os.Chmod(dir, 0o755))
	must(t, os.Chmod(s.AuthorizedKeysPath(), 0o644))
}

// Stat returns the mode bits and owner of path.
func Stat(t testing.TB, path string) (mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	st := fi.Sys().(*syscallStat)
	return fi.Mode().Perm(), int(st.Uid), int(st.Gid)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
}
