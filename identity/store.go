package identity

import (
	"context"
	"errors"
	"time"
)

// The built-in identity service keeps Keystone's core objects. IDs are
// 32-character lower-case hex strings, as Keystone's.

// Domain groups users and projects.
type Domain struct {
	ID, Name string
	Enabled  bool
}

// Project is what a token is scoped to and what roles are granted on.
type Project struct {
	ID, Name, DomainID, Description string
	Enabled                         bool
}

// User is someone who can authenticate.
type User struct {
	ID, Name, DomainID string
	// PasswordHash is a PHC-format argon2id hash; never the password.
	PasswordHash string
	Enabled      bool
}

// Role is a named set of permissions, granted on a project.
type Role struct {
	ID, Name string
}

// Assignment grants a role to a user on a project.
type Assignment struct {
	UserID, ProjectID, RoleID string
}

// EC2Credential is an access key / secret key pair of a user on a project:
// keyhaven's AK/SK credentials, managed through Keystone's OS-EC2 API.
type EC2Credential struct {
	// Access is the public access key id.
	Access string
	// SealedSecret is the secret key sealed with the credential key; the
	// plaintext secret is never stored.
	SealedSecret []byte
	UserID       string
	ProjectID    string
	CreatedAt    time.Time
}

// Revocation marks a token (by its audit id) as revoked until it would
// have expired anyway.
type Revocation struct {
	AuditID   string
	ExpiresAt time.Time
}

// AccessKind names what an AccessEvent is about.
type AccessKind string

// The kinds of AccessEvent.
const (
	// AccessUser: the user was disabled, deleted or given a new password.
	AccessUser AccessKind = "user"
	// AccessProject: the project was disabled.
	AccessProject AccessKind = "project"
	// AccessDomain: the domain was disabled.
	AccessDomain AccessKind = "domain"
	// AccessGrant: a role of a user on a project was removed; the subject
	// is GrantSubject(user, project).
	AccessGrant AccessKind = "grant"
)

// GrantSubject is the subject of an AccessGrant event.
func GrantSubject(userID, projectID string) string { return userID + "/" + projectID }

// AccessEvent withdraws access: every token of its subject issued before
// NotBefore stops being valid. Stores write one in the same transaction as
// the change that withdraws access, so every keyhaven instance sharing the
// database learns of it from the store, and a token can never outlive the
// change that revoked it (Keystone's revocation events do the same).
type AccessEvent struct {
	Kind    AccessKind
	Subject string
	// NotBefore is when access was withdrawn, to the microsecond, UTC.
	NotBefore time.Time
}

// AccessSnapshot is what authentication needs to know about withdrawn
// access, small enough to hold in memory and reload every few seconds:
// what is disabled now, and the recent access events.
type AccessSnapshot struct {
	// DisabledUsers are users that are disabled or in a disabled domain.
	DisabledUsers []string
	// DisabledProjects are projects that are disabled or in a disabled
	// domain.
	DisabledProjects []string
	// DisabledDomains are the disabled domains.
	DisabledDomains []string
	// Events are the access events with NotBefore after the time asked for.
	Events []AccessEvent
}

// Store errors; implementations wrap them with context.
var (
	// ErrNotFound: no such object.
	ErrNotFound = errors.New("identity: not found")
	// ErrConflict: an object with that unique name or id already exists.
	ErrConflict = errors.New("identity: already exists")
)

// Filter narrows list queries; empty fields match everything.
type Filter struct {
	DomainID, Name, UserID, ProjectID string
}

// BootstrapPlan is what a first start makes: the Default domain, the
// built-in roles, the admin project and the admin user holding AdminRole
// on it. Store.Bootstrap creates whichever of them is missing.
type BootstrapPlan struct {
	// Domain is the domain of Project and User, found by its ID.
	Domain Domain
	// Roles are found by name; the IDs are used only for roles created.
	Roles []Role
	// Project is found by its name in Domain; its ID is used only when it
	// is created.
	Project Project
	// User is found by its name in Domain; its ID and password hash are
	// used only when it is created, never to change an existing user.
	User User
	// AdminRole names the role (one of Roles) User gets on Project.
	AdminRole string
}

// Store persists the built-in identity service's objects. Every store
// engine implements it and passes the contract suite in
// store/storetest (RunIdentity).
type Store interface {
	CreateDomain(ctx context.Context, d *Domain) error
	GetDomain(ctx context.Context, id string) (*Domain, error)
	GetDomainByName(ctx context.Context, name string) (*Domain, error)

	CreateProject(ctx context.Context, p *Project) error
	GetProject(ctx context.Context, id string) (*Project, error)
	GetProjectByName(ctx context.Context, domainID, name string) (*Project, error)
	// ListProjects honours Filter.DomainID and Filter.Name.
	ListProjects(ctx context.Context, f Filter) ([]*Project, error)

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByName(ctx context.Context, domainID, name string) (*User, error)
	// ListUsers honours Filter.DomainID and Filter.Name.
	ListUsers(ctx context.Context, f Filter) ([]*User, error)
	// SetPassword replaces the password hash, recording an AccessUser
	// event: tokens issued before a password change stop working.
	SetPassword(ctx context.Context, userID, passwordHash string) error
	// UpdateUser reads the user with that id, lets change alter its name,
	// enabled flag and password hash (its id and domain never change) and
	// writes it, all in one transaction, so that two updates at once
	// cannot undo each other (a rename cannot re-enable a user another
	// request has just disabled). It returns the user as written;
	// ErrNotFound for a missing user, ErrConflict when the new name is
	// taken in its domain, and change's own error as it is, with nothing
	// written. Disabling the user or changing its password records an
	// AccessUser event with the change, as SetPassword does.
	UpdateUser(ctx context.Context, id string, change func(*User) error) (*User, error)
	// DeleteUser removes the user with its role assignments and EC2
	// credentials, recording an AccessUser event; ErrNotFound when there is
	// no such user.
	DeleteUser(ctx context.Context, id string) error
	// UpdateProject is UpdateUser for a project's name, description and
	// enabled flag: ErrNotFound, or ErrConflict for a name taken in its
	// domain. Disabling it records an AccessProject event.
	UpdateProject(ctx context.Context, id string, change func(*Project) error) (*Project, error)
	// UpdateDomain is UpdateUser for a domain's name and enabled flag:
	// ErrNotFound, or ErrConflict for a taken name. Disabling it records an
	// AccessDomain event.
	UpdateDomain(ctx context.Context, id string, change func(*Domain) error) (*Domain, error)

	CreateRole(ctx context.Context, r *Role) error
	GetRole(ctx context.Context, id string) (*Role, error)
	GetRoleByName(ctx context.Context, name string) (*Role, error)
	ListRoles(ctx context.Context) ([]*Role, error)

	// AddAssignment is idempotent; it fails with ErrNotFound when the
	// user, project or role does not exist.
	AddAssignment(ctx context.Context, a Assignment) error
	// RemoveAssignment records an AccessGrant event for the user and
	// project with the removal.
	RemoveAssignment(ctx context.Context, a Assignment) error
	// ListAssignments honours Filter.UserID and Filter.ProjectID.
	ListAssignments(ctx context.Context, f Filter) ([]Assignment, error)
	// RoleNames returns the names of the user's roles on the project,
	// sorted.
	RoleNames(ctx context.Context, userID, projectID string) ([]string, error)

	CreateEC2Credential(ctx context.Context, c *EC2Credential) error
	GetEC2Credential(ctx context.Context, access string) (*EC2Credential, error)
	// ListEC2Credentials returns the user's credentials, oldest first.
	ListEC2Credentials(ctx context.Context, userID string) ([]*EC2Credential, error)
	// DeleteEC2Credential removes the user's credential, or ErrNotFound.
	DeleteEC2Credential(ctx context.Context, userID, access string) error

	// Revoke records a revoked token; revoking twice is not an error.
	Revoke(ctx context.Context, r Revocation) error
	// Revocations returns every revocation that has not expired at now.
	Revocations(ctx context.Context, now time.Time) ([]Revocation, error)
	// PruneRevocations forgets revocations that expired before now.
	PruneRevocations(ctx context.Context, now time.Time) error

	// Access returns what is disabled now and the access events with
	// NotBefore after since.
	Access(ctx context.Context, since time.Time) (*AccessSnapshot, error)
	// PruneAccessEvents forgets access events with NotBefore before
	// before: every token they could refuse has expired by then.
	PruneAccessEvents(ctx context.Context, before time.Time) error
	// Bootstrap creates, in one transaction, whatever of p is missing,
	// grants p.AdminRole to the user on the project and records the
	// bootstrap done, leaving everything that exists as it is. Once one
	// is recorded it does nothing, so no start undoes what operators did
	// since (a deleted admin stays deleted). Concurrent calls, in any
	// processes sharing the database, run one after the other. created
	// reports whether this call created the user.
	Bootstrap(ctx context.Context, p BootstrapPlan) (created bool, err error)
}
