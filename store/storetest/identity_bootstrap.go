package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

// bootstrapPlan returns a plan whose names carry tag (so several plans can
// share one store without sharing roles) and whose new ids start at base.
func bootstrapPlan(tag string, base int) identity.BootstrapPlan {
	domain := "default" + tag
	p := identity.BootstrapPlan{
		Domain:    identity.Domain{ID: domain, Name: "Default" + tag, Enabled: true},
		Project:   identity.Project{ID: hexID(base + 1), Name: "admin", DomainID: domain, Enabled: true},
		User:      identity.User{ID: hexID(base + 2), Name: "admin", DomainID: domain, PasswordHash: fmt.Sprintf("$argon2id$plan-%d", base), Enabled: true},
		AdminRole: "admin" + tag,
	}
	for i, name := range []string{"admin", "member", "reader"} {
		p.Roles = append(p.Roles, identity.Role{ID: hexID(base + 10 + i), Name: name + tag})
	}
	return p
}

// checkBootstrapped fails unless s holds exactly one of each object p
// names, the user holds p.AdminRole on the project, and the user is want
// (by id and password hash) when want is not nil.
func checkBootstrapped(t *testing.T, s identity.Store, p identity.BootstrapPlan, want *identity.User) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetDomain(ctx, p.Domain.ID); err != nil {
		t.Fatalf("domain: %v", err)
	}
	users, err := s.ListUsers(ctx, identity.Filter{DomainID: p.Domain.ID, Name: p.User.Name})
	if err != nil || len(users) != 1 {
		t.Fatalf("admin users: %d, %v; want 1", len(users), err)
	}
	if want != nil && (users[0].ID != want.ID || users[0].PasswordHash != want.PasswordHash) {
		t.Fatalf("the existing admin user was changed: %+v, want %+v", users[0], want)
	}
	projects, err := s.ListProjects(ctx, identity.Filter{DomainID: p.Domain.ID, Name: p.Project.Name})
	if err != nil || len(projects) != 1 {
		t.Fatalf("admin projects: %d, %v; want 1", len(projects), err)
	}
	roles, err := s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Roles {
		n := 0
		for _, have := range roles {
			if have.Name == r.Name {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d roles called %q, want 1", n, r.Name)
		}
	}
	names, err := s.RoleNames(ctx, users[0].ID, projects[0].ID)
	if err != nil || !slices.Equal(names, []string{p.AdminRole}) {
		t.Fatalf("the admin's roles on the admin project: %q, %v; want [%s]", names, err, p.AdminRole)
	}
}

func testBootstrapFresh(t *testing.T, s identity.Store) {
	ctx := t.Context()
	p := bootstrapPlan("", 0x600)
	created, err := s.Bootstrap(ctx, p)
	if err != nil || !created {
		t.Fatalf("first Bootstrap: created %v, %v; want true", created, err)
	}
	want := p.User
	checkBootstrapped(t, s, p, &want)
	again := bootstrapPlan("", 0x700) // a later start: new ids, another hash
	created, err = s.Bootstrap(ctx, again)
	if err != nil || created {
		t.Fatalf("second Bootstrap: created %v, %v; want false", created, err)
	}
	checkBootstrapped(t, s, p, &want)
}

// identityTest is one subtest of RunIdentity, run on a store of its own
// (an alias, so it is the type of RunIdentity's table).
type identityTest = struct {
	name string
	fn   func(t *testing.T, s identity.Store)
}

// bootstrapRepairTests start from what an interrupted bootstrap of an
// older version (which recorded nothing) could leave: Bootstrap completes
// it and keeps the user. Each needs a store of its own, as the first
// Bootstrap records the bootstrap done.
func bootstrapRepairTests() []identityTest {
	tests := []struct {
		name                   string
		roles, project, assign bool
	}{
		{"UserWithoutRole", true, true, false},
		{"UserWithoutProject", true, false, false},
		{"UserOnly", false, false, false},
		{"Complete", true, true, true},
	}
	var out []identityTest
	for _, tc := range tests {
		out = append(out, identityTest{"BootstrapRepair" + tc.name, func(t *testing.T, s identity.Store) {
			ctx := t.Context()
			old := bootstrapPlan("", 0x1000) // what the older version made
			must(t, s.CreateDomain(ctx, &old.Domain), "CreateDomain")
			if tc.roles {
				for _, r := range old.Roles {
					must(t, s.CreateRole(ctx, &r), "CreateRole")
				}
			}
			if tc.project {
				must(t, s.CreateProject(ctx, &old.Project), "CreateProject")
			}
			must(t, s.CreateUser(ctx, &old.User), "CreateUser")
			if tc.assign {
				must(t, s.AddAssignment(ctx, identity.Assignment{UserID: old.User.ID, ProjectID: old.Project.ID, RoleID: old.Roles[0].ID}), "AddAssignment")
			}
			created, err := s.Bootstrap(ctx, bootstrapPlan("", 0x1800))
			if err != nil || created {
				t.Fatalf("Bootstrap: created %v, %v; want false", created, err)
			}
			checkBootstrapped(t, s, old, &old.User)
			if tc.project {
				if _, err := s.GetProject(ctx, old.Project.ID); err != nil {
					t.Fatalf("the existing project was replaced: %v", err)
				}
			}
		}})
	}
	return out
}

// testBootstrapDoneOnce: once a bootstrap is done, what operators change
// afterwards (the admin renamed away, its role withdrawn) stays.
func testBootstrapDoneOnce(t *testing.T, s identity.Store) {
	ctx := t.Context()
	p := bootstrapPlan("", 0xa00)
	if _, err := s.Bootstrap(ctx, p); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUser(ctx, p.User.ID)
	must(t, err, "GetUser")
	u.Name = "root"
	must(t, putUser(ctx, s, u), "UpdateUser")
	must(t, s.RemoveAssignment(ctx, identity.Assignment{UserID: p.User.ID, ProjectID: p.Project.ID, RoleID: p.Roles[0].ID}), "RemoveAssignment")
	created, err := s.Bootstrap(ctx, bootstrapPlan("", 0xb00))
	if err != nil || created {
		t.Fatalf("Bootstrap after a done one: created %v, %v; want false", created, err)
	}
	if users, err := s.ListUsers(ctx, identity.Filter{Name: "admin"}); err != nil || len(users) != 0 {
		t.Errorf("a later Bootstrap made a new admin user: %v, %v", users, err)
	}
	if names, err := s.RoleNames(ctx, p.User.ID, p.Project.ID); err != nil || len(names) != 0 {
		t.Errorf("a later Bootstrap granted the withdrawn role again: %q, %v", names, err)
	}
}

// testBootstrapAtomic makes the last insert of a bootstrap fail: nothing
// of it may remain.
func testBootstrapAtomic(t *testing.T, s identity.Store) {
	ctx := t.Context()
	other := &identity.Domain{ID: hexID(0x800), Name: "other", Enabled: true}
	must(t, s.CreateDomain(ctx, other), "CreateDomain")
	p := bootstrapPlan("", 0x900)
	taken := &identity.User{ID: p.User.ID, Name: "someone", DomainID: other.ID}
	must(t, s.CreateUser(ctx, taken), "CreateUser")
	created, err := s.Bootstrap(ctx, p)
	if created || !errors.Is(err, identity.ErrConflict) {
		t.Fatalf("Bootstrap with a taken user id: created %v, %v; want an ErrConflict", created, err)
	}
	if _, err := s.GetDomain(ctx, p.Domain.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("a failed Bootstrap left its domain: %v", err)
	}
	if roles, err := s.ListRoles(ctx); err != nil || len(roles) != 0 {
		t.Errorf("a failed Bootstrap left roles: %v, %v", roles, err)
	}
}

// testBootstrapConcurrent runs several bootstraps at once, as instances
// starting together do: one creates the admin, the others find it.
func testBootstrapConcurrent(t *testing.T, s identity.Store) {
	ctx := t.Context()
	const n = 8
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { created[i], errs[i] = s.Bootstrap(ctx, bootstrapPlan("", 0x100*(i+1))) })
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Bootstrap %d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent bootstraps reported creating the admin, want 1", winners)
	}
	checkBootstrapped(t, s, bootstrapPlan("", 0), nil)
}
