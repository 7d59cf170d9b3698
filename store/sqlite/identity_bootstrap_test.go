package sqlite

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

// TestBootstrapSeparateConnections bootstraps through several Stores on
// one file at once, as separate processes do (each has its own writer
// connection, so only BEGIN IMMEDIATE orders them): one creates the
// admin, and one of everything results.
func TestBootstrapSeparateConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	const n = 4
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openTest(t, path, Options{})
	}
	plan := func(i int) identity.BootstrapPlan {
		id := func(k int) string { return fmt.Sprintf("%032x", 0x100*(i+1)+k) }
		p := identity.BootstrapPlan{
			Domain:    identity.Domain{ID: "default", Name: "Default", Enabled: true},
			Project:   identity.Project{ID: id(1), Name: "admin", DomainID: "default", Enabled: true},
			User:      identity.User{ID: id(2), Name: "admin", DomainID: "default", PasswordHash: "h", Enabled: true},
			AdminRole: "admin",
		}
		for k, name := range []string{"admin", "member", "reader"} {
			p.Roles = append(p.Roles, identity.Role{ID: id(10 + k), Name: name})
		}
		return p
	}
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { created[i], errs[i] = s.Bootstrap(t.Context(), plan(i)) })
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d stores created the admin, want 1", winners)
	}
	ctx := t.Context()
	users, _ := stores[0].ListUsers(ctx, identity.Filter{})
	projects, _ := stores[0].ListProjects(ctx, identity.Filter{})
	roles, _ := stores[0].ListRoles(ctx)
	assignments, _ := stores[0].ListAssignments(ctx, identity.Filter{})
	if len(users) != 1 || len(projects) != 1 || len(roles) != 3 || len(assignments) != 1 {
		t.Fatalf("%d users, %d projects, %d roles, %d assignments; want 1, 1, 3, 1", len(users), len(projects), len(roles), len(assignments))
	}
}
