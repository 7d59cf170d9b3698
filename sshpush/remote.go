package sshpush

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// maxOutput caps what a remote command may send back (an authorized_keys
// file, an sshd_config).
const maxOutput = 4 << 20

// result is what a remote command did.
type result struct {
	stdout, stderr []byte
	exit           int // -1: no exit status (the session broke)
}

// message is the command's own explanation: the last "keyhaven: " line
// the scripts print on stderr, else its whole stderr.
func (r result) message() string {
	s := strings.TrimSpace(string(r.stderr))
	if i := strings.LastIndex(s, "keyhaven: "); i >= 0 {
		s = s[i+len("keyhaven: "):]
		if nl := strings.IndexByte(s, '\n'); nl >= 0 {
			s = s[:nl]
		}
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// ours reports whether the failure was explained by one of our scripts
// (rather than by sudo or the shell before they ran).
func (r result) ours() bool { return bytes.Contains(r.stderr, []byte("keyhaven: ")) }

// limitedBuffer keeps at most maxOutput bytes.
type limitedBuffer struct {
	bytes.Buffer
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutput {
		b.over = true
		return 0, errors.New("output too large")
	}
	return b.Buffer.Write(p)
}

// run runs command (a fixed program, never data) in a new session with
// stdin as its input; the context closes the session.
func run(ctx context.Context, c *ssh.Client, command string, stdin []byte) (result, error) {
	s, err := c.NewSession()
	if err != nil {
		return result{exit: -1}, err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var out, errOut limitedBuffer
	s.Stdout, s.Stderr = &out, &errOut
	s.Stdin = bytes.NewReader(stdin)
	err = s.Run(command)
	r := result{stdout: out.Bytes(), stderr: errOut.Bytes()}
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return r, nil
	case errors.As(err, &ee):
		r.exit = ee.ExitStatus()
		return r, nil
	case ctx.Err() != nil:
		return result{exit: -1}, ctx.Err()
	case errors.Is(err, io.EOF), out.over, errOut.over:
		r.exit = -1
		return r, err
	}
	r.exit = -1
	return r, err
}

// shellCommand is the command line that runs script with /bin/sh under
// the login user's shell (which must understand single quotes, as every
// POSIX shell does), with args as $1…; sudo -n in front when asked.
// Scripts and arguments never hold a credential, nor data: data goes on
// stdin.
func shellCommand(script string, sudo bool, args ...string) string {
	var b strings.Builder
	if sudo {
		b.WriteString("sudo -n ")
	}
	b.WriteString("/bin/sh -c ")
	b.WriteString(quote(script))
	b.WriteString(" keyhaven")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(quote(a))
	}
	return b.String()
}

// quote quotes s for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
