package task

import (
	"time"
)

// Operation is what a task does to a server, in Huawei's words.
type Operation string

// The operations.
const (
	// Bind adds the key pair's public key; the login proves itself by
	// password.
	Bind Operation = "BIND"
	// Replace logs in with the private key that gives access today and
	// replaces its public key by the key pair's.
	Replace Operation = "REPLACE"
	// Reset is Huawei's offline rewrite of a stopped server's disk; keyhaven
	// cannot reach a stopped server, so it is refused when asked for
	// without credentials, and only named here because clients poll for it.
	Reset Operation = "RESET"
	// Unbind removes the key pair's public key (and restores password login
	// if the associate had disabled it).
	Unbind Operation = "UNBIND"
)

// Phase is where a task is in its life.
type Phase string

// The phases; a task moves READY → RUNNING → SUCCESS or FAILED, and may go
// from READY straight to FAILED (its credentials were lost with the process
// that held them).
const (
	Ready   Phase = "READY"
	Running Phase = "RUNNING"
	Success Phase = "SUCCESS"
	Failed  Phase = "FAILED"
)

// Finished reports whether p is final.
func (p Phase) Finished() bool { return p == Success || p == Failed }

// Server is an entry of the inventory: a server keyhaven may log in to.
type Server struct {
	// ID is the server's id as clients name it (Nova/ECS server uuid).
	ID string
	// ProjectID is the project the server belongs to; only callers scoped
	// to it may associate key pairs with it or see its tasks.
	ProjectID string
	// Name is shown in task lists (server_name); may be empty.
	Name string
	// Address and Port are where its sshd listens.
	Address string
	Port    int
	// User is the login user whose ~/.ssh/authorized_keys is rewritten
	// (root by default).
	User string
	// HostKeys are the pinned host public keys, in authorized_keys format;
	// a server presenting any other key is never logged in to.
	HostKeys []string
	// SSHDConfig is the path of the server's sshd configuration file that
	// turning password login off and on edits (default
	// /etc/ssh/sshd_config); privileged steps run as the login user when
	// it is root and through `sudo -n` otherwise.
	SSHDConfig string
	// KeyPairName and KeyPairID name the key pair associated with the
	// server now ("" and 0: none); PublicKey is that key pair's public key
	// as it was put on the server, so UNBIND can remove it.
	KeyPairName string
	KeyPairID   int64
	PublicKey   string
	// PasswordDisabled records that an associate turned password login
	// off, so UNBIND turns it back on.
	PasswordDisabled bool
	// CreatedAt and UpdatedAt are when the entry was added and last changed.
	CreatedAt, UpdatedAt time.Time
}

// Task is one durable association task.
type Task struct {
	// ID is the task id clients poll (a UUID).
	ID string
	// Seq orders tasks; of a server's unfinished tasks only the lowest Seq
	// may run, so one server runs one task at a time, in order.
	Seq int64
	// ProjectID, UserID: who asked, scoped to which project.
	ProjectID, UserID string
	// ServerID and ServerName: on which server.
	ServerID, ServerName string
	// KeyPairName and KeyPairID: which key pair (for UNBIND, the one that
	// was associated).
	KeyPairName string
	KeyPairID   int64
	// PublicKey is the key pair's public key to add (BIND, REPLACE) or
	// remove (UNBIND).
	PublicKey string
	// Operation and Phase make the status clients see.
	Operation Operation
	Phase     Phase
	// DisablePassword asks to turn password login off once the key works.
	DisablePassword bool
	// Port overrides the inventory's SSH port when not 0.
	Port int
	// Owner is the instance holding the task's credentials in memory; only
	// it may run the task. LeaseUntil is renewed by that instance while it
	// lives; a READY or RUNNING task whose lease ran out is failed by any
	// instance, so no task stays RUNNING after a crash.
	Owner      string
	LeaseUntil time.Time
	// ErrorCode and ErrorMessage say why a FAILED task failed.
	ErrorCode    FailureCode
	ErrorMessage string
	// CreatedAt, StartedAt and FinishedAt are the task's times (zero: not
	// yet).
	CreatedAt, StartedAt, FinishedAt time.Time
}

// Status is the status clients see: PHASE_OPERATION, e.g. SUCCESS_BIND.
func (t *Task) Status() string { return string(t.Phase) + "_" + string(t.Operation) }
