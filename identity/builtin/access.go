package builtin

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/token"
)

// access is what this instance knows of withdrawn access, held in memory
// so that authenticating a request reads no database: what is disabled,
// and since when each user, project, domain and user-on-project grant
// refuses older tokens. Reload refreshes it from the store, where every
// instance records the changes it makes, so a change made anywhere takes
// effect everywhere within the reload interval (and at once on the
// instance that made it).
type access struct {
	mu        sync.RWMutex
	users     map[string]bool
	projects  map[string]bool
	domains   map[string]bool
	notBefore map[identity.AccessKind]map[string]time.Time
}

func newAccess() *access {
	return &access{notBefore: map[identity.AccessKind]map[string]time.Time{}}
}

// set replaces the state with a snapshot read from the store.
func (a *access) set(snap *identity.AccessSnapshot) {
	set := func(ids []string) map[string]bool {
		m := make(map[string]bool, len(ids))
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	nb := map[identity.AccessKind]map[string]time.Time{}
	for _, e := range snap.Events {
		if nb[e.Kind] == nil {
			nb[e.Kind] = map[string]time.Time{}
		}
		if e.NotBefore.After(nb[e.Kind][e.Subject]) {
			nb[e.Kind][e.Subject] = e.NotBefore
		}
	}
	users, projects, domains := set(snap.DisabledUsers), set(snap.DisabledProjects), set(snap.DisabledDomains)
	a.mu.Lock()
	a.users, a.projects, a.domains, a.notBefore = users, projects, domains, nb
	a.mu.Unlock()
}

// withdrawn reports whether an event of kind about subject came after
// issued.
func (a *access) withdrawn(kind identity.AccessKind, subject string, issued time.Time) bool {
	nb, ok := a.notBefore[kind][subject]
	return ok && issued.Before(nb)
}

// tokenAllowed reports whether nothing withdrew the access a token grants:
// its user, project and their domains are enabled, and no access event
// about them or the user's grants on the project came after it was issued.
func (a *access) tokenAllowed(p *token.Payload) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.users[p.UserID] || a.domains[p.DomainID] ||
		a.withdrawn(identity.AccessUser, p.UserID, p.IssuedAt) ||
		a.withdrawn(identity.AccessDomain, p.DomainID, p.IssuedAt) {
		return false
	}
	if p.ProjectID == "" {
		return true
	}
	return !a.projects[p.ProjectID] && !a.domains[p.ProjectDomainID] &&
		!a.withdrawn(identity.AccessProject, p.ProjectID, p.IssuedAt) &&
		!a.withdrawn(identity.AccessDomain, p.ProjectDomainID, p.IssuedAt) &&
		!a.withdrawn(identity.AccessGrant, identity.GrantSubject(p.UserID, p.ProjectID), p.IssuedAt)
}

// enabled reports whether the user, its domain and the project (with its
// domain) are enabled: what an EC2 credential, which has no issue time,
// needs besides the user's current roles.
func (a *access) enabled(userID, domainID, projectID string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return !a.users[userID] && !a.domains[domainID] && !a.projects[projectID]
}

// Reload refreshes what this instance knows of revoked tokens and
// withdrawn access from the store, so changes made by other keyhaven
// processes take effect here. It only reads: it runs every few seconds on
// every instance.
func (s *Service) Reload(ctx context.Context) error {
	// One at a time: reloads run periodically, after each change and
	// before each rescope, and one that read before a change must not set
	// its snapshot after one that read since.
	s.reloading.Lock()
	defer s.reloading.Unlock()
	now := s.now()
	revs, err := s.store.Revocations(ctx, now)
	if err != nil {
		return err
	}
	m := make(map[string]time.Time, len(revs))
	for _, r := range revs {
		m[r.AuditID] = r.ExpiresAt
	}
	// A token lives at most the lifetime from its issue, so an event
	// older than that refuses no token that is still alive.
	snap, err := s.store.Access(ctx, now.Add(-s.lifetime))
	if err != nil {
		return err
	}
	s.tokens.SetRevocations(m, now)
	s.access.set(snap)
	s.secrets.clear()
	return nil
}

// Prune forgets, in the store, the revocations and access events that can
// no longer refuse a live token.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	if err := s.store.PruneRevocations(ctx, now); err != nil {
		return err
	}
	// Pruning keeps a day more than this instance needs, for instances
	// sharing the database with a longer token lifetime.
	return s.store.PruneAccessEvents(ctx, now.Add(-s.lifetime-24*time.Hour))
}

// CurrentRoles returns the roles userID holds on projectID now, read from
// the store: none when the user is deleted or disabled, or the project or
// the domain of either is disabled. A task that waited checks it before
// it acts for its user (task.Access), as a token is checked at each
// request.
func (s *Service) CurrentRoles(ctx context.Context, userID, projectID string) ([]string, error) {
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProject(ctx, projectID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled || !p.Enabled {
		return nil, nil
	}
	for _, id := range []string{u.DomainID, p.DomainID} {
		d, err := s.store.GetDomain(ctx, id)
		if errors.Is(err, identity.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !d.Enabled {
			return nil, nil
		}
	}
	return s.store.RoleNames(ctx, userID, projectID)
}
