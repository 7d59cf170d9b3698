package sshpush

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyhaven/keyhaven/task"
)

// probe is a one-time key of keyhaven's own: written with the new key,
// logged in with on a second connection, then removed. It proves that
// sshd honours the file as written (path, StrictModes, syntax), which the
// job's own public key cannot: keyhaven does not hold its private key.
type probe struct {
	priv   ed25519.PrivateKey
	signer ssh.Signer
	line   string
}

func newProbe(now time.Time) (*probe, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	tag := make([]byte, 8)
	_, _ = rand.Read(tag)
	line := fmt.Sprintf("%s %s%d-%s", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))),
		probeComment, now.Unix(), hex.EncodeToString(tag))
	return &probe{priv: priv, signer: signer, line: line}, nil
}

// zero wipes the probe's private key (the signer shares its bytes).
func (p *probe) zero() { clear(p.priv) }

// addAndProve writes the new key with a probe key, proves the probe logs
// in, turns password login off when asked, then removes the probe. A
// failure before the end puts the old file back.
func (r *attempt) addAndProve(ctx context.Context, add string, remove []string) *task.Failure {
	p, err := newProbe(time.Now())
	if err != nil {
		return task.Failf(task.FailInternal, "generating the probe key: %v", err)
	}
	defer p.zero()
	before, withProbe, f := r.update(ctx, func(cur []byte) ([]byte, error) {
		next, err := RewriteAuthorizedKeys(cur, add, remove, time.Now())
		if err != nil {
			return nil, err
		}
		return RewriteAuthorizedKeys(next, p.line, nil, time.Now())
	})
	if f != nil {
		return f
	}
	if f := r.prove(ctx, p); f != nil {
		return r.rollback(ctx, before, withProbe, p, f)
	}
	if r.job.DisablePassword {
		if f := r.setPassword(ctx, true); f != nil {
			return r.rollback(ctx, before, withProbe, p, f)
		}
	}
	if _, _, f := r.update(ctx, rewrite(add, append(slices.Clone(remove), p.line)...)); f != nil {
		f.Message = "the key is in place but the probe key could not be removed: " + f.Message
		return f
	}
	return r.verify(ctx, add, remove)
}

// rollback puts the old authorized_keys back (or removes the file if there
// was none) after f, unless someone changed it since keyhaven wrote it;
// then it only takes the probe out. It returns f, saying so if that
// failed too.
func (r *attempt) rollback(ctx context.Context, before, written keysState, p *probe, f *task.Failure) *task.Failure {
	raced, rf := r.writeKeys(ctx, before, written)
	if raced {
		_, _, rf = r.update(ctx, rewrite("", p.line))
		if rf == nil {
			f.Message += " (authorized_keys changed meanwhile, so only the probe key was taken out)"
		}
	}
	if rf != nil {
		f.Message += " (and putting the old authorized_keys back failed: " + rf.Message + ")"
	}
	return f
}

// prove logs in on a second connection with the probe key.
func (r *attempt) prove(ctx context.Context, p *probe) *task.Failure {
	c, err := dial(ctx, r.target, login{methods: []ssh.AuthMethod{ssh.PublicKeys(p.signer)}, refused: "probe"}, nil)
	if err != nil {
		f := err.(*task.Failure)
		if f.Code == task.FailAuth {
			return task.Failf(task.FailRemote, "the new key does not log in: sshd at %s refused a key written to ~/.ssh/authorized_keys of %s "+
				"(sshd's StrictModes wants the home directory, ~/.ssh and the file owned by the user or root and not writable by others, "+
				"and its AuthorizedKeysFile must include .ssh/authorized_keys)", r.target.addr, r.target.user)
		}
		return task.Failf(f.Code, "the new key does not log in: %s", f.Message)
	}
	c.Close()
	return nil
}

// whoami learns the login user's uid and name, once.
func (r *attempt) whoami(ctx context.Context) *task.Failure {
	if r.uid != "" {
		return nil
	}
	res, err := run(ctx, r.client, shellCommand(scriptWhoami, false), nil)
	if err != nil {
		return r.sessionFailure(ctx, err, "asking who the login user is")
	}
	f := strings.Fields(string(res.stdout))
	if res.exit != 0 || len(f) < 2 {
		return task.Failf(task.FailRemote, "cannot tell who the login user is: %s", res.message())
	}
	r.uid, r.name = f[len(f)-2], f[len(f)-1]
	return nil
}

// setPassword turns SSH password login off (or back on) by adding (or
// removing) keyhaven's block in the sshd configuration, reloads sshd and
// waits until it answers with the new configuration.
func (r *attempt) setPassword(ctx context.Context, off bool) *task.Failure {
	what := "turn password login back on"
	if off {
		what = "turn password login off"
	}
	if f := r.whoami(ctx); f != nil {
		return f
	}
	sudo := r.uid != "0"
	path := r.job.Server.SSHDConfig
	if path == "" {
		path = DefaultSSHDConfig
	}
	privileged := func(script string, stdin []byte, args ...string) (result, *task.Failure) {
		res, err := run(ctx, r.client, shellCommand(script, sudo, args...), stdin)
		if err != nil {
			return res, r.sessionFailure(ctx, err, "editing "+path)
		}
		if res.exit == 0 {
			return res, nil
		}
		if sudo && res.exit == 127 && !res.ours() {
			return res, task.Failf(task.FailRemote, "cannot %s: %s is not root and sudo is not installed: %s", what, r.name, res.message())
		}
		if sudo && !res.ours() {
			return res, task.Failf(task.FailRemote, "cannot %s: %s is not root and sudo -n (sudo without a password prompt) refused: %s", what, r.name, res.message())
		}
		return res, task.Failf(task.FailRemote, "cannot %s: %s", what, res.message())
	}
	res, f := privileged(scriptReadFile, nil, path)
	if f != nil {
		return f
	}
	i := bytes.Index(res.stdout, []byte(fileMarker))
	if i < 0 {
		return task.Failf(task.FailRemote, "cannot %s: unexpected output from the server reading %s", what, path)
	}
	config := res.stdout[i+len(fileMarker):]
	next := WithoutPasswordBlock(config)
	if off {
		next = WithPasswordBlock(config)
	}
	if bytes.Equal(next, config) {
		return r.waitForSSHD(ctx, off, path)
	}
	if _, f := privileged(scriptWriteConfig, next, path); f != nil {
		return f
	}
	_, f = privileged(scriptReload, nil, pidFile(config))
	if f == nil {
		f = r.waitForSSHD(ctx, off, path)
	}
	if f != nil {
		// A failed task changes nothing: the old configuration goes back.
		if _, bf := privileged(scriptWriteConfig, config, path); bf != nil {
			f.Message += " (and putting " + path + " back failed: " + bf.Message + ")"
		} else if _, bf := privileged(scriptReload, nil, pidFile(config)); bf != nil {
			f.Message += " (" + path + " is back as it was, but reloading sshd failed: " + bf.Message + ")"
		}
	}
	return f
}

// errMethods aborts a login once the server has said which methods it
// allows.
var errMethods = errors.New("methods seen")

// waitForSSHD waits until a new connection is answered and, when
// passwordOff, offers neither password nor keyboard-interactive login:
// the reloaded sshd runs with the new configuration.
func (r *attempt) waitForSSHD(ctx context.Context, passwordOff bool, path string) *task.Failure {
	deadline := time.Now().Add(r.e.reloadWait)
	var last *task.Failure
	for {
		var methods []string
		c, err := dial(ctx, r.target, login{}, func(m []string) error {
			methods = m
			return errMethods
		})
		if err == nil {
			// the server let us in without credentials: it answers
			c.Close()
			methods = []string{"none"}
		}
		switch {
		case methods != nil && !passwordOff:
			return nil
		case methods != nil && !slices.Contains(methods, "password") && !slices.Contains(methods, "keyboard-interactive"):
			return nil
		case methods != nil:
			last = task.Failf(task.FailRemote, "password login is still offered by %s after reloading sshd (%s has keyhaven's block; "+
				"is that the file this sshd reads?)", r.target.addr, path)
		default:
			var f *task.Failure
			if errors.As(err, &f) && f.Code == task.FailHostKey {
				return f
			}
			last = task.Failf(task.FailUnreachable, "sshd at %s does not answer after the reload: %v", r.target.addr, err)
		}
		if ctx.Err() != nil {
			return contextFailure(ctx, "waiting for sshd to reload")
		}
		if time.Now().After(deadline) {
			return last
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
