package builtin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/keyhaven/keyhaven/identity"
)

// The roles bootstrap creates.
var bootstrapRoles = []string{"admin", "member", "reader"}

// Bootstrap makes, on first start, the Default domain, the roles admin,
// member and reader, an admin project and an admin user holding the admin
// role on it. password is the admin's password; when empty one is
// generated. It returns the password it set, or "" when the admin user
// already existed (nothing is changed then).
func (s *Service) Bootstrap(ctx context.Context, password string) (string, error) {
	d, err := s.store.GetDomain(ctx, DefaultDomainID)
	if errors.Is(err, identity.ErrNotFound) {
		d = &identity.Domain{ID: DefaultDomainID, Name: "Default", Enabled: true}
		err = s.store.CreateDomain(ctx, d)
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	for _, name := range bootstrapRoles {
		if _, err := s.EnsureRole(ctx, name); err != nil {
			return "", fmt.Errorf("bootstrap: %w", err)
		}
	}
	if _, err := s.store.GetUserByName(ctx, d.ID, "admin"); err == nil {
		return "", nil
	} else if !errors.Is(err, identity.ErrNotFound) {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	p, err := s.EnsureProject(ctx, d.ID, "admin")
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if password == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	u, err := s.CreateUser(ctx, d.ID, "admin", password)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.Grant(ctx, u.ID, p.ID, "admin"); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return password, nil
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
	return s.store.AddAssignment(ctx, identity.Assignment{UserID: userID, ProjectID: projectID, RoleID: r.ID})
}

var errEmptyPassword = identity.Invalid("password", "a password must not be empty.")

// UpdateUser changes what is given of a user's name, password and enabled
// flag; a refused name or an empty password is an *identity.InvalidError.
// Disabling the user or changing its password ends its tokens (and those
// minted from them), as in Keystone.
func (s *Service) UpdateUser(ctx context.Context, id string, name, password *string, enabled *bool) (*identity.User, error) {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if name != nil {
		if err := identity.ValidateName("user", *name); err != nil {
			return nil, err
		}
		u.Name = *name
	}
	if password != nil {
		if *password == "" {
			return nil, errEmptyPassword
		}
		if u.PasswordHash, err = s.hasher.Hash(ctx, *password); err != nil {
			return nil, err
		}
	}
	if enabled != nil {
		u.Enabled = *enabled
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	// Disabling the user or changing its password ends its tokens.
	s.applied(ctx)
	return u, nil
}
