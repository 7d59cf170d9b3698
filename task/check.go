package task

import (
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/keypair"
)

// MaxIDLength bounds a server id (and name), as Nova bounds a server name.
const MaxIDLength = 255

// DefaultUser and DefaultPort are the login user and SSH port of an
// inventory entry that names none.
const (
	DefaultUser = "root"
	DefaultPort = 22
)

// Check reports, as an EINVALID *keypair.Error, the first field of s that
// no store may keep: an empty, overlong or unprintable ID, no project, an
// address that is neither a host name nor an IP address, a port outside
// 1–65535, no login user, or no host key. Host keys are checked for form
// only here (one line each); parsing them is the caller's (sshkey's) job.
func (s *Server) Check() error {
	switch {
	case !printable(s.ID):
		return keypair.Errorf(keypair.EINVALID, "server id must be 1 to %d printable characters", MaxIDLength)
	case !printable(s.ProjectID):
		return keypair.Errorf(keypair.EINVALID, "server %s: project id must be 1 to %d printable characters", s.ID, MaxIDLength)
	case s.Name != "" && !printable(s.Name):
		return keypair.Errorf(keypair.EINVALID, "server %s: name must be at most %d printable characters", s.ID, MaxIDLength)
	case !ValidAddress(s.Address):
		return keypair.Errorf(keypair.EINVALID, "server %s: address %q is neither a host name nor an IP address", s.ID, s.Address)
	case s.Port < 1 || s.Port > 65535:
		return keypair.Errorf(keypair.EINVALID, "server %s: port %d is not in 1-65535", s.ID, s.Port)
	case !printable(s.User) || strings.ContainsAny(s.User, " /:"):
		return keypair.Errorf(keypair.EINVALID, "server %s: login user %q is not a user name", s.ID, s.User)
	case len(s.HostKeys) == 0:
		return keypair.Errorf(keypair.EINVALID, "server %s: needs at least one host key", s.ID)
	case s.SSHDConfig != "" && (!printable(s.SSHDConfig) || !strings.HasPrefix(s.SSHDConfig, "/")):
		return keypair.Errorf(keypair.EINVALID, "server %s: sshd config %q is not an absolute path", s.ID, s.SSHDConfig)
	}
	for _, k := range s.HostKeys {
		if !printableLine(k) {
			return keypair.Errorf(keypair.EINVALID, "server %s: a host key must be one non-empty line of printable text", s.ID)
		}
	}
	return nil
}

// printable reports whether v is 1 to MaxIDLength characters, valid
// UTF-8, all of them printable (no control characters, no line breaks),
// without leading or trailing space.
func printable(v string) bool {
	return utf8.RuneCountInString(v) <= MaxIDLength && printableLine(v)
}

// printableLine reports whether v is a non-empty line of valid UTF-8
// printable characters without leading or trailing space.
func printableLine(v string) bool {
	if v == "" || !utf8.ValidString(v) || strings.TrimSpace(v) != v {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ValidAddress reports whether a is an IP address or a DNS host name
// (labels of letters, digits and hyphens, not starting or ending with a
// hyphen, at most 253 characters).
func ValidAddress(a string) bool {
	if net.ParseIP(a) != nil {
		return true
	}
	if a == "" || len(a) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(a, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ParseID returns the canonical form (lower-case, hyphenated) of a task id,
// and false when s is not a UUID: a store answers ENOTFOUND for such an
// id without looking, and every engine compares ids in canonical form.
func ParseID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// NewID returns a new random task id.
func NewID() string { return uuid.NewString() }

// AuditAction is the audit action recording t: AuditDisassociate for
// UNBIND, AuditAssociate otherwise.
func (t *Task) AuditAction() keypair.AuditAction {
	if t.Operation == Unbind {
		return keypair.AuditDisassociate
	}
	return keypair.AuditAssociate
}

// AuditEntry returns the audit entry recording t as it is now, at time at:
// who asked, which key pair, which server, the status as Result and, for a
// failed task, its error code and message as Detail. A task not yet
// created (Phase empty) is recorded as READY, as CreateTask will store it.
// Callers add where the request came from (RemoteAddr, RequestID) when
// they know it.
func (t *Task) AuditEntry(at time.Time) *keypair.AuditEntry {
	status := t.Status()
	if t.Phase == "" {
		status = string(Ready) + "_" + string(t.Operation)
	}
	e := &keypair.AuditEntry{
		Time: at.UTC(), Action: t.AuditAction(), UserID: t.UserID, ProjectID: t.ProjectID,
		KeyPairID: t.KeyPairID, KeyPairName: t.KeyPairName,
		ServerID: t.ServerID, TaskID: t.ID, Result: status,
	}
	if t.Phase == Failed {
		e.Detail = SafeText(string(t.ErrorCode) + ": " + t.ErrorMessage)
	}
	return e
}

// CheckNew validates t before a store inserts it, as an EINVALID
// *keypair.Error: a UUID id, a project, a server and an owner, a known
// operation, and text fields of valid UTF-8 without NUL (which not every
// engine can store). It puts t.ID in canonical form.
func (t *Task) CheckNew() error {
	id, ok := ParseID(t.ID)
	switch {
	case !ok:
		return keypair.Errorf(keypair.EINVALID, "task id %q is not a UUID", t.ID)
	case t.ProjectID == "" || t.ServerID == "" || t.Owner == "":
		return keypair.Errorf(keypair.EINVALID, "task %s needs a project, a server and an owner", t.ID)
	}
	for _, v := range []string{t.ProjectID, t.UserID, t.ServerID, t.ServerName, t.KeyPairName, t.PublicKey, t.Owner} {
		if !storableText(v) {
			return keypair.Errorf(keypair.EINVALID, "task %s: a field holds NUL or invalid UTF-8", t.ID)
		}
	}
	switch t.Operation {
	case Bind, Replace, Reset, Unbind:
	default:
		return keypair.Errorf(keypair.EINVALID, "task %s: unknown operation %q", t.ID, t.Operation)
	}
	if t.Port < 0 || t.Port > 65535 {
		return keypair.Errorf(keypair.EINVALID, "task %s: port %d is not in 0-65535", t.ID, t.Port)
	}
	t.ID = id
	return nil
}

// storableText reports whether v is valid UTF-8 without NUL.
func storableText(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0)
}

// SafeText returns v with NUL removed, line breaks and tabs made spaces,
// and invalid UTF-8 and every other character a terminal would act on
// rather than show (escape sequences, carriage returns, bidirectional
// overrides) replaced by U+FFFD: an error message built from what a
// server said must be storable by every engine rather than fail the
// task's finish, and must not reach the terminal of whoever reads it as
// commands.
func SafeText(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return -1
		case r == '\n' || r == '\t':
			return ' ' // a multi-line message from sshd -t stays readable
		case !unicode.IsPrint(r):
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(v, "\uFFFD"))
}
