package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// putUser writes u's name, enabled flag and password hash with UpdateUser.
func putUser(ctx context.Context, s identity.Store, u *identity.User) error {
	_, err := s.UpdateUser(ctx, u.ID, func(x *identity.User) error {
		x.Name, x.Enabled, x.PasswordHash = u.Name, u.Enabled, u.PasswordHash
		return nil
	})
	return err
}

// putProject writes p's name, description and enabled flag with
// UpdateProject.
func putProject(ctx context.Context, s identity.Store, p *identity.Project) error {
	_, err := s.UpdateProject(ctx, p.ID, func(x *identity.Project) error {
		x.Name, x.Description, x.Enabled = p.Name, p.Description, p.Enabled
		return nil
	})
	return err
}

// putDomain writes d's name and enabled flag with UpdateDomain.
func putDomain(ctx context.Context, s identity.Store, d *identity.Domain) error {
	_, err := s.UpdateDomain(ctx, d.ID, func(x *identity.Domain) error {
		x.Name, x.Enabled = d.Name, d.Enabled
		return nil
	})
	return err
}

// snapshot reads the access snapshot since the zero time.
func snapshot(t *testing.T, s identity.Store) *identity.AccessSnapshot {
	t.Helper()
	snap, err := s.Access(t.Context(), time.Time{})
	must(t, err, "Access")
	return snap
}

// eventOf returns the access event of kind and subject in snap, or nil.
func eventOf(snap *identity.AccessSnapshot, kind identity.AccessKind, subject string) *identity.AccessEvent {
	for i, e := range snap.Events {
		if e.Kind == kind && e.Subject == subject {
			return &snap.Events[i]
		}
	}
	return nil
}

// wantIDs fails unless got holds exactly want, in any order.
func wantIDs(t *testing.T, got, want []string, what string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s = %q, want %q", what, g, w)
	}
}

// testAccessDisabled: the snapshot lists what is disabled, a disabled
// domain disabling its users and projects with it.
func testAccessDisabled(t *testing.T, s identity.Store) {
	w := newWorld(t, s)
	snap := snapshot(t, s)
	wantIDs(t, snap.DisabledUsers, []string{w.u3.ID}, "disabled users")
	wantIDs(t, snap.DisabledProjects, []string{w.p3.ID}, "disabled projects")
	wantIDs(t, snap.DisabledDomains, nil, "disabled domains")
	if len(snap.Events) != 0 {
		t.Fatalf("a new world has access events: %+v", snap.Events)
	}

	w.u3.Enabled, w.p3.Enabled = true, true
	must(t, putUser(t.Context(), s, w.u3), "enable u3")
	must(t, putProject(t.Context(), s, w.p3), "enable p3")
	d2 := *w.d2
	d2.Enabled = false
	must(t, putDomain(t.Context(), s, &d2), "disable d2")
	snap = snapshot(t, s)
	wantIDs(t, snap.DisabledDomains, []string{w.d2.ID}, "disabled domains")
	wantIDs(t, snap.DisabledUsers, []string{w.u3.ID}, "users of a disabled domain")
	wantIDs(t, snap.DisabledProjects, []string{w.p3.ID}, "projects of a disabled domain")
	if eventOf(snap, identity.AccessDomain, w.d2.ID) == nil {
		t.Fatal("disabling a domain recorded no access event")
	}
	got, err := s.GetDomain(t.Context(), w.d2.ID)
	same(t, got, err, &d2, "GetDomain after UpdateDomain")

	d2.Enabled = true
	must(t, putDomain(t.Context(), s, &d2), "enable d2")
	snap = snapshot(t, s)
	wantIDs(t, snap.DisabledDomains, nil, "disabled domains after enabling")
	wantIDs(t, snap.DisabledUsers, nil, "disabled users after enabling")
	if eventOf(snap, identity.AccessDomain, w.d2.ID) == nil {
		t.Fatal("enabling a domain again forgot its access event: its old tokens would work again")
	}
}

// testAccessEvents: every change that withdraws access records its event
// with the change, and only those do.
func testAccessEvents(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	must(t, s.AddAssignment(ctx, identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.member.ID}), "grant")
	must(t, s.AddAssignment(ctx, identity.Assignment{UserID: w.u2.ID, ProjectID: w.p1.ID, RoleID: w.member.ID}), "grant")
	must(t, s.CreateEC2Credential(ctx, &identity.EC2Credential{Access: "ak-u2", SealedSecret: sealed(1), UserID: w.u2.ID, ProjectID: w.p1.ID}), "ec2")

	// Renaming, enabling and granting withdraw nothing.
	w.u1.Name = "alice2"
	must(t, putUser(ctx, s, w.u1), "rename u1")
	w.p1.Description = "renamed"
	must(t, putProject(ctx, s, w.p1), "describe p1")
	if snap := snapshot(t, s); len(snap.Events) != 0 {
		t.Fatalf("changes that withdraw nothing recorded events: %+v", snap.Events)
	}

	before := time.Now().UTC().Truncate(time.Microsecond)
	steps := []struct {
		what    string
		do      func() error
		kind    identity.AccessKind
		subject string
	}{
		{"disable user", func() error { u := *w.u1; u.Enabled = false; return putUser(ctx, s, &u) }, identity.AccessUser, w.u1.ID},
		{"new password", func() error { return s.SetPassword(ctx, w.u2.ID, "$argon2id$new") }, identity.AccessUser, w.u2.ID},
		{"remove role", func() error {
			return s.RemoveAssignment(ctx, identity.Assignment{UserID: w.u1.ID, ProjectID: w.p1.ID, RoleID: w.member.ID})
		}, identity.AccessGrant, identity.GrantSubject(w.u1.ID, w.p1.ID)},
		{"disable project", func() error { p := *w.p2; p.Enabled = false; return putProject(ctx, s, &p) }, identity.AccessProject, w.p2.ID},
		{"delete user", func() error { return s.DeleteUser(ctx, w.u2.ID) }, identity.AccessUser, w.u2.ID},
	}
	for _, st := range steps {
		must(t, st.do(), st.what)
		e := eventOf(snapshot(t, s), st.kind, st.subject)
		if e == nil {
			t.Fatalf("%s recorded no %s event for %s", st.what, st.kind, st.subject)
		}
		if e.NotBefore.Before(before) || e.NotBefore.After(time.Now().Add(time.Second)) || e.NotBefore.Location() != time.UTC {
			t.Fatalf("%s: event time %v, want a UTC time after %v", st.what, e.NotBefore, before)
		}
	}

	// A deleted user takes its grants and credentials along.
	if _, err := s.GetUser(ctx, w.u2.ID); err == nil {
		t.Fatal("deleted user still there")
	}
	as, err := s.ListAssignments(ctx, identity.Filter{UserID: w.u2.ID})
	must(t, err, "ListAssignments")
	if len(as) != 0 {
		t.Fatalf("deleted user keeps grants %+v", as)
	}
	_, err = s.GetEC2Credential(ctx, "ak-u2")
	wantIs(t, err, identity.ErrNotFound, "credential of a deleted user")
	wantIs(t, s.DeleteUser(ctx, w.u2.ID), identity.ErrNotFound, "deleting a deleted user")

	// Events after a time; pruning.
	snap := snapshot(t, s)
	last := snap.Events[len(snap.Events)-1].NotBefore
	later, err := s.Access(ctx, last)
	must(t, err, "Access since the last event")
	if len(later.Events) != 0 {
		t.Fatalf("Access(since) returned events not after since: %+v", later.Events)
	}
	must(t, s.PruneAccessEvents(ctx, last), "PruneAccessEvents")
	if snap := snapshot(t, s); len(snap.Events) == 0 || snap.Events[0].NotBefore.Before(last) {
		t.Fatalf("after pruning before %v: %+v", last, snap.Events)
	}
	must(t, s.PruneAccessEvents(ctx, last.Add(time.Microsecond)), "PruneAccessEvents")
	if snap := snapshot(t, s); len(snap.Events) != 0 {
		t.Fatalf("pruning after every event left %+v", snap.Events)
	}
}

// testUpdateProjectDomain: the errors of the two updates.
func testUpdateProjectDomain(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	p := *w.p1
	p.Name = w.p2.Name
	wantIs(t, putProject(ctx, s, &p), identity.ErrConflict, "project renamed to a taken name")
	p = identity.Project{ID: hexID(0x1ff), Name: "ghost"}
	wantIs(t, putProject(ctx, s, &p), identity.ErrNotFound, "missing project")
	p = *w.p1
	p.Name, p.DomainID = "demo2", "ignored"
	must(t, putProject(ctx, s, &p), "rename project")
	got, err := s.GetProject(ctx, w.p1.ID)
	want := *w.p1
	want.Name = "demo2"
	same(t, got, err, &want, "renamed project (its domain never changes)")

	d := *w.d2
	d.Name = w.d1.Name
	wantIs(t, putDomain(ctx, s, &d), identity.ErrConflict, "domain renamed to a taken name")
	d = identity.Domain{ID: hexID(0x2ff), Name: "ghost"}
	wantIs(t, putDomain(ctx, s, &d), identity.ErrNotFound, "missing domain")
}

// testUpdateAtomic: an update reads, changes and writes in one
// transaction: the change's error writes nothing, the id and domain stay,
// and two updates of different fields at once both hold.
func testUpdateAtomic(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	boom := errors.New("refused")
	_, err := s.UpdateUser(ctx, w.u1.ID, func(u *identity.User) error { u.Enabled = false; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateUser with a failing change: %v, want its error", err)
	}
	got, err := s.GetUser(ctx, w.u1.ID)
	same(t, got, err, w.u1, "user after a failed change")
	u, err := s.UpdateUser(ctx, w.u1.ID, func(u *identity.User) error { u.ID, u.DomainID, u.Name = "other", w.d2.ID, "al"; return nil })
	want := *w.u1
	want.Name = "al"
	same(t, u, err, &want, "UpdateUser's answer (id and domain never change)")
	got, err = s.GetUser(ctx, w.u1.ID)
	same(t, got, err, &want, "user after a change of id and domain")

	// A disable and a rename at once: neither undoes the other.
	for i := range 10 {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		name := fmt.Sprintf("al-%d", i)
		wg.Add(4)
		go func() {
			defer wg.Done()
			_, errs[0] = s.UpdateUser(ctx, w.u1.ID, func(u *identity.User) error { u.Enabled = i%2 == 1; return nil })
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = s.UpdateUser(ctx, w.u1.ID, func(u *identity.User) error { u.Name = name; return nil })
		}()
		go func() {
			defer wg.Done()
			_, errs[2] = s.UpdateProject(ctx, w.p1.ID, func(p *identity.Project) error { p.Enabled = i%2 == 1; return nil })
		}()
		go func() {
			defer wg.Done()
			_, errs[3] = s.UpdateProject(ctx, w.p1.ID, func(p *identity.Project) error { p.Description = name; return nil })
		}()
		wg.Wait()
		must(t, errors.Join(errs...), "concurrent updates")
		u, err := s.GetUser(ctx, w.u1.ID)
		must(t, err, "GetUser")
		p, err := s.GetProject(ctx, w.p1.ID)
		must(t, err, "GetProject")
		if u.Enabled != (i%2 == 1) || u.Name != name || p.Enabled != (i%2 == 1) || p.Description != name {
			t.Fatalf("round %d: an update undid another: user %+v, project %+v", i, u, p)
		}
	}
}
