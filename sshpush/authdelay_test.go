package sshpush

import (
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestWrongPasswordSlowerThanConnectTimeout: sshd's PAM delays each
// refused password by about two seconds, and keyhaven tries it by
// "password" and then by "keyboard-interactive", so a wrong password takes
// 3.5 to 6 s to be refused. The connect timeout bounds the TCP connect and
// the key exchange only; the login is bounded by the task's context, so
// even with a connect timeout shorter than PAM's delay a wrong password is
// an auth failure, not a timeout.
func TestWrongPasswordSlowerThanConnectTimeout(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{})
	job := jobFor(s, task.Bind, task.Credentials{Password: "not-" + s.Password})
	job.AddKey = keygen(t, "ed25519").pub
	job.ConnectTimeout = time.Second
	wantFailure(t, execute(t, job), task.FailAuth, "authentication failed: wrong password")
}
