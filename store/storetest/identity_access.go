package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

func testRoles(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	upper := &identity.Role{ID: hexID(0x310), Name: "Admin"} // case differs from admin
	must(t, s.CreateRole(ctx, upper), "CreateRole Admin")
	all := []*identity.Role{w.admin, w.member, w.zeta, upper}
	for _, r := range all {
		got, err := s.GetRole(ctx, r.ID)
		same(t, got, err, r, "GetRole "+r.ID)
		got, err = s.GetRoleByName(ctx, r.Name)
		same(t, got, err, r, "GetRoleByName "+r.Name)
	}
	got, err := s.ListRoles(ctx)
	wantListed(t, got, err, all, func(r *identity.Role) string { return r.Name }, "ListRoles")
	for _, r := range []*identity.Role{{ID: hexID(0x320), Name: "member"}, {ID: w.member.ID, Name: "fresh"}} {
		wantIs(t, s.CreateRole(ctx, r), identity.ErrConflict, fmt.Sprintf("CreateRole %+v", r))
	}
	_, err = s.GetRole(ctx, hexID(0x999))
	wantIs(t, err, identity.ErrNotFound, "GetRole of a missing id")
	_, err = s.GetRoleByName(ctx, "MEMBER")
	wantIs(t, err, identity.ErrNotFound, "GetRoleByName of a missing name")
}

// sortedAssignments returns as sorted by user, project and role id.
func sortedAssignments(as []identity.Assignment) []identity.Assignment {
	return slices.SortedFunc(slices.Values(as), func(a, b identity.Assignment) int {
		return strings.Compare(a.UserID+a.ProjectID+a.RoleID, b.UserID+b.ProjectID+b.RoleID)
	})
}

func testAssignments(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	a1 := identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.member.ID}
	a2 := identity.Assignment{UserID: w.u1.ID, ProjectID: w.p2.ID, RoleID: w.admin.ID}
	a3 := identity.Assignment{UserID: w.u2.ID, ProjectID: w.p1.ID, RoleID: w.member.ID}
	a4 := identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.admin.ID}
	for _, a := range []identity.Assignment{a1, a2, a3, a4, a1, a1} { // a1 thrice: idempotent
		must(t, s.AddAssignment(ctx, a), fmt.Sprintf("AddAssignment %+v", a))
	}
	cases := []struct {
		name string
		f    identity.Filter
		want []identity.Assignment
	}{
		{"all", identity.Filter{}, []identity.Assignment{a1, a2, a3, a4}},
		{"user", identity.Filter{UserID: w.u1.ID}, []identity.Assignment{a1, a2, a4}},
		{"project", identity.Filter{ProjectID: w.p1.ID}, []identity.Assignment{a1, a3, a4}},
		{"user and project", identity.Filter{UserID: w.u1.ID, ProjectID: w.p1.ID}, []identity.Assignment{a1, a4}},
		{"nobody", identity.Filter{UserID: w.u3.ID}, nil},
	}
	check := func(when string) {
		t.Helper()
		for _, tc := range cases {
			got, err := s.ListAssignments(ctx, tc.f)
			must(t, err, "ListAssignments "+tc.name)
			if !slices.Equal(sortedAssignments(got), sortedAssignments(tc.want)) {
				t.Errorf("%s: ListAssignments %s = %+v, want %+v", when, tc.name, got, tc.want)
			}
		}
	}
	check("after adding")

	must(t, s.RemoveAssignment(ctx, a4), "RemoveAssignment")
	wantIs(t, s.RemoveAssignment(ctx, a4), identity.ErrNotFound, "RemoveAssignment again")
	wantIs(t, s.RemoveAssignment(ctx, identity.Assignment{UserID: w.u3.ID, ProjectID: w.p3.ID, RoleID: w.admin.ID}),
		identity.ErrNotFound, "RemoveAssignment of a grant never made")
	for i := range cases {
		cases[i].want = slices.DeleteFunc(cases[i].want, func(a identity.Assignment) bool { return a == a4 })
	}
	check("after removing")
}

func testAssignmentUnknownRefs(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	missing := hexID(0x999)
	for _, a := range []identity.Assignment{
		{UserID: missing, ProjectID: w.p1.ID, RoleID: w.admin.ID},
		{UserID: w.u1.ID, ProjectID: missing, RoleID: w.admin.ID},
		{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: missing},
		{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.admin.Name}, // a name is not an id
	} {
		wantIs(t, s.AddAssignment(ctx, a), identity.ErrNotFound, fmt.Sprintf("AddAssignment %+v", a))
	}
	got, err := s.ListAssignments(ctx, identity.Filter{})
	if err != nil || len(got) != 0 {
		t.Errorf("after failed adds ListAssignments = %+v, %v; want none", got, err)
	}
}

func testRoleNames(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	for _, a := range []identity.Assignment{
		{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.member.ID},
		{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.zeta.ID},
		{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.admin.ID},
		{UserID: w.u1.ID, ProjectID: w.p2.ID, RoleID: w.member.ID},
		{UserID: w.u2.ID, ProjectID: w.p2.ID, RoleID: w.admin.ID},
	} {
		must(t, s.AddAssignment(ctx, a), "AddAssignment")
	}
	cases := []struct {
		user, project string
		want          []string
	}{
		{w.u1.ID, w.p1.ID, []string{"Zeta", "admin", "member"}}, // byte order
		{w.u1.ID, w.p2.ID, []string{"member"}},
		{w.u2.ID, w.p2.ID, []string{"admin"}},
		{w.u2.ID, w.p1.ID, nil},
		{hexID(0x999), w.p1.ID, nil},
	}
	for _, tc := range cases {
		got, err := s.RoleNames(ctx, tc.user, tc.project)
		must(t, err, "RoleNames")
		if !slices.Equal(got, tc.want) {
			t.Errorf("RoleNames(%s, %s) = %q, want %q", tc.user, tc.project, got, tc.want)
		}
	}
}

func testRevocations(t *testing.T, s identity.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	revoke := func(id string, expires time.Time) {
		t.Helper()
		must(t, s.Revoke(ctx, identity.Revocation{AuditID: id, ExpiresAt: expires}), "Revoke "+id)
	}
	revoke("live-1h", now.Add(time.Hour))
	revoke("live-2h", now.Add(2*time.Hour).In(time.FixedZone("Y", -7200)))
	revoke("expired", now.Add(-time.Hour))
	revoke("at-now", now)
	revoke("revived", now.Add(-time.Minute))
	revoke("live-1h", now.Add(time.Hour))      // the same again
	revoke("live-1h", now.Add(30*time.Minute)) // earlier: ignored
	revoke("revived", now.Add(3*time.Hour))    // later: kept
	check := func(at time.Time, want map[string]time.Time) {
		t.Helper()
		got, err := s.Revocations(ctx, at)
		must(t, err, "Revocations")
		m := map[string]time.Time{}
		for _, r := range got {
			m[r.AuditID] = r.ExpiresAt
			if r.ExpiresAt.Location() != time.UTC {
				t.Errorf("revocation %s expires in %s, want UTC", r.AuditID, r.ExpiresAt.Location())
			}
		}
		if len(m) != len(got) || len(m) != len(want) {
			t.Errorf("Revocations(%s) = %v, want %v", at, got, want)
		}
		for id, exp := range want {
			if !m[id].Equal(exp) {
				t.Errorf("Revocations(%s): %s expires at %s, want %s", at, id, m[id], exp)
			}
		}
	}
	live := map[string]time.Time{
		"live-1h": now.Add(time.Hour), "live-2h": now.Add(2 * time.Hour), "revived": now.Add(3 * time.Hour),
	}
	check(now, live)
	all := map[string]time.Time{"expired": now.Add(-time.Hour), "at-now": now}
	for id, exp := range live {
		all[id] = exp
	}
	check(now.Add(-24*time.Hour), all)
	check(now.Add(90*time.Minute), map[string]time.Time{"live-2h": live["live-2h"], "revived": live["revived"]})

	must(t, s.PruneRevocations(ctx, now), "PruneRevocations")
	check(now.Add(-24*time.Hour), live)
	must(t, s.PruneRevocations(ctx, now), "PruneRevocations again")
	check(now, live)
}

func testEmptyInput(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	for name, err := range map[string]error{
		"domain id":    s.CreateDomain(ctx, &identity.Domain{Name: "x"}),
		"domain name":  s.CreateDomain(ctx, &identity.Domain{ID: hexID(0x900)}),
		"project id":   s.CreateProject(ctx, &identity.Project{Name: "x", DomainID: w.d1.ID}),
		"project name": s.CreateProject(ctx, &identity.Project{ID: hexID(0x901), DomainID: w.d1.ID}),
		"user id":      s.CreateUser(ctx, &identity.User{Name: "x", DomainID: w.d1.ID}),
		"user name":    s.CreateUser(ctx, &identity.User{ID: hexID(0x902), DomainID: w.d1.ID}),
		"role id":      s.CreateRole(ctx, &identity.Role{Name: "x"}),
		"role name":    s.CreateRole(ctx, &identity.Role{ID: hexID(0x903)}),
		"access key":   s.CreateEC2Credential(ctx, &identity.EC2Credential{SealedSecret: sealed(1), UserID: w.u1.ID, ProjectID: w.p1.ID}),
		"audit id":     s.Revoke(ctx, identity.Revocation{ExpiresAt: time.Now().Add(time.Hour)}),
	} {
		if err == nil {
			t.Errorf("create with an empty %s succeeded", name)
		}
	}
}

// testIdentityConcurrent races writers on one name: exactly one create
// wins, the others get ErrConflict; racing idempotent writes all succeed.
func testIdentityConcurrent(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	const n = 16
	errs := make([]error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateRole(ctx, &identity.Role{ID: hexID(0x400 + i), Name: "contended"}) })
		wg.Go(func() {
			errs[n+i] = s.AddAssignment(ctx, identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.admin.ID})
		})
		wg.Go(func() {
			errs[2*n+i] = s.Revoke(ctx, identity.Revocation{AuditID: "a", ExpiresAt: time.Now().Add(time.Duration(i) * time.Minute)})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil && i < n:
			won++
		case err == nil:
		case i < n && errors.Is(err, identity.ErrConflict):
		default:
			t.Errorf("write %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent creates of one role name succeeded, want 1", won)
	}
	names, err := s.RoleNames(ctx, w.u1.ID, w.p1.ID)
	if err != nil || !slices.Equal(names, []string{"admin"}) {
		t.Errorf("after concurrent adds RoleNames = %q, %v; want [admin]", names, err)
	}
}

func testIdentityCancelled(t *testing.T, s identity.Store) {
	w := newWorld(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateRole(ctx, &identity.Role{ID: hexID(0x500), Name: "late"}); err == nil {
		t.Error("CreateRole with a cancelled context succeeded")
	}
	if err := s.AddAssignment(ctx, identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.admin.ID}); err == nil {
		t.Error("AddAssignment with a cancelled context succeeded")
	}
	if _, err := s.GetUser(ctx, w.u1.ID); err == nil {
		t.Error("GetUser with a cancelled context succeeded")
	}
	if _, err := s.ListProjects(ctx, identity.Filter{}); err == nil {
		t.Error("ListProjects with a cancelled context succeeded")
	}
	if _, err := s.GetRoleByName(t.Context(), "late"); !errors.Is(err, identity.ErrNotFound) {
		t.Errorf("after a cancelled CreateRole GetRoleByName = %v, want ErrNotFound", err)
	}
}
