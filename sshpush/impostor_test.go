package sshpush

import (
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// TestImpostorGetsNoCredential: a server at the inventory's address whose
// host key is not the pinned one (an impostor, or a man in the middle)
// that would accept any login is never offered one: with sshd logging
// every authentication request (DEBUG3), the log shows the key exchange
// ending and no userauth request, for a password and for a private key.
func TestImpostorGetsNoCredential(t *testing.T) {
	t.Parallel()
	impostor := sshdtest.Start(t, sshdtest.Options{ExtraConfig: "LogLevel DEBUG3"})
	genuine := keygen(t, "ed25519")
	login := keygen(t, "ed25519")
	for _, creds := range []task.Credentials{{Password: impostor.Password}, {PrivateKey: login.priv}} {
		job := jobFor(impostor, task.Bind, creds)
		job.AddKey = login.pub
		job.Server.HostKeys = []string{genuine.pub}
		if err := execute(t, job, impostor.Password); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
			t.Fatalf("login to an impostor: %v, want a host key mismatch", err)
		}
	}
	log := impostor.Log()
	if !strings.Contains(log, "kex") {
		t.Fatalf("sshd's log does not show the key exchange, so it proves nothing:\n%s", log)
	}
	for _, word := range []string{"userauth-request", "Failed password", "Accepted", "Postponed"} {
		if strings.Contains(log, word) {
			t.Fatalf("the impostor received an authentication request (%q in its log):\n%s", word, log)
		}
	}
	// The control: with its own key pinned the same login shows up.
	job := jobFor(impostor, task.Bind, task.Credentials{Password: impostor.Password})
	job.AddKey = login.pub
	if err := execute(t, job, impostor.Password); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(impostor.Log(), "userauth-request") {
		t.Fatal("sshd's log shows no userauth-request even for a real login: the check above proves nothing")
	}
}
