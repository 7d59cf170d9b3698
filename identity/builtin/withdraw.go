package builtin

import (
	"context"

	"github.com/keyhaven/keyhaven/identity"
)

// The changes that withdraw access. The store records each with its
// access event; the service then reloads at once, so the change holds on
// this instance from the moment it is acknowledged, and on every other
// within their reload interval.

// applied reloads after a change that may withdraw access. The change is
// committed whatever happens here: a failed reload is retried by the
// periodic one.
func (s *Service) applied(ctx context.Context) {
	_ = s.Reload(ctx)
}

// DeleteUser deletes a user with its role assignments and EC2 credentials;
// its tokens stop working.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.applied(ctx)
	return nil
}

// Ungrant removes a role of a user on a project; the user's tokens on the
// project stop working (Keystone revokes them too), and new ones carry
// what roles remain.
func (s *Service) Ungrant(ctx context.Context, a identity.Assignment) error {
	if err := s.store.RemoveAssignment(ctx, a); err != nil {
		return err
	}
	s.applied(ctx)
	return nil
}

// ProjectChange is what an update of a project may change; nil fields stay.
type ProjectChange struct {
	Name, Description *string
	Enabled           *bool
}

// UpdateProject changes a project; disabling it ends the tokens scoped to
// it and refuses logins into it.
func (s *Service) UpdateProject(ctx context.Context, id string, c ProjectChange) (*identity.Project, error) {
	if c.Name != nil {
		if err := identity.ValidateName("project", *c.Name); err != nil {
			return nil, err
		}
	}
	if c.Description != nil {
		if err := identity.ValidateDescription(*c.Description); err != nil {
			return nil, err
		}
	}
	p, err := s.store.UpdateProject(ctx, id, func(p *identity.Project) error {
		if c.Name != nil {
			p.Name = *c.Name
		}
		if c.Description != nil {
			p.Description = *c.Description
		}
		if c.Enabled != nil {
			p.Enabled = *c.Enabled
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.applied(ctx)
	return p, nil
}

// DomainChange is what an update of a domain may change; nil fields stay.
type DomainChange struct {
	Name    *string
	Enabled *bool
}

// UpdateDomain changes a domain; disabling it ends the tokens of its users
// and of its projects and refuses logins into them.
func (s *Service) UpdateDomain(ctx context.Context, id string, c DomainChange) (*identity.Domain, error) {
	if c.Name != nil {
		if err := identity.ValidateName("domain", *c.Name); err != nil {
			return nil, err
		}
	}
	d, err := s.store.UpdateDomain(ctx, id, func(d *identity.Domain) error {
		if c.Name != nil {
			d.Name = *c.Name
		}
		if c.Enabled != nil {
			d.Enabled = *c.Enabled
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.applied(ctx)
	return d, nil
}
