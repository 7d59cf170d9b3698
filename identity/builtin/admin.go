package builtin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/keyhaven/keyhaven/identity"
)

// The roles bootstrap creates.
var bootstrapRoles = []string{"admin", "member", "reader"}

// Bootstrap makes, on first start, the Default domain, the roles admin,
// member and reader, an admin project and an admin user holding the admin
// role on it, all in one store transaction, so a crash leaves all or
// nothing, and instances starting together on one database make one set.
// The store records the bootstrap done in the same transaction; later
// starts then change nothing, so what operators did to the admin since
// (deleted it, withdrew its role) stays. A database an older keyhaven
// bootstrapped records nothing: its next start completes, once, what an
// interrupted bootstrap left missing, but never changes an existing admin
// user. password is the admin's password; when empty one is generated. It
// returns the password only when this call created the admin user, ""
// otherwise.
func (s *Service) Bootstrap(ctx context.Context, password string) (string, error) {
	done, err := s.bootstrapped(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if done {
		return "", nil // the usual start: reads only, no hashing
	}
	if password == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	plan := identity.BootstrapPlan{
		Domain:    identity.Domain{ID: DefaultDomainID, Name: "Default", Enabled: true},
		Project:   identity.Project{ID: NewID(), Name: "admin", DomainID: DefaultDomainID, Enabled: true},
		User:      identity.User{ID: NewID(), Name: "admin", DomainID: DefaultDomainID, PasswordHash: hash, Enabled: true},
		AdminRole: identity.AdminRole,
	}
	for _, name := range bootstrapRoles {
		plan.Roles = append(plan.Roles, identity.Role{ID: NewID(), Name: name})
	}
	created, err := s.store.Bootstrap(ctx, plan)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if !created {
		return "", nil
	}
	return password, nil
}

// bootstrapped reports whether everything Bootstrap makes is there, so
// that the usual start skips the password hash. When it is not, the store
// may still have the bootstrap recorded (an operator renamed or demoted
// the admin) and then changes nothing: that start pays one hash.
func (s *Service) bootstrapped(ctx context.Context) (bool, error) {
	for _, name := range bootstrapRoles {
		if _, err := s.store.GetRoleByName(ctx, name); err != nil {
			return false, ignoreNotFound(err)
		}
	}
	u, err := s.store.GetUserByName(ctx, DefaultDomainID, "admin")
	if err != nil {
		return false, ignoreNotFound(err)
	}
	p, err := s.store.GetProjectByName(ctx, DefaultDomainID, "admin")
	if err != nil {
		return false, ignoreNotFound(err)
	}
	roles, err := s.store.RoleNames(ctx, u.ID, p.ID)
	if err != nil {
		return false, err
	}
	return slices.Contains(roles, identity.AdminRole), nil
}

// ignoreNotFound returns nil for identity.ErrNotFound, else err.
func ignoreNotFound(err error) error {
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	return err
}

// EnsureRole returns the role called name, creating it if missing.
func (s *Service) EnsureRole(ctx context.Context, name string) (*identity.Role, error) {
	r, err := s.store.GetRoleByName(ctx, name)
	if errors.Is(err, identity.ErrNotFound) {
		r = &identity.Role{ID: NewID(), Name: name}
		err = s.store.CreateRole(ctx, r)
	}
	return r, err
}

// EnsureProject returns the project called name in domainID, creating it
// if missing.
func (s *Service) EnsureProject(ctx context.Context, domainID, name string) (*identity.Project, error) {
	p, err := s.store.GetProjectByName(ctx, domainID, name)
	if errors.Is(err, identity.ErrNotFound) {
		return s.CreateProject(ctx, domainID, name, "")
	}
	return p, err
}

// CreateProject makes an enabled project in domainID, after checking its
// name (identity.ValidateName); identity.ErrConflict when the name is
// taken there.
func (s *Service) CreateProject(ctx context.Context, domainID, name, description string) (*identity.Project, error) {
	if err := identity.ValidateName("project", name); err != nil {
		return nil, err
	}
	if err := identity.ValidateDescription(description); err != nil {
		return nil, err
	}
	p := &identity.Project{ID: NewID(), Name: name, DomainID: domainID, Description: description, Enabled: true}
	if err := s.store.CreateProject(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// CreateUser makes an enabled user with a password, after checking its
// name (identity.ValidateName); a refused name or an empty password is an
// *identity.InvalidError.
func (s *Service) CreateUser(ctx context.Context, domainID, name, password string) (*identity.User, error) {
	if err := identity.ValidateName("user", name); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, errEmptyPassword
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &identity.User{ID: NewID(), Name: name, DomainID: domainID, PasswordHash: hash, Enabled: true}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Grant gives the user the role (by name) on the project.
func (s *Service) Grant(ctx context.Context, userID, projectID, role string) error {
	r, err := s.store.GetRoleByName(ctx, role)
	if err != nil {
		return fmt.Errorf("role %q: %w", role, err)
	}
	err = s.store.AddAssignment(ctx, identity.Assignment{UserID: userID, ProjectID: projectID, RoleID: r.ID})
	// Cached AK/SK principals carry roles: the new one holds at once.
	s.secrets.clear()
	return err
}

var errEmptyPassword = identity.Invalid("password", "a password must not be empty.")

// UpdateUser changes what is given of a user's name, password and enabled
// flag; a refused name or an empty password is an *identity.InvalidError.
// Disabling the user or changing its password ends its tokens (and those
// minted from them), as in Keystone.
func (s *Service) UpdateUser(ctx context.Context, id string, name, password *string, enabled *bool) (*identity.User, error) {
	if name != nil {
		if err := identity.ValidateName("user", *name); err != nil {
			return nil, err
		}
	}
	// The hash first, outside the store's transaction: it takes tens of
	// milliseconds.
	hash := ""
	if password != nil {
		if *password == "" {
			return nil, errEmptyPassword
		}
		var err error
		if hash, err = s.hasher.Hash(ctx, *password); err != nil {
			return nil, err
		}
	}
	// The store reads, changes and writes in one transaction: a change
	// committed meanwhile by another request is not undone.
	u, err := s.store.UpdateUser(ctx, id, func(u *identity.User) error {
		if name != nil {
			u.Name = *name
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if enabled != nil {
			u.Enabled = *enabled
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Disabling the user or changing its password ends its tokens.
	s.applied(ctx)
	return u, nil
}
