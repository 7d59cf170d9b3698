package sshpush

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/internal/sshdtest"
	"github.com/keyhaven/keyhaven/task"
)

// fingerprint is the SHA-256 fingerprint of an authorized_keys line.
func fingerprint(t testing.TB, line string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

// TestFailures: each way a task fails gives its own code and a message a
// user can act on, and none holds a credential; where the failure comes
// after a change, authorized_keys is as it was.
func TestFailures(t *testing.T) {
	t.Parallel()
	kp := keygen(t, "ed25519")
	stranger := keygen(t, "ed25519")
	const seeded = "# seeded\n"
	cases := []struct {
		name   string
		opts   sshdtest.Options
		setup  func(t *testing.T, s *sshdtest.Server, job *task.Job) (prefix string)
		code   task.FailureCode
		intact bool // authorized_keys must be left as seeded
	}{
		{"wrong password", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Credentials.Password = "not-" + s.Password
			return "authentication failed: wrong password"
		}, task.FailAuth, true},
		{"refused private key", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Operation, job.Credentials = task.Replace, task.Credentials{PrivateKey: stranger.priv}
			job.RemoveKeys = []string{stranger.pub}
			return "authentication failed: the private key was refused"
		}, task.FailAuth, true},
		{"unreadable private key", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Credentials = task.Credentials{PrivateKey: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0\n-----END OPENSSH PRIVATE KEY-----\n")}
			return "authentication failed: the private key could not be read"
		}, task.FailAuth, true},
		{"wrong host key pinned", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Server.HostKeys = []string{stranger.pub}
			return fmt.Sprintf("host key mismatch for %s: expected %s, got %s", s.Addr, fingerprint(t, stranger.pub), fingerprint(t, s.HostKey))
		}, task.FailHostKey, true},
		{"host key of another type pinned", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			rsa := keygen(t, "rsa")
			job.Server.HostKeys = []string{rsa.pub}
			return fmt.Sprintf("host key mismatch for %s: expected %s, the server offers no host key of that type", s.Addr, fingerprint(t, rsa.pub))
		}, task.FailHostKey, true},
		{"no host key pinned", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Server.HostKeys = nil
			return "no host key is pinned for server " + job.Server.ID
		}, task.FailHostKey, true},
		{"closed port", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.Server.Port = sshdtest.ClosedPort(t)
			return "connection refused by 127.0.0.1:" + strconv.Itoa(job.Server.Port)
		}, task.FailUnreachable, true},
		{"silent server", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			_, port, _ := net.SplitHostPort(sshdtest.Silent(t))
			job.Server.Port, _ = strconv.Atoi(port)
			job.ConnectTimeout = time.Second
			return "connection timed out after 1s: 127.0.0.1:" + port + " accepted the connection but did not complete the SSH handshake"
		}, task.FailTimeout, true},
		{"authorized_keys not writable", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			s.LockAuthorizedKeys(t)
			return "authorized_keys is not writable: " + s.AuthorizedKeysPath() + " is not writable by " + s.User
		}, task.FailRemote, true},
		{"~/.ssh not writable", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			if err := os.Remove(s.AuthorizedKeysPath()); err != nil {
				t.Fatal(err)
			}
			s.LockAuthorizedKeys(t)
			if err := os.Remove(s.AuthorizedKeysPath()); err != nil {
				t.Fatal(err)
			}
			return "authorized_keys is not writable: " + s.Home + "/.ssh is not writable by " + s.User
		}, task.FailRemote, false},
		{"authorized_keys is a symbolic link", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			target := s.AuthorizedKeysPath() + ".real"
			if err := os.Rename(s.AuthorizedKeysPath(), target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, s.AuthorizedKeysPath()); err != nil {
				t.Fatal(err)
			}
			return "authorized_keys is not writable: " + s.AuthorizedKeysPath() + " is a symbolic link (to " + target + ")"
		}, task.FailRemote, true},
		{"StrictModes refuses the file", sshdtest.Options{}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			if err := os.Chmod(s.Home, 0o777); err != nil {
				t.Fatal(err)
			}
			return "the new key does not log in: sshd at " + s.Addr + " refused a key"
		}, task.FailRemote, true},
		{"sudo refused", sshdtest.Options{Sudo: false}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.DisablePassword = true
			return "cannot turn password login off: " + s.User + " is not root and sudo -n (sudo without a password prompt) refused: sudo: a password is required"
		}, task.FailRemote, true},
		{"sshd -t refuses the result", sshdtest.Options{Sudo: true}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			// The running sshd read a good file; someone broke it since.
			job.DisablePassword = true
			appendFile(t, s.Config, "NoSuchDirective yes\n")
			return "cannot turn password login off: sshd -t refuses the changed configuration, " + s.Config + " left as it was:"
		}, task.FailRemote, true},
		{"sshd_config missing", sshdtest.Options{Sudo: true}, func(t *testing.T, s *sshdtest.Server, job *task.Job) string {
			job.DisablePassword = true
			job.Server.SSHDConfig = s.Config + ".missing"
			return "cannot turn password login off: " + s.Config + ".missing does not exist"
		}, task.FailRemote, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := sshdtest.Start(t, c.opts)
			s.SetAuthorizedKeys(t, seeded)
			job := jobFor(s, task.Bind, task.Credentials{Password: s.Password})
			job.AddKey = kp.pub
			prefix := c.setup(t, s, &job)
			config := readFile(t, s.Config)
			err := execute(t, job, s.Password)
			t.Logf("failure: %v", err)
			wantFailure(t, err, c.code, prefix)
			if c.intact {
				if got := s.AuthorizedKeys(t); got != seeded {
					t.Errorf("authorized_keys after the failure = %q, want %q", got, seeded)
				}
			}
			if got := readFile(t, s.Config); got != config {
				t.Errorf("sshd_config changed by a failed task:\n%s", got)
			}
			if !s.CanLoginPassword(t, s.Password) {
				t.Error("password login is off after the failure")
			}
		})
	}
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestContextBoundsSilentServer: the job's context ends a handshake with a
// server that accepts TCP and never answers, whatever the connect timeout.
func TestContextBoundsSilentServer(t *testing.T) {
	t.Parallel()
	host, port, _ := net.SplitHostPort(sshdtest.Silent(t))
	p, _ := strconv.Atoi(port)
	kp := keygen(t, "ed25519")
	job := task.Job{
		Server:         task.Server{ID: "silent", Address: host, Port: p, User: "root", HostKeys: []string{kp.pub}},
		Operation:      task.Bind,
		Credentials:    task.Credentials{Password: "secret-password"},
		AddKey:         kp.pub,
		ConnectTimeout: time.Hour,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := New(Config{}).Execute(ctx, job)
	wantFailure(t, err, task.FailTimeout, "the task timed out while connecting to "+host+":"+port)

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	err = New(Config{}).Execute(ctx, job)
	wantFailure(t, err, task.FailInterrupted, "the task was stopped while connecting")
}
