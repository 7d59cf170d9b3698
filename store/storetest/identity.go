package storetest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

// RunIdentity runs the identity.Store contract suite against the engine
// open makes. Each subtest calls open once and must get a new, empty store
// of its own; when the store has a Close() error method RunIdentity calls
// it as the subtest ends, and open must not close it itself.
//
// Beyond what identity.Store's comments say, the suite pins down: IDs are
// the caller's and empty IDs or names are refused; names compare byte for
// byte and sort in byte order; RemoveAssignment and DeleteEC2Credential of
// something that is not there fail with identity.ErrNotFound; a zero
// EC2Credential.CreatedAt is set to now, and times come back in UTC to the
// microsecond; PruneRevocations(now) forgets exactly the revocations
// Revocations(now) no longer returns.
func RunIdentity(t *testing.T, open func(t *testing.T) identity.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s identity.Store)
	}{
		{"Domains", testDomains},
		{"Projects", testProjects},
		{"ListProjects", testListProjects},
		{"Users", testUsers},
		{"ListUsers", testListUsers},
		{"SetPassword", testSetPassword},
		{"UpdateUser", testUpdateUser},
		{"Roles", testRoles},
		{"Assignments", testAssignments},
		{"AssignmentUnknownRefs", testAssignmentUnknownRefs},
		{"RoleNames", testRoleNames},
		{"EC2Credentials", testEC2},
		{"EC2List", testEC2List},
		{"EC2Errors", testEC2Errors},
		{"Revocations", testRevocations},
		{"AccessDisabled", testAccessDisabled},
		{"AccessEvents", testAccessEvents},
		{"UpdateProjectDomain", testUpdateProjectDomain},
		{"UpdateAtomic", testUpdateAtomic},
		{"EmptyInput", testEmptyInput},
		{"NULLookups", testNULLookups},
		{"ConcurrentWrites", testIdentityConcurrent},
		{"CancelledContext", testIdentityCancelled},
		{"BootstrapFresh", testBootstrapFresh},
		{"BootstrapDoneOnce", testBootstrapDoneOnce},
		{"BootstrapAtomic", testBootstrapAtomic},
		{"BootstrapConcurrent", testBootstrapConcurrent},
	}
	tests = append(tests, bootstrapRepairTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			if c, ok := s.(io.Closer); ok {
				t.Cleanup(func() {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
			}
			tc.fn(t, s)
		})
	}
}

// hexID returns a Keystone-style id: 32 lower-case hex digits.
func hexID(n int) string { return fmt.Sprintf("%032x", n) }

// must fails the test when err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantIs fails the test unless errors.Is(err, target).
func wantIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one that errors.Is %v", what, err, target)
	}
}

// world is a small identity fixture: two domains, three projects, three
// users (two called alice, in different domains) and three roles.
type world struct {
	d1, d2     *identity.Domain
	p1, p2, p3 *identity.Project
	u1, u2, u3 *identity.User
	admin      *identity.Role
	member     *identity.Role
	zeta       *identity.Role // upper-case: sorts before the others in byte order
}

// newWorld creates the fixture in s.
func newWorld(t *testing.T, s identity.Store) *world {
	t.Helper()
	w := &world{
		d1:     &identity.Domain{ID: "default", Name: "Default", Enabled: true},
		d2:     &identity.Domain{ID: hexID(2), Name: "other", Enabled: true},
		admin:  &identity.Role{ID: hexID(0x301), Name: "admin"},
		member: &identity.Role{ID: hexID(0x302), Name: "member"},
		zeta:   &identity.Role{ID: hexID(0x303), Name: "Zeta"},
	}
	w.p1 = &identity.Project{ID: hexID(0x101), Name: "demo", DomainID: w.d1.ID, Enabled: true}
	w.p2 = &identity.Project{ID: hexID(0x102), Name: "admin", DomainID: w.d1.ID, Description: "ops", Enabled: true}
	w.p3 = &identity.Project{ID: hexID(0x103), Name: "demo", DomainID: w.d2.ID}
	w.u1 = &identity.User{ID: hexID(0x201), Name: "alice", DomainID: w.d1.ID, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaDE", Enabled: true}
	w.u2 = &identity.User{ID: hexID(0x202), Name: "bob", DomainID: w.d1.ID, Enabled: true}
	w.u3 = &identity.User{ID: hexID(0x203), Name: "alice", DomainID: w.d2.ID, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaDM"}
	ctx := t.Context()
	for _, d := range []*identity.Domain{w.d1, w.d2} {
		must(t, s.CreateDomain(ctx, d), "CreateDomain "+d.Name)
	}
	for _, p := range []*identity.Project{w.p1, w.p2, w.p3} {
		must(t, s.CreateProject(ctx, p), "CreateProject "+p.Name)
	}
	for _, u := range []*identity.User{w.u1, w.u2, w.u3} {
		must(t, s.CreateUser(ctx, u), "CreateUser "+u.Name)
	}
	for _, r := range []*identity.Role{w.admin, w.member, w.zeta} {
		must(t, s.CreateRole(ctx, r), "CreateRole "+r.Name)
	}
	return w
}

// same fails the test unless got is a copy of want.
func same[T comparable](t *testing.T, got *T, err error, want *T, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got == nil || *got != *want {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func testDomains(t *testing.T, s identity.Store) {
	ctx := t.Context()
	cases := []*identity.Domain{
		{ID: "default", Name: "Default", Enabled: true},
		{ID: hexID(1), Name: "default", Enabled: true}, // differs from "Default" only in case
		{ID: hexID(2), Name: "disabled"},
		{ID: hexID(3), Name: "ünïcode dömain ✓", Enabled: true},
		{ID: hexID(4), Name: strings.Repeat("n", 255), Enabled: true},
	}
	for _, d := range cases {
		in := *d
		must(t, s.CreateDomain(ctx, d), "CreateDomain "+d.Name)
		if *d != in {
			t.Errorf("CreateDomain changed its input to %+v", d)
		}
	}
	for _, d := range cases {
		got, err := s.GetDomain(ctx, d.ID)
		same(t, got, err, d, "GetDomain "+d.ID)
		got, err = s.GetDomainByName(ctx, d.Name)
		same(t, got, err, d, "GetDomainByName "+d.Name)
	}
	for _, d := range []*identity.Domain{
		{ID: hexID(9), Name: "Default"},      // name taken
		{ID: hexID(2), Name: "another name"}, // id taken
	} {
		wantIs(t, s.CreateDomain(ctx, d), identity.ErrConflict, fmt.Sprintf("CreateDomain %+v", d))
	}
	_, err := s.GetDomain(ctx, hexID(99))
	wantIs(t, err, identity.ErrNotFound, "GetDomain of a missing id")
	_, err = s.GetDomainByName(ctx, "DEFAULT")
	wantIs(t, err, identity.ErrNotFound, "GetDomainByName of a missing name")
}

func testProjects(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	extra := []*identity.Project{
		{ID: hexID(0x110), Name: "Demo", DomainID: w.d1.ID, Enabled: true}, // case differs
		{ID: hexID(0x111), Name: "multi\nline ✓", DomainID: w.d2.ID, Description: "line 1\nline 2 — ünïcode", Enabled: true},
	}
	for _, p := range extra {
		must(t, s.CreateProject(ctx, p), "CreateProject "+p.Name)
	}
	for _, p := range append([]*identity.Project{w.p1, w.p2, w.p3}, extra...) {
		got, err := s.GetProject(ctx, p.ID)
		same(t, got, err, p, "GetProject "+p.ID)
		got, err = s.GetProjectByName(ctx, p.DomainID, p.Name)
		same(t, got, err, p, "GetProjectByName "+p.Name)
	}
	errCases := []struct {
		name string
		p    identity.Project
		want error
	}{
		{"name taken in domain", identity.Project{ID: hexID(0x120), Name: "demo", DomainID: w.d1.ID}, identity.ErrConflict},
		{"id taken", identity.Project{ID: w.p1.ID, Name: "fresh", DomainID: w.d2.ID}, identity.ErrConflict},
		{"unknown domain", identity.Project{ID: hexID(0x121), Name: "fresh", DomainID: hexID(0x999)}, identity.ErrNotFound},
	}
	for _, tc := range errCases {
		wantIs(t, s.CreateProject(ctx, &tc.p), tc.want, "CreateProject: "+tc.name)
	}
	_, err := s.GetProject(ctx, hexID(0x999))
	wantIs(t, err, identity.ErrNotFound, "GetProject of a missing id")
	_, err = s.GetProjectByName(ctx, w.d2.ID, "admin")
	wantIs(t, err, identity.ErrNotFound, "GetProjectByName in the wrong domain")
}

// wantListed checks that got holds exactly the objects want (any order
// among equal names), sorted by name in byte order.
func wantListed[T comparable](t *testing.T, got []*T, err error, want []*T, name func(*T) string, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.IsSortedFunc(got, func(a, b *T) int { return strings.Compare(name(a), name(b)) }) {
		t.Errorf("%s is not sorted by name: %v", what, mapSlice(got, name))
	}
	if len(got) != len(want) {
		t.Fatalf("%s returned %d objects %v, want %d %v", what, len(got), mapSlice(got, name), len(want), mapSlice(want, name))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g *T) bool { return *g == *w }) {
			t.Errorf("%s lacks %+v", what, w)
		}
	}
}

// mapSlice applies f to every element of xs.
func mapSlice[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func testListProjects(t *testing.T, s identity.Store) {
	w := newWorld(t, s)
	name := func(p *identity.Project) string { return p.Name }
	cases := []struct {
		name string
		f    identity.Filter
		want []*identity.Project
	}{
		{"all", identity.Filter{}, []*identity.Project{w.p1, w.p2, w.p3}},
		{"domain", identity.Filter{DomainID: w.d1.ID}, []*identity.Project{w.p1, w.p2}},
		{"name", identity.Filter{Name: "demo"}, []*identity.Project{w.p1, w.p3}},
		{"domain and name", identity.Filter{DomainID: w.d2.ID, Name: "demo"}, []*identity.Project{w.p3}},
		{"name is exact", identity.Filter{Name: "Demo"}, nil},
		{"unknown domain", identity.Filter{DomainID: hexID(0x999)}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListProjects(t.Context(), tc.f)
		wantListed(t, got, err, tc.want, name, "ListProjects "+tc.name)
	}
}

func testUsers(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	extra := &identity.User{ID: hexID(0x210), Name: "Alice", DomainID: w.d1.ID, PasswordHash: "$argon2id$x", Enabled: true}
	must(t, s.CreateUser(ctx, extra), "CreateUser Alice")
	for _, u := range []*identity.User{w.u1, w.u2, w.u3, extra} {
		got, err := s.GetUser(ctx, u.ID)
		same(t, got, err, u, "GetUser "+u.ID)
		got, err = s.GetUserByName(ctx, u.DomainID, u.Name)
		same(t, got, err, u, "GetUserByName "+u.Name)
	}
	const secretHash = "$argon2id$v=19$m=65536,t=3,p=4$U0VDUkVU$bm90LWluLWVycm9ycw"
	errCases := []struct {
		name string
		u    identity.User
		want error
	}{
		{"name taken in domain", identity.User{ID: hexID(0x220), Name: "alice", DomainID: w.d1.ID, PasswordHash: secretHash}, identity.ErrConflict},
		{"id taken", identity.User{ID: w.u2.ID, Name: "carol", DomainID: w.d2.ID, PasswordHash: secretHash}, identity.ErrConflict},
		{"unknown domain", identity.User{ID: hexID(0x221), Name: "carol", DomainID: hexID(0x999), PasswordHash: secretHash}, identity.ErrNotFound},
	}
	for _, tc := range errCases {
		err := s.CreateUser(ctx, &tc.u)
		wantIs(t, err, tc.want, "CreateUser: "+tc.name)
		if strings.Contains(err.Error(), "U0VDUkVU") {
			t.Errorf("CreateUser error %q contains the password hash", err)
		}
	}
	_, err := s.GetUser(ctx, hexID(0x999))
	wantIs(t, err, identity.ErrNotFound, "GetUser of a missing id")
	_, err = s.GetUserByName(ctx, w.d2.ID, "bob")
	wantIs(t, err, identity.ErrNotFound, "GetUserByName in the wrong domain")
}

func testListUsers(t *testing.T, s identity.Store) {
	w := newWorld(t, s)
	name := func(u *identity.User) string { return u.Name }
	cases := []struct {
		name string
		f    identity.Filter
		want []*identity.User
	}{
		{"all", identity.Filter{}, []*identity.User{w.u1, w.u2, w.u3}},
		{"domain", identity.Filter{DomainID: w.d1.ID}, []*identity.User{w.u1, w.u2}},
		{"name", identity.Filter{Name: "alice"}, []*identity.User{w.u1, w.u3}},
		{"domain and name", identity.Filter{DomainID: w.d2.ID, Name: "alice"}, []*identity.User{w.u3}},
		{"name is exact", identity.Filter{Name: "ALICE"}, nil},
		{"unknown domain", identity.Filter{DomainID: hexID(0x999)}, nil},
	}
	for _, tc := range cases {
		got, err := s.ListUsers(t.Context(), tc.f)
		wantListed(t, got, err, tc.want, name, "ListUsers "+tc.name)
	}
}

func testSetPassword(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	for _, hash := range []string{"$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3aGFzaA", ""} {
		must(t, s.SetPassword(ctx, w.u1.ID, hash), "SetPassword")
		want := *w.u1
		want.PasswordHash = hash
		got, err := s.GetUser(ctx, w.u1.ID)
		same(t, got, err, &want, "GetUser after SetPassword")
		got, err = s.GetUser(ctx, w.u3.ID)
		same(t, got, err, w.u3, "GetUser of another user after SetPassword")
	}
	err := s.SetPassword(ctx, hexID(0x999), "$argon2id$SECRETHASH")
	wantIs(t, err, identity.ErrNotFound, "SetPassword of a missing user")
	if strings.Contains(err.Error(), "SECRETHASH") {
		t.Errorf("SetPassword error %q contains the password hash", err)
	}
}

func testUpdateUser(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	u := *w.u1
	u.Name, u.Enabled, u.PasswordHash = "alice-renamed", false, "$argon2id$new"
	must(t, putUser(ctx, s, &u), "UpdateUser")
	got, err := s.GetUser(ctx, w.u1.ID)
	same(t, got, err, &u, "GetUser after UpdateUser")
	got, err = s.GetUser(ctx, w.u3.ID)
	same(t, got, err, w.u3, "GetUser of another user after UpdateUser")

	taken := u
	taken.Name = w.u2.Name
	wantIs(t, putUser(ctx, s, &taken), identity.ErrConflict, "UpdateUser to a name taken in the domain")
	other := u
	other.Name = w.u3.Name // u3 lives in another domain: no conflict
	if w.u3.DomainID != w.u1.DomainID {
		must(t, putUser(ctx, s, &other), "UpdateUser to a name used in another domain")
	}
	missing := u
	missing.ID = hexID(0x999)
	wantIs(t, putUser(ctx, s, &missing), identity.ErrNotFound, "UpdateUser of a missing user")
}
