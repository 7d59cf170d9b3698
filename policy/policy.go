// Package policy makes every authorisation decision in keyhaven: given an
// action, who asks (the subject) and what it is about (the target), it
// allows or denies. The rules are few and in one table, so they can be read
// and tested as a whole:
//
//   - a subject holding no role at all may do nothing (a credential whose
//     last role was removed keeps no access);
//   - admin may do everything;
//   - reads (list, show) are for the owner, as are validating and revoking
//     one's own token;
//   - writes (create, update, delete, export, credential management) are for the
//     owner, unless the owner holds only the reader role;
//   - acting on behalf of another user is for admin only.
package policy

import "slices"

// Action is something a subject may be allowed to do.
type Action string

// The actions keyhaven decides on.
const (
	KeyPairCreate    Action = "keypair:create"
	KeyPairList      Action = "keypair:list"
	KeyPairShow      Action = "keypair:show"
	KeyPairDelete    Action = "keypair:delete"
	KeyPairExport    Action = "keypair:export"
	KeyPairUpdate    Action = "keypair:update"
	CredentialCreate Action = "credential:create"
	CredentialList   Action = "credential:list"
	CredentialShow   Action = "credential:show"
	CredentialDelete Action = "credential:delete"
	TokenValidate    Action = "token:validate"
	TokenRevoke      Action = "token:revoke"
	IdentityAdmin    Action = "identity:admin"
	// TaskAssociate and TaskDisassociate put a key pair on a server of the
	// caller's project and take it off again (they log in to the server).
	TaskAssociate    Action = "task:associate"
	TaskDisassociate Action = "task:disassociate"
	// TaskList and TaskShow read the project's association tasks;
	// TaskDelete removes failed ones.
	TaskList   Action = "task:list"
	TaskShow   Action = "task:show"
	TaskDelete Action = "task:delete"
)

// The role names policy knows.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleReader = "reader"
)

// kinds says whether each action only reads; every action must be listed.
var kinds = map[Action]kind{
	KeyPairCreate:    write,
	KeyPairList:      read,
	KeyPairShow:      read,
	KeyPairDelete:    write,
	KeyPairExport:    write,
	KeyPairUpdate:    write,
	CredentialCreate: write,
	CredentialList:   read,
	CredentialShow:   read,
	CredentialDelete: write,
	TokenValidate:    own,
	TokenRevoke:      own,
	IdentityAdmin:    adminOnly,
	TaskAssociate:    write,
	TaskDisassociate: write,
	TaskList:         read,
	TaskShow:         read,
	TaskDelete:       write,
}

type kind int

const (
	// read: the owner, whatever their roles.
	read kind = iota
	// write: the owner, unless they hold only the reader role.
	write
	// own: the owner, whatever their roles; it changes only the owner's
	// own session (validating or revoking their token).
	own
	// adminOnly: admin only.
	adminOnly
)

// Subject is who asks.
type Subject struct {
	UserID    string
	ProjectID string
	Roles     []string
}

// Target is what the action is about: the user owning the object.
type Target struct {
	UserID string
}

// Admin reports whether the subject holds the admin role.
func (s Subject) Admin() bool { return slices.Contains(s.Roles, RoleAdmin) }

// readOnly reports whether the subject's roles allow reads only.
func (s Subject) readOnly() bool {
	return slices.Contains(s.Roles, RoleReader) && !slices.Contains(s.Roles, RoleMember) && !s.Admin()
}

// Denied is the refusal of an action.
type Denied struct {
	Action Action
	// OnBehalf is true when the refusal is for acting on another user.
	OnBehalf bool
}

// Error says what was refused.
func (d *Denied) Error() string { return "policy does not allow " + string(d.Action) }

// Authorize returns nil when subject may perform action on target, and a
// *Denied otherwise. An empty target user means the subject's own.
func Authorize(action Action, subject Subject, target Target) error {
	k, ok := kinds[action]
	if !ok {
		return &Denied{Action: action}
	}
	if len(subject.Roles) == 0 {
		return &Denied{Action: action}
	}
	if subject.Admin() {
		return nil
	}
	if k == adminOnly {
		return &Denied{Action: action}
	}
	if target.UserID != "" && target.UserID != subject.UserID {
		return &Denied{Action: action, OnBehalf: true}
	}
	if k == write && subject.readOnly() {
		return &Denied{Action: action}
	}
	return nil
}
