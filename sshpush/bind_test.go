package sshpush

import (
	"testing"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestBindByPassword: BIND logs in by password and adds the key pair's
// public key; the real ssh client then logs in with its private key; the
// file is the user's, 0600, in a 0700 ~/.ssh, with no probe key left.
func TestBindByPassword(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{})
	kp := keygen(t, "ed25519")
	if s.CanLoginKey(t, kp.priv) {
		t.Fatal("the key logs in before BIND")
	}
	job := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	job.AddKey = kp.pub
	if err := execute(t, job); err != nil {
		t.Fatalf("BIND: %v", err)
	}
	if !s.CanLoginKey(t, kp.priv) {
		t.Error("the key does not log in after BIND")
	}
	if got := s.AuthorizedKeys(t); got != kp.pub+"\n" {
		t.Errorf("authorized_keys = %q, want just the key", got)
	}
	if mode, uid, gid := sshdtest.Stat(t, s.AuthorizedKeysPath()); mode != 0o600 || uid != s.UID || gid != s.GID {
		t.Errorf("authorized_keys: mode %o owner %d:%d, want 0600 %d:%d", mode, uid, gid, s.UID, s.GID)
	}
	if mode, uid, _ := sshdtest.Stat(t, s.Home+"/.ssh"); mode != 0o700 || uid != s.UID {
		t.Errorf("~/.ssh: mode %o owner %d, want 0700 %d", mode, uid, s.UID)
	}
}
