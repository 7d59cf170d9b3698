package sshpush

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/internal/testlog"
	"github.com/keyhaven/keyhaven/task"
)

// keyPair is a key pair made by the real ssh-keygen.
type keyPair struct {
	priv []byte
	pub  string // authorized_keys line
}

func keygen(t testing.TB, typ string) keyPair {
	t.Helper()
	f := filepath.Join(t.TempDir(), "k")
	args := []string{"-q", "-t", typ, "-N", "", "-C", "user@example", "-f", f}
	if typ == "rsa" {
		args = append(args, "-b", "2048", "-m", "PEM")
	}
	if out, err := exec.Command("/usr/bin/ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	priv, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(f + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: priv, pub: strings.TrimSpace(string(pub))}
}

// syncBuffer is a log sink tests read after the fact.
type syncBuffer = testlog.Buffer

// jobFor is a job against s with the given operation and credentials.
func jobFor(s *sshdtest.Server, op task.Operation, creds task.Credentials) task.Job {
	return task.Job{
		Server: task.Server{
			ID: "srv-" + s.User, ProjectID: "p1", Address: s.Host, Port: s.Port, User: s.User,
			HostKeys: []string{s.HostKey}, SSHDConfig: s.Config,
		},
		Operation:      op,
		Credentials:    creds,
		ConnectTimeout: 10 * time.Second,
	}
}

// execute runs job with a fresh executor logging into logs, and checks
// that neither the error nor the log holds a secret.
func execute(t testing.TB, job task.Job, secrets ...string) error {
	t.Helper()
	return executeWith(t, Config{}, job, secrets...)
}

// executeWith is execute with an executor configured by cfg (its Logger
// replaced).
func executeWith(t testing.TB, cfg Config, job task.Job, secrets ...string) error {
	t.Helper()
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := e.Execute(ctx, job)
	if err != nil {
		var f *task.Failure
		if !errors.As(err, &f) {
			t.Fatalf("Execute returned %T %v, not a *task.Failure", err, err)
		}
	}
	secrets = append(secrets, job.Credentials.Password)
	secrets = append(secrets, secretLines(job.Credentials.PrivateKey)...)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error holds a secret: %v", err)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds a secret:\n%s", logs.String())
		}
	}
	return err
}

// secretLines are the base64 lines of a private key, any of which in an
// error or log would leak it.
func secretLines(priv []byte) []string {
	var out []string
	for _, l := range strings.Split(string(priv), "\n") {
		if l = strings.TrimSpace(l); len(l) > 20 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}
