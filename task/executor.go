package task

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Credentials prove the login to a server: a password or a private key
// (PEM or OpenSSH). They are held only in memory and redact themselves in
// every format and log call.
type Credentials struct {
	// Password, when not empty, is the login user's password.
	Password string
	// PrivateKey, when not empty, is a private key that logs in today.
	PrivateKey []byte
}

// String redacts the credentials, so a stray %v cannot print them.
func (c Credentials) String() string { return "[credentials redacted]" }

// GoString redacts the credentials for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts the credentials for slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Job is one piece of SSH work an Executor does for a task.
type Job struct {
	// Server says where to log in and which host keys to accept; Port
	// already resolved (task override or inventory).
	Server Server
	// Operation is BIND, REPLACE or UNBIND.
	Operation Operation
	// Credentials log in.
	Credentials Credentials
	// AddKey is the public key (authorized_keys format) to add, for BIND
	// and REPLACE.
	AddKey string
	// RemoveKeys are public keys whose lines are removed (REPLACE: the key
	// of the credentials; UNBIND: the associated key pair's).
	RemoveKeys []string
	// DisablePassword turns SSH password login off for the login user once
	// AddKey is proven to log in; EnablePassword turns it back on.
	DisablePassword, EnablePassword bool
	// ConnectTimeout bounds the TCP connect and SSH handshake; the context
	// bounds the whole job.
	ConnectTimeout time.Duration
}

// Executor does the SSH work of a job. It returns nil on success and a
// *Failure saying what went wrong otherwise.
type Executor interface {
	Execute(ctx context.Context, job Job) error
}

// FailureCode classifies why a task failed; each dialect maps it to its
// own error code (KPS: task_error_code).
type FailureCode string

// The failure codes.
const (
	// FailAuth: the server refused the credentials.
	FailAuth FailureCode = "auth_failed"
	// FailHostKey: the server's host key is not one the inventory pins.
	FailHostKey FailureCode = "host_key_mismatch"
	// FailUnreachable: nothing answered at the address (refused, no route).
	FailUnreachable FailureCode = "unreachable"
	// FailTimeout: the connection, handshake or the whole task took too long.
	FailTimeout FailureCode = "timeout"
	// FailRemote: logged in, but the change on the server failed (e.g.
	// authorized_keys not writable, the new key does not log in).
	FailRemote FailureCode = "remote_error"
	// FailInterrupted: the instance holding the task's credentials stopped
	// before the task finished; it must be submitted again.
	FailInterrupted FailureCode = "interrupted"
	// FailWithdrawn: while the task waited, the user who submitted it lost
	// the access it needs (disabled, deleted, role removed, project or
	// domain disabled), or its key pair was deleted, changed or hidden
	// from them; keyhaven did not log in.
	FailWithdrawn FailureCode = "access_withdrawn"
	// FailInternal: anything else.
	FailInternal FailureCode = "internal"
)

// Failure is why a job failed: a code and a message a user can act on
// ("host key mismatch for 10.0.0.5:22: expected SHA256:…, got SHA256:…").
// It never holds a credential.
type Failure struct {
	Code    FailureCode
	Message string
}

// Error returns the message.
func (f *Failure) Error() string { return f.Message }

// Failf builds a Failure with a formatted message.
func Failf(code FailureCode, format string, args ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}
