package sshpush

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/task"
)

// DefaultSSHDConfig is the sshd configuration edited when the inventory
// names none.
const DefaultSSHDConfig = "/etc/ssh/sshd_config"

// DefaultReloadWait bounds the wait for a reloaded sshd to answer with its
// new configuration.
const DefaultReloadWait = 15 * time.Second

// Config configures an Executor.
type Config struct {
	// Logger receives one line per job (never a credential); nil: none.
	Logger *slog.Logger
	// ReloadWait bounds the wait for sshd to answer again after a reload
	// (default DefaultReloadWait); the job's context bounds it too.
	ReloadWait time.Duration
}

// Executor does the SSH work of association tasks (task.Executor).
type Executor struct {
	log        *slog.Logger
	reloadWait time.Duration
}

var _ task.Executor = (*Executor)(nil)

// New returns an Executor.
func New(cfg Config) *Executor {
	e := &Executor{log: cfg.Logger, reloadWait: cfg.ReloadWait}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.reloadWait <= 0 {
		e.reloadWait = DefaultReloadWait
	}
	return e
}

// Execute does job: nil when the change is made and proven, a
// *task.Failure otherwise.
func (e *Executor) Execute(ctx context.Context, job task.Job) error {
	start := time.Now()
	err := e.execute(ctx, job)
	attrs := []any{"server", job.Server.ID, "address", job.Server.Address, "user", job.Server.User,
		"operation", string(job.Operation), "elapsed", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		e.log.Warn("sshpush: task failed", append(attrs, "code", string(err.Code), "error", err.Message)...)
		return err
	}
	e.log.Info("sshpush: task done", attrs...)
	return nil
}

// attempt is one Execute in progress.
type attempt struct {
	e      *Executor
	job    task.Job
	target *target
	client *ssh.Client
	uid    string // the login user's uid on the server, once asked
	name   string // and its name
}

func (e *Executor) execute(ctx context.Context, job task.Job) *task.Failure {
	var add string
	remove := job.RemoveKeys
	switch job.Operation {
	case task.Bind, task.Replace:
		if job.AddKey == "" {
			return task.Failf(task.FailInternal, "%s needs the key pair's public key", job.Operation)
		}
		add = job.AddKey
	case task.Unbind:
		if len(remove) == 0 && !job.EnablePassword {
			return task.Failf(task.FailInternal, "UNBIND needs the public key to remove")
		}
	default:
		return task.Failf(task.FailInternal, "operation %q cannot be done over SSH", job.Operation)
	}
	if job.DisablePassword && job.EnablePassword {
		return task.Failf(task.FailInternal, "a task cannot both turn password login off and on")
	}
	if _, err := RewriteAuthorizedKeys(nil, add, remove, time.Now()); err != nil {
		return task.Failf(task.FailInternal, "%v", err)
	}
	t, f := newTarget(job)
	if f != nil {
		return f
	}
	l, f := credentialsLogin(job.Credentials)
	if f != nil {
		return f
	}
	// REPLACE swaps the key that logs in today for the new one: when the
	// caller names no key to remove, that is the login key.
	if job.Operation == task.Replace && len(remove) == 0 && l.publicKey != "" {
		remove = []string{l.publicKey}
	}
	client, err := dial(ctx, t, l, nil)
	if err != nil {
		return err.(*task.Failure)
	}
	defer client.Close()
	// Nothing in a session is bounded by the context on its own (opening
	// one waits for the server): closing the connection ends it all.
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	r := &attempt{e: e, job: job, target: t, client: client}

	// Password login comes back before the key goes, so that a failure in
	// between never leaves the server with neither.
	if job.EnablePassword {
		if f := r.setPassword(ctx, false); f != nil {
			return f
		}
	}
	if add == "" {
		return r.removeOnly(ctx, remove)
	}
	return r.addAndProve(ctx, add, remove)
}

// credentialsLogin turns credentials into SSH auth methods.
func credentialsLogin(c task.Credentials) (login, *task.Failure) {
	var l login
	if len(c.PrivateKey) > 0 {
		signer, err := ssh.ParsePrivateKey(c.PrivateKey)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				return l, task.Failf(task.FailAuth, "authentication failed: the private key is protected by a passphrase, which keyhaven cannot use")
			}
			return l, task.Failf(task.FailAuth, "authentication failed: the private key could not be read (%s)", redactParseError(err))
		}
		l.methods = append(l.methods, ssh.PublicKeys(signer))
		l.refused = "key"
		l.publicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	}
	if c.Password != "" {
		l.methods = append(l.methods, passwordLogin(c.Password)...)
		if l.refused == "key" {
			l.refused = "both"
		} else {
			l.refused = "password"
		}
	}
	if len(l.methods) == 0 {
		return l, task.Failf(task.FailAuth, "authentication failed: no password or private key was given")
	}
	return l, nil
}

// redactParseError keeps a key parser's error to its first words: the
// parsers do not quote the key, and this makes sure no future one does.
func redactParseError(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.ToValidUTF8(s, "")
}

// sessionFailure classifies a broken session.
func (r *attempt) sessionFailure(ctx context.Context, err error, doing string) *task.Failure {
	if ctx.Err() != nil {
		return contextFailure(ctx, doing)
	}
	return task.Failf(task.FailRemote, "the connection to %s broke while %s: %v", r.target.addr, doing, err)
}
