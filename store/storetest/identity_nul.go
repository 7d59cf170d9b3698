package storetest

import (
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

// testNULLookups: a lookup by an id or name holding NUL or a byte that is
// not UTF-8, which a caller can send in a URL and PostgreSQL's text type
// cannot hold, finds nothing on every engine: identity.ErrNotFound or an
// empty list, never a query error.
func testNULLookups(t *testing.T, s identity.Store) {
	w := newWorld(t, s)
	for _, nul := range []string{"a\x00b", "a\xffb"} {
		nulLookups(t, s, w, nul)
	}
}

func nulLookups(t *testing.T, s identity.Store, w *world, nul string) {
	ctx := t.Context()
	for _, c := range []struct {
		what string
		err  error
	}{
		{"GetUser", second(s.GetUser(ctx, nul))},
		{"GetUserByName", second(s.GetUserByName(ctx, w.d1.ID, nul))},
		{"GetProject", second(s.GetProject(ctx, nul))},
		{"GetProjectByName", second(s.GetProjectByName(ctx, nul, "demo"))},
		{"GetDomain", second(s.GetDomain(ctx, nul))},
		{"GetDomainByName", second(s.GetDomainByName(ctx, nul))},
		{"GetRole", second(s.GetRole(ctx, nul))},
		{"GetRoleByName", second(s.GetRoleByName(ctx, nul))},
		{"GetEC2Credential", second(s.GetEC2Credential(ctx, nul))},
		{"AddAssignment", s.AddAssignment(ctx, identity.Assignment{UserID: w.u1.ID, ProjectID: nul, RoleID: w.member.ID})},
		{"RemoveAssignment", s.RemoveAssignment(ctx, identity.Assignment{UserID: nul, ProjectID: w.p1.ID, RoleID: w.member.ID})},
		{"DeleteEC2Credential", s.DeleteEC2Credential(ctx, w.u1.ID, nul)},
		{"DeleteUser", s.DeleteUser(ctx, nul)},
	} {
		wantIs(t, c.err, identity.ErrNotFound, c.what+" by a string holding NUL")
	}
	users, err := s.ListUsers(ctx, identity.Filter{Name: nul})
	if err != nil || len(users) != 0 {
		t.Errorf("ListUsers by a name holding NUL: %d users, %v", len(users), err)
	}
	names, err := s.RoleNames(ctx, w.u1.ID, nul)
	if err != nil || len(names) != 0 {
		t.Errorf("RoleNames on a project id holding NUL: %v, %v", names, err)
	}
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }
