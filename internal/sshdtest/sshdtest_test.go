package sshdtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keygen makes an ed25519 key pair with the real ssh-keygen.
func keygen(t *testing.T) (priv []byte, pub string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	priv, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile(f + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(p))
}

// TestServer: the server takes the user's password and its authorized
// keys, refuses a wrong password and an unknown key, still honours a
// root-owned read-only authorized_keys, and is gone (user included) after
// the test.
func TestServer(t *testing.T) {
	var s *Server
	t.Run("server", func(t *testing.T) {
		s = Start(t, Options{})
		priv, pub := keygen(t)
		other, _ := keygen(t)
		if !s.CanLoginPassword(t, s.Password) {
			t.Error("the user's password does not log in")
		}
		if s.CanLoginPassword(t, "wrong"+s.Password) {
			t.Error("a wrong password logs in")
		}
		if s.CanLoginKey(t, priv) {
			t.Error("a key not in authorized_keys logs in")
		}
		s.SetAuthorizedKeys(t, pub+"\n")
		if !s.CanLoginKey(t, priv) {
			t.Error("the key in authorized_keys does not log in")
		}
		if s.CanLoginKey(t, other) {
			t.Error("another key logs in")
		}
		s.LockAuthorizedKeys(t)
		if mode, uid, _ := Stat(t, s.AuthorizedKeysPath()); mode != 0o644 || uid != 0 {
			t.Errorf("locked file: mode %o uid %d", mode, uid)
		}
		if !s.CanLoginKey(t, priv) {
			t.Error("the key in a root-owned authorized_keys does not log in")
		}
		if s.AuthorizedKeys(t) != pub+"\n" {
			t.Errorf("AuthorizedKeys = %q", s.AuthorizedKeys(t))
		}
	})
	if s == nil || s.User == "" {
		return
	}
	if out, err := exec.Command("id", s.User).CombinedOutput(); err == nil {
		t.Errorf("user %s still exists after the test: %s", s.User, out)
	}
	if _, err := os.Stat(s.Home); err == nil {
		t.Errorf("home %s still exists after the test", s.Home)
	}
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the test", s.Addr)
	}
}

// TestSudo: with Options.Sudo the user runs sudo -n; without, sudo refuses.
func TestSudo(t *testing.T) {
	for _, sudo := range []bool{true, false} {
		t.Run(strconv.FormatBool(sudo), func(t *testing.T) {
			s := Start(t, Options{Sudo: sudo})
			out, err := exec.Command("/usr/sbin/runuser", "-u", s.User, "--", "sudo", "-n", "true").CombinedOutput()
			if (err == nil) != sudo {
				t.Errorf("sudo -n true as %s: %v %s", s.User, err, out)
			}
		})
	}
}

// TestSilentAndClosed: Silent accepts and says nothing; ClosedPort refuses.
func TestSilentAndClosed(t *testing.T) {
	c, err := net.Dial("tcp", Silent(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("Silent answered: %d, %v", n, err)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ClosedPort(t))); err == nil {
		c.Close()
		t.Error("ClosedPort accepted a connection")
	}
}

// TestRootOption: with Options.Root the login user has uid 0, logs in by
// password, and is gone after the test while root's own account stays.
func TestRootOption(t *testing.T) {
	var s *Server
	t.Run("server", func(t *testing.T) {
		s = Start(t, Options{Root: true})
		if s.UID != 0 {
			t.Errorf("UID = %d, want 0", s.UID)
		}
		if !s.CanLoginPassword(t, s.Password) {
			t.Error("the uid 0 user's password does not log in")
		}
	})
	if s == nil {
		return
	}
	if out, err := exec.Command("id", s.User).CombinedOutput(); err == nil {
		t.Errorf("user %s still exists after the test: %s", s.User, out)
	}
	if out, err := exec.Command("id", "root").CombinedOutput(); err != nil {
		t.Errorf("root is gone: %v %s", err, out)
	}
}
