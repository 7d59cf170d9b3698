package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

// sealed returns a fixture sealed secret with bytes text cannot hold.
func sealed(n int) []byte {
	return append([]byte{0, 0xff, 0x80, byte(n)}, fmt.Sprintf("SEALED-%04d", n)...)
}

// ec2Diff describes how got differs from want, "" when they are the same.
func ec2Diff(got, want *identity.EC2Credential) string {
	if got == nil || want == nil {
		return fmt.Sprintf("got %v, want %v", got != nil, want != nil)
	}
	var d []string
	if got.Access != want.Access || got.UserID != want.UserID || got.ProjectID != want.ProjectID {
		d = append(d, fmt.Sprintf("ids %s/%s/%s, want %s/%s/%s", got.Access, got.UserID, got.ProjectID, want.Access, want.UserID, want.ProjectID))
	}
	if !bytes.Equal(got.SealedSecret, want.SealedSecret) {
		d = append(d, "sealed secret differs")
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		d = append(d, fmt.Sprintf("CreatedAt %s, want %s in UTC", got.CreatedAt.Format(time.RFC3339Nano), want.CreatedAt.Format(time.RFC3339Nano)))
	}
	return strings.Join(d, "; ")
}

func testEC2(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	given := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("X", 3600))
	cases := []struct {
		name string
		c    *identity.EC2Credential
		want time.Time // zero: around now
	}{
		{"created now", &identity.EC2Credential{Access: "AKIDNOW", SealedSecret: sealed(1), UserID: w.u1.ID, ProjectID: w.p1.ID}, time.Time{}},
		{"created at a given time", &identity.EC2Credential{Access: hexID(7), SealedSecret: sealed(2), UserID: w.u1.ID, ProjectID: w.p2.ID, CreatedAt: given}, given.Truncate(time.Microsecond)},
	}
	for _, tc := range cases {
		before := time.Now()
		must(t, s.CreateEC2Credential(ctx, tc.c), "CreateEC2Credential "+tc.name)
		after := time.Now()
		if tc.want.IsZero() {
			if tc.c.CreatedAt.Before(before.Add(-clockSlack)) || tc.c.CreatedAt.After(after.Add(clockSlack)) {
				t.Errorf("%s: CreatedAt %s is not around the time of the call", tc.name, tc.c.CreatedAt)
			}
			if tc.c.CreatedAt.Nanosecond()%1000 != 0 {
				t.Errorf("%s: CreatedAt %s has sub-microsecond digits", tc.name, tc.c.CreatedAt.Format(time.RFC3339Nano))
			}
		} else if !tc.c.CreatedAt.Equal(tc.want) {
			t.Errorf("%s: CreatedAt = %s, want %s", tc.name, tc.c.CreatedAt, tc.want)
		}
		if tc.c.CreatedAt.Location() != time.UTC {
			t.Errorf("%s: CreatedAt location %s, want UTC", tc.name, tc.c.CreatedAt.Location())
		}
		got, err := s.GetEC2Credential(ctx, tc.c.Access)
		must(t, err, "GetEC2Credential "+tc.name)
		if d := ec2Diff(got, tc.c); d != "" {
			t.Errorf("%s: GetEC2Credential: %s", tc.name, d)
		}
	}

	c := cases[0].c
	wantIs(t, s.DeleteEC2Credential(ctx, w.u3.ID, c.Access), identity.ErrNotFound, "DeleteEC2Credential of another user's credential")
	_, err := s.GetEC2Credential(ctx, c.Access)
	must(t, err, "GetEC2Credential after another user's delete")
	must(t, s.DeleteEC2Credential(ctx, c.UserID, c.Access), "DeleteEC2Credential")
	_, err = s.GetEC2Credential(ctx, c.Access)
	wantIs(t, err, identity.ErrNotFound, "GetEC2Credential after delete")
	wantIs(t, s.DeleteEC2Credential(ctx, c.UserID, c.Access), identity.ErrNotFound, "DeleteEC2Credential again")
	list, err := s.ListEC2Credentials(ctx, w.u1.ID)
	if err != nil || len(list) != 1 || list[0].Access != cases[1].c.Access {
		t.Errorf("after delete ListEC2Credentials = %d credentials, %v; want only %s", len(list), err, cases[1].c.Access)
	}
}

func testEC2List(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	creds := []*identity.EC2Credential{ // made out of order
		{Access: "c-late", UserID: w.u1.ID, ProjectID: w.p1.ID, CreatedAt: t0.Add(2 * time.Hour)},
		{Access: "b-tie", UserID: w.u1.ID, ProjectID: w.p2.ID, CreatedAt: t0.Add(time.Hour)},
		{Access: "z-early", UserID: w.u1.ID, ProjectID: w.p1.ID, CreatedAt: t0},
		{Access: "a-tie", UserID: w.u1.ID, ProjectID: w.p1.ID, CreatedAt: t0.Add(time.Hour)},
		{Access: "other-user", UserID: w.u2.ID, ProjectID: w.p1.ID, CreatedAt: t0},
	}
	for i, c := range creds {
		c.SealedSecret = sealed(i)
		must(t, s.CreateEC2Credential(ctx, c), "CreateEC2Credential "+c.Access)
	}
	got, err := s.ListEC2Credentials(ctx, w.u1.ID)
	must(t, err, "ListEC2Credentials")
	want := []*identity.EC2Credential{creds[2], creds[3], creds[1], creds[0]}
	if len(got) != len(want) {
		t.Fatalf("ListEC2Credentials returned %d credentials, want %d", len(got), len(want))
	}
	for i := range want {
		if d := ec2Diff(got[i], want[i]); d != "" {
			t.Errorf("ListEC2Credentials[%d]: %s", i, d)
		}
	}
	for _, user := range []string{w.u3.ID, hexID(0x999)} {
		got, err := s.ListEC2Credentials(ctx, user)
		if err != nil || len(got) != 0 {
			t.Errorf("ListEC2Credentials(%s) = %d credentials, %v; want none", user, len(got), err)
		}
	}
}

func testEC2Errors(t *testing.T, s identity.Store) {
	ctx := t.Context()
	w := newWorld(t, s)
	must(t, s.CreateEC2Credential(ctx, &identity.EC2Credential{Access: "AKID1", SealedSecret: sealed(1), UserID: w.u1.ID, ProjectID: w.p1.ID}), "CreateEC2Credential")
	cases := []struct {
		name string
		c    identity.EC2Credential
		want error
	}{
		{"access taken", identity.EC2Credential{Access: "AKID1", UserID: w.u1.ID, ProjectID: w.p1.ID}, identity.ErrConflict},
		{"access taken by another user", identity.EC2Credential{Access: "AKID1", UserID: w.u2.ID, ProjectID: w.p2.ID}, identity.ErrConflict},
		{"unknown user", identity.EC2Credential{Access: "AKID2", UserID: hexID(0x999), ProjectID: w.p1.ID}, identity.ErrNotFound},
		{"unknown project", identity.EC2Credential{Access: "AKID3", UserID: w.u1.ID, ProjectID: hexID(0x999)}, identity.ErrNotFound},
	}
	for _, tc := range cases {
		tc.c.SealedSecret = sealed(42)
		err := s.CreateEC2Credential(ctx, &tc.c)
		wantIs(t, err, tc.want, "CreateEC2Credential: "+tc.name)
		if strings.Contains(err.Error(), "SEALED-") {
			t.Errorf("CreateEC2Credential error %q contains the sealed secret", err)
		}
	}
	_, err := s.GetEC2Credential(ctx, "AKID2")
	wantIs(t, err, identity.ErrNotFound, "GetEC2Credential of a missing access key")
}
