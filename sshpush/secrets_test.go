package sshpush

import (
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestNoSecretOnTheServer: with sshd logging everything it can (DEBUG3:
// every command line and environment variable a client sends), a BIND by
// password with DisablePassword and a REPLACE by private key leave neither
// credential in its log: they travel only inside the SSH authentication,
// never in a command line or the environment.
func TestNoSecretOnTheServer(t *testing.T) {
	t.Parallel()
	s := sshdtest.Start(t, sshdtest.Options{Sudo: true, ExtraConfig: "LogLevel DEBUG3"})
	kp, next := keygen(t, "ed25519"), keygen(t, "rsa")
	bind := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
	bind.AddKey, bind.DisablePassword = kp.pub, true
	if err := execute(t, bind); err != nil {
		t.Fatalf("BIND: %v", err)
	}
	replace := jobFor(s, task.Replace, task.Credentials{PrivateKey: kp.priv})
	replace.AddKey, replace.RemoveKeys = next.pub, []string{kp.pub}
	if err := execute(t, replace); err != nil {
		t.Fatalf("REPLACE: %v", err)
	}
	log := s.Log()
	if !strings.Contains(log, "sudo -n /bin/sh -c") || !strings.Contains(log, "keyhaven-authorized-keys") {
		t.Fatalf("sshd's log does not show the commands run, so it proves nothing:\n%s", log)
	}
	for _, secret := range append([]string{s.Password}, secretLines(kp.priv)...) {
		if strings.Contains(log, secret) {
			t.Errorf("sshd's log holds a credential")
		}
	}
}
