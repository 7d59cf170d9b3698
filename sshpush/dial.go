package sshpush

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/task"
)

// DefaultConnectTimeout bounds the TCP connect and SSH handshake when a job
// gives no timeout of its own.
const DefaultConnectTimeout = 10 * time.Second

// target is where a job logs in and what it accepts there.
type target struct {
	addr     string // host:port
	user     string
	hostKeys []ssh.PublicKey
	timeout  time.Duration
}

// newTarget checks a job's server entry: an address, a user and at least
// one pinned host key, or a failure saying what is missing.
func newTarget(job task.Job) (*target, *task.Failure) {
	s := job.Server
	if s.Address == "" {
		return nil, task.Failf(task.FailInternal, "server %s has no address in the inventory", s.ID)
	}
	port := s.Port
	if port == 0 {
		port = 22
	}
	t := &target{
		addr:    net.JoinHostPort(s.Address, strconv.Itoa(port)),
		user:    s.User,
		timeout: job.ConnectTimeout,
	}
	if t.user == "" {
		t.user = "root"
	}
	if t.timeout <= 0 {
		t.timeout = DefaultConnectTimeout
	}
	for i, line := range s.HostKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, task.Failf(task.FailHostKey, "pinned host key %d of server %s is not a public key: %v", i+1, s.ID, err)
		}
		t.hostKeys = append(t.hostKeys, k)
	}
	if len(t.hostKeys) == 0 {
		return nil, task.Failf(task.FailHostKey, "no host key is pinned for server %s; keyhaven never logs in to a server whose host key it cannot check", s.ID)
	}
	return t, nil
}

// fingerprints lists the pinned keys' SHA-256 fingerprints ("SHA256:a or
// SHA256:b").
func (t *target) fingerprints() string {
	fps := make([]string, len(t.hostKeys))
	for i, k := range t.hostKeys {
		fps[i] = ssh.FingerprintSHA256(k)
	}
	return strings.Join(fps, " or ")
}

// hostKeyAlgorithms makes the server present a key of a pinned type (a
// server with several host keys would otherwise pick one we do not pin).
func (t *target) hostKeyAlgorithms() []string {
	var algos []string
	for _, k := range t.hostKeys {
		typ := k.Type()
		if typ == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			algos = append(algos, typ)
		}
	}
	return slices.Compact(algos)
}

// errHostKey is what the host key callback returns; the failure itself is
// recorded beside it, so it survives the handshake's wrapping.
var errHostKey = errors.New("host key mismatch")

// login is one way to authenticate, and what to say when it is refused.
type login struct {
	methods []ssh.AuthMethod
	refused string // which credential was refused: "password", "key", "both"
	// publicKey is the login private key's public key (authorized_keys
	// format), when there is one.
	publicKey string
}

// dial connects to t and authenticates; the context bounds everything,
// t.timeout the TCP connect and the key exchange (not the login). A
// failure is a *task.Failure.
// offered, when not nil, is called with the methods the server allows
// after "none"; returning an error aborts the login with it.
func dial(ctx context.Context, t *target, l login, offered func([]string) error) (*ssh.Client, error) {
	deadline := time.Now().Add(t.timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", t.addr)
	if err != nil {
		return nil, dialFailure(ctx, t, err)
	}
	// The handshake has no context: a deadline on the connection bounds
	// it, and the context closes it.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var hostFailure *task.Failure
	var serverMethods []string
	cfg := &ssh.ClientConfig{
		User: t.user,
		Auth: l.methods,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, k := range t.hostKeys {
				if k.Type() == key.Type() && string(k.Marshal()) == string(key.Marshal()) {
					return nil
				}
			}
			hostFailure = task.Failf(task.FailHostKey, "host key mismatch for %s: expected %s, got %s",
				t.addr, t.fingerprints(), ssh.FingerprintSHA256(key))
			return errHostKey
		},
		HostKeyAlgorithms: t.hostKeyAlgorithms(),
		AuthCallback: func(ac *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
			if serverMethods == nil {
				// The key exchange is done: the server answers SSH. The
				// login itself may take longer than the connect timeout
				// (PAM delays each wrong password by seconds), so from
				// here only the context bounds it, and a refused password
				// is an auth failure rather than a timeout.
				_ = conn.SetDeadline(time.Time{})
				serverMethods = append([]string{}, ac.AllowedMethods...)
				if offered != nil {
					if err := offered(serverMethods); err != nil {
						return nil, err
					}
				}
			}
			return nil, nil
		},
		Timeout: t.timeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.addr, cfg)
	if err != nil {
		conn.Close()
		switch {
		case hostFailure != nil:
			return nil, hostFailure
		case ctx.Err() != nil:
			return nil, contextFailure(ctx, "connecting to "+t.addr)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, task.Failf(task.FailTimeout, "connection timed out after %s: %s accepted the connection but did not complete the SSH handshake", t.timeout, t.addr)
		case strings.Contains(err.Error(), "no common algorithm for host key"):
			return nil, task.Failf(task.FailHostKey, "host key mismatch for %s: expected %s, the server offers no host key of that type", t.addr, t.fingerprints())
		case strings.Contains(err.Error(), "unable to authenticate"):
			if l.refused == "password" && !slices.Contains(serverMethods, "password") && !slices.Contains(serverMethods, "keyboard-interactive") {
				return nil, task.Failf(task.FailAuth, "authentication failed: the server does not accept password logins for %s (it offers %s)", t.user, strings.Join(serverMethods, ", "))
			}
			return nil, task.Failf(task.FailAuth, "authentication failed: %s", refusedMessage(l.refused))
		}
		var ae abortError
		if errors.As(err, &ae) {
			return nil, ae.failure
		}
		return nil, task.Failf(task.FailUnreachable, "the SSH handshake with %s failed: %v", t.addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// refusedMessage says which credential the server refused.
func refusedMessage(what string) string {
	switch what {
	case "password":
		return "wrong password"
	case "key":
		return "the private key was refused"
	case "both":
		return "the password and the private key were refused"
	}
	return "the server refused the login"
}

// abortError carries a failure out of an auth callback.
type abortError struct{ failure *task.Failure }

func (a abortError) Error() string { return a.failure.Message }

// dialFailure classifies a failed TCP connect.
func dialFailure(ctx context.Context, t *target, err error) *task.Failure {
	var dnsErr *net.DNSError
	switch {
	case ctx.Err() != nil:
		return contextFailure(ctx, "connecting to "+t.addr)
	case errors.Is(err, syscall.ECONNREFUSED):
		return task.Failf(task.FailUnreachable, "connection refused by %s", t.addr)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return task.Failf(task.FailUnreachable, "no route to %s", t.addr)
	case errors.As(err, &dnsErr):
		return task.Failf(task.FailUnreachable, "cannot resolve %s: %v", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return task.Failf(task.FailTimeout, "connection timed out after %s", t.timeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return task.Failf(task.FailTimeout, "connection timed out after %s", t.timeout)
	}
	return task.Failf(task.FailUnreachable, "cannot connect to %s: %v", t.addr, err)
}

// contextFailure says the task's own time ran out (or it was stopped)
// while doing what.
func contextFailure(ctx context.Context, doing string) *task.Failure {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return task.Failf(task.FailTimeout, "the task timed out while %s", doing)
	}
	return task.Failf(task.FailInterrupted, "the task was stopped while %s", doing)
}

// passwordLogin logs in with a password, by "password" or by
// "keyboard-interactive" (PAM's prompt), whichever the server offers.
func passwordLogin(password string) []ssh.AuthMethod {
	rounds := 0
	return []ssh.AuthMethod{
		ssh.Password(password),
		ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
			rounds++
			if rounds > 3 {
				return nil, errors.New("too many prompts")
			}
			answers := make([]string, len(questions))
			for i := range questions {
				if !echos[i] {
					answers[i] = password
				}
			}
			return answers, nil
		}),
	}
}
