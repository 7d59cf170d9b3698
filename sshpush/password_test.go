package sshpush

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestDisableAndEnablePassword: BIND with DisablePassword (through sudo -n,
// the login user not being root) turns password login off, proven by the
// real client's password login failing while the key logs in; UNBIND with
// EnablePassword turns it back on and removes the key. The configuration
// keeps its other lines, passes sshd -t, and is back byte for byte.
func TestDisableAndEnablePassword(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{Sudo: true})
	kp := keygen(t, "ed25519")
	before := readFile(t, s.Config)
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey, bind.DisablePassword = kp.pub, true
	if err := execute(t, bind); err != nil {
		t.Fatalf("BIND with DisablePassword: %v", err)
	}
	if s.CanLoginPassword(t, s.Password) {
		t.Error("the password still logs in after BIND with DisablePassword")
	}
	if !s.CanLoginKey(t, kp.priv) {
		t.Error("the key does not log in after BIND with DisablePassword")
	}
	after := readFile(t, s.Config)
	if !strings.HasPrefix(after, before) || !strings.Contains(after, "# BEGIN keyhaven\n") || !strings.HasSuffix(after, "# END keyhaven\n") {
		t.Errorf("sshd_config after disable:\n%s", after)
	}
	if out, err := exec.Command(sshdtest.SSHD, "-t", "-f", s.Config).CombinedOutput(); err != nil {
		t.Errorf("sshd -t: %v: %s", err, out)
	}
	if mode, uid, _ := sshdtest.Stat(t, s.Config); mode != 0o600 || uid != 0 {
		t.Errorf("sshd_config mode %o owner %d, want 0600 root", mode, uid)
	}

	// Password login is off: UNBIND logs in with the key pair's key.
	unbind := jobFor(s, task.Unbind, task.Credentials{PrivateKey: kp.priv})
	unbind.RemoveKeys, unbind.EnablePassword = []string{kp.pub}, true
	if err := execute(t, unbind); err != nil {
		t.Fatalf("UNBIND with EnablePassword: %v", err)
	}
	if !s.CanLoginPassword(t, s.Password) {
		t.Error("the password does not log in after UNBIND with EnablePassword")
	}
	if s.CanLoginKey(t, kp.priv) {
		t.Error("the key still logs in after UNBIND")
	}
	if got := readFile(t, s.Config); got != before {
		t.Errorf("sshd_config after enable differs from the original:\n%s", got)
	}
}

// TestPasswordRefusedOnceDisabled: a BIND by password on a server where
// keyhaven turned password login off fails as an auth failure saying the
// server takes no passwords.
func TestPasswordRefusedOnceDisabled(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{Sudo: true})
	kp, other := keygen(t, "ed25519"), keygen(t, "ed25519")
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey, bind.DisablePassword = kp.pub, true
	if err := execute(t, bind); err != nil {
		t.Fatalf("BIND with DisablePassword: %v", err)
	}
	bind.AddKey, bind.DisablePassword = other.pub, false
	err := execute(t, bind)
	wantFailure(t, err, task.FailAuth, "authentication failed: the server does not accept password logins for "+s.User)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantFailure checks err is a *task.Failure with code whose message starts
// with prefix.
func wantFailure(t testing.TB, err error, code task.FailureCode, prefix string) {
	t.Helper()
	f, ok := err.(*task.Failure)
	if !ok {
		t.Fatalf("err = %T %v, want a *task.Failure %s", err, err, code)
	}
	if f.Code != code || !strings.HasPrefix(f.Message, prefix) {
		t.Errorf("failure = %s %q, want %s %q…", f.Code, f.Message, code, prefix)
	}
}

// TestAsRoot: a login user with uid 0 edits sshd_config without sudo, and
// a rewritten authorized_keys keeps the owner it had (root, and here
// another group: sshd's StrictModes would refuse another owning uid).
func TestAsRoot(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{Root: true})
	kp := keygen(t, "ed25519")
	s.SetAuthorizedKeys(t, "# seeded\n")
	if err := os.Chown(s.AuthorizedKeysPath(), 0, 4322); err != nil {
		t.Fatal(err)
	}
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey, bind.DisablePassword = kp.pub, true
	if err := execute(t, bind); err != nil {
		t.Fatalf("BIND as root with DisablePassword: %v", err)
	}
	if mode, uid, gid := sshdtest.Stat(t, s.AuthorizedKeysPath()); mode != 0o600 || uid != 0 || gid != 4322 {
		t.Errorf("authorized_keys: mode %o owner %d:%d, want 0600 0:4322", mode, uid, gid)
	}
	if s.CanLoginPassword(t, s.Password) {
		t.Error("the password still logs in")
	}
	if !s.CanLoginKey(t, kp.priv) {
		t.Error("the key does not log in")
	}
	unbind := jobFor(s, task.Unbind, task.Credentials{PrivateKey: kp.priv})
	unbind.RemoveKeys, unbind.EnablePassword = []string{kp.pub}, true
	if err := execute(t, unbind); err != nil {
		t.Fatalf("UNBIND as root with EnablePassword: %v", err)
	}
	if !s.CanLoginPassword(t, s.Password) {
		t.Error("the password does not log in after UNBIND")
	}
	if got := s.AuthorizedKeys(t); got != "# seeded\n" {
		t.Errorf("authorized_keys = %q", got)
	}
}

// TestPasswordStillOffered: an earlier Match block that lets the login
// user in by password wins over keyhaven's block (sshd keeps the first
// value among Match blocks). The task fails saying so, and both files are
// put back as they were.
func TestPasswordStillOffered(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{Sudo: true})
	appendFile(t, s.Config, "Match user "+s.User+"\n\tPasswordAuthentication yes\n")
	config := readFile(t, s.Config)
	s.SetAuthorizedKeys(t, "# seeded\n")
	kp := keygen(t, "ed25519")
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey, bind.DisablePassword = kp.pub, true
	err := executeWith(t, Config{ReloadWait: 2 * time.Second}, bind)
	wantFailure(t, err, task.FailRemote, "password login is still offered by "+s.Addr+" after reloading sshd")
	if got := readFile(t, s.Config); got != config {
		t.Errorf("sshd_config not put back:\n%s", got)
	}
	if got := s.AuthorizedKeys(t); got != "# seeded\n" {
		t.Errorf("authorized_keys not put back: %q", got)
	}
	if !s.CanLoginPassword(t, s.Password) {
		t.Error("password login is off")
	}
}
