package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// clockSlack tolerates an engine whose clock (a database server's) is a
// little off the test's.
const clockSlack = 5 * time.Second

func testRoundTrip(t *testing.T, s keypair.Store) {
	cert := x509PEM(t)
	cases := []struct {
		name string
		kp   *keypair.KeyPair
	}{
		{"plain", newKP("alice", "mykey")},
		{"255 characters", newKP("alice", strings.Repeat("k", keypair.MaxNameLength-3)+"-_.")},
		{"punctuation", newKP("alice", "a.b@c")},
		{"spaces", newKP("alice", "my key 2")},
		{"trailing newline", func() *keypair.KeyPair {
			kp := newKP("alice", "newline")
			kp.PublicKey = sshPublic + "\n"
			return kp
		}()},
		{"x509", func() *keypair.KeyPair {
			kp := newKP("alice", "cert")
			kp.Type = keypair.TypeX509
			kp.PublicKey = cert
			kp.Fingerprint = "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:00:11:22:33"
			return kp
		}()},
		{"other project", func() *keypair.KeyPair {
			kp := newKP("alice", "elsewhere")
			kp.ProjectID = "project-2"
			return kp
		}()},
		{"kps fields", func() *keypair.KeyPair {
			kp := newKP("alice", "kps")
			kp.Algorithm = "rsa-2048"
			kp.Description = "deploy key — prod ✓\nline two"
			return kp
		}()},
		{"domain scope", sharedKP("alice", domain, "shared")},
		{"escrowed", func() *keypair.KeyPair {
			kp := newKP("alice", "escrowed")
			kp.Escrow = &keypair.Escrowed{KeyRef: "local/default", Blob: []byte{0, 1, 2, 0xff, 0, 'x'}}
			return kp
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := *tc.kp
			before := time.Now()
			mustCreate(t, s, tc.kp)
			after := time.Now()

			kp := tc.kp
			if kp.ID <= 0 {
				t.Errorf("ID = %d, want > 0", kp.ID)
			}
			if kp.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt location = %s, want UTC", kp.CreatedAt.Location())
			}
			if kp.CreatedAt.Nanosecond()%1000 != 0 {
				t.Errorf("CreatedAt %s has sub-microsecond digits", kp.CreatedAt.Format(time.RFC3339Nano))
			}
			if kp.CreatedAt.Before(before.Add(-clockSlack)) || kp.CreatedAt.After(after.Add(clockSlack)) {
				t.Errorf("CreatedAt %s is not around the time of the call (%s .. %s)", kp.CreatedAt, before, after)
			}
			if !kp.UpdatedAt.Equal(kp.CreatedAt) {
				t.Errorf("UpdatedAt %s differs from CreatedAt %s on create", kp.UpdatedAt, kp.CreatedAt)
			}
			want := in
			want.ID, want.CreatedAt, want.UpdatedAt = kp.ID, kp.CreatedAt, kp.UpdatedAt
			if d := diff(kp, &want); d != "" {
				t.Errorf("create changed the input: %s", d)
			}

			got, err := s.GetKeyPair(t.Context(), me(in.UserID), in.Name)
			if err != nil {
				t.Fatalf("GetKeyPair: %v", err)
			}
			if d := diff(got, kp); d != "" {
				t.Errorf("GetKeyPair: %s", d)
			}
		})
	}

	list, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{})
	if err != nil {
		t.Fatalf("ListKeyPairs: %v", err)
	}
	if len(list) != len(cases) {
		t.Fatalf("ListKeyPairs returned %d key pairs, want %d", len(list), len(cases))
	}
	for _, got := range list {
		for _, tc := range cases {
			if tc.kp.Name == got.Name {
				if d := diffListed(got, tc.kp); d != "" {
					t.Errorf("ListKeyPairs %q: %s", got.Name, d)
				}
			}
		}
	}
}

func testIDsIncrease(t *testing.T, s keypair.Store) {
	var last int64
	for i, name := range []string{"c", "a", "b", "d"} {
		kp := mustCreate(t, s, newKP([]string{"alice", "bob"}[i%2], name))
		if kp.ID <= last {
			t.Fatalf("key pair %q got ID %d after ID %d, want increasing IDs", name, kp.ID, last)
		}
		last = kp.ID
	}
}

func testDuplicateName(t *testing.T, s keypair.Store) {
	first := mustCreate(t, s, newKP("alice", "dup"))

	again := newKP("alice", "dup")
	again.PublicKey = sshPublic + " second"
	again.Fingerprint = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"
	err := s.CreateKeyPair(t.Context(), again, quota, nil)
	wantCode(t, err, keypair.ECONFLICT, "second create of the same name")
	wantNoSecret(t, err, again.PublicKey)
	if again.ID != 0 {
		t.Errorf("failed create set ID %d", again.ID)
	}

	got, err := s.GetKeyPair(t.Context(), me("alice"), "dup")
	if err != nil {
		t.Fatalf("GetKeyPair: %v", err)
	}
	if d := diff(got, first); d != "" {
		t.Errorf("the first key pair changed: %s", d)
	}

	other := mustCreate(t, s, newKP("bob", "dup"))
	if other.ID == first.ID {
		t.Errorf("two key pairs share ID %d", other.ID)
	}
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != 1 {
		t.Errorf("CountKeyPairs(alice) = %d, %v; want 1", n, err)
	}
}

func testCaseSensitive(t *testing.T, s keypair.Store) {
	upper := newKP("alice", "Key")
	upper.Fingerprint = "11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11"
	mustCreate(t, s, upper)
	lower := mustCreate(t, s, newKP("alice", "key"))

	for _, want := range []*keypair.KeyPair{upper, lower} {
		got, err := s.GetKeyPair(t.Context(), me("alice"), want.Name)
		if err != nil {
			t.Fatalf("GetKeyPair(%q): %v", want.Name, err)
		}
		if d := diff(got, want); d != "" {
			t.Errorf("GetKeyPair(%q): %s", want.Name, d)
		}
	}
	_, err := s.GetKeyPair(t.Context(), me("alice"), "KEY")
	wantCode(t, err, keypair.ENOTFOUND, `GetKeyPair("KEY")`)
	_, err = s.GetKeyPair(t.Context(), me("Alice"), "key")
	wantCode(t, err, keypair.ENOTFOUND, `GetKeyPair of user "Alice"`)

	if err := s.DeleteKeyPair(t.Context(), lower.ID, nil); err != nil {
		t.Fatalf("DeleteKeyPair(key): %v", err)
	}
	if _, err := s.GetKeyPair(t.Context(), me("alice"), "Key"); err != nil {
		t.Errorf("deleting %q removed %q: %v", "key", "Key", err)
	}
}

func testNotFound(t *testing.T, s keypair.Store) {
	mine := mustCreate(t, s, newKP("alice", "mine"))
	cases := []struct {
		name string
		v    keypair.Viewer
		kp   string
	}{
		{"missing name", me("alice"), "nope"},
		{"missing user", me("carol"), "mine"},
		{"other user's key", me("bob"), "mine"},
		{"other user's key, no domain", keypair.Viewer{UserID: "bob"}, "mine"},
		{"prefix of a name", me("alice"), "min"},
		{"name with trailing space", me("alice"), "mine "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetKeyPair(t.Context(), tc.v, tc.kp)
			wantCode(t, err, keypair.ENOTFOUND, "GetKeyPair")
		})
	}
	for _, id := range []int64{0, -1, mine.ID + 1, mine.ID + 1000, math.MaxInt64} {
		err := s.DeleteKeyPair(t.Context(), id, nil)
		wantCode(t, err, keypair.ENOTFOUND, fmt.Sprintf("DeleteKeyPair(%d)", id))
	}
	if list, err := s.ListKeyPairs(t.Context(), me("bob"), keypair.Page{}); err != nil || len(list) != 0 {
		t.Errorf("ListKeyPairs(bob) = %v, %v; want nothing", listedNames(list), err)
	}
	if n, err := s.CountKeyPairs(t.Context(), "bob"); err != nil || n != 0 {
		t.Errorf("CountKeyPairs(bob) = %d, %v; want 0", n, err)
	}
	if _, err := s.GetKeyPair(t.Context(), me("alice"), "mine"); err != nil {
		t.Errorf("alice's key pair is gone after failed deletes: %v", err)
	}
}

func testDeleteRecreate(t *testing.T, s keypair.Store) {
	first := mustCreate(t, s, newKP("alice", "k"))
	if err := s.DeleteKeyPair(t.Context(), first.ID, nil); err != nil {
		t.Fatalf("DeleteKeyPair: %v", err)
	}
	_, err := s.GetKeyPair(t.Context(), me("alice"), "k")
	wantCode(t, err, keypair.ENOTFOUND, "GetKeyPair after delete")
	err = s.DeleteKeyPair(t.Context(), first.ID, nil)
	wantCode(t, err, keypair.ENOTFOUND, "second DeleteKeyPair")

	second := newKP("alice", "k")
	second.Fingerprint = "22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22"
	mustCreate(t, s, second)
	if second.ID <= first.ID {
		t.Errorf("re-created key pair got ID %d, want more than the deleted one's %d", second.ID, first.ID)
	}
	got, err := s.GetKeyPair(t.Context(), me("alice"), "k")
	if err != nil {
		t.Fatalf("GetKeyPair: %v", err)
	}
	if d := diff(got, second); d != "" {
		t.Errorf("GetKeyPair: %s", d)
	}
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != 1 {
		t.Errorf("CountKeyPairs = %d, %v; want 1", n, err)
	}
}

// testInvalidCreate: what the domain must never pass is refused, and a
// refused create stores nothing.
func testInvalidCreate(t *testing.T, s keypair.Store) {
	taken := mustCreate(t, s, newKP("alice", "taken"))
	cases := []struct {
		name string
		edit func(kp *keypair.KeyPair)
		code keypair.Code // "" for any error
	}{
		{"domain scope without domain", func(kp *keypair.KeyPair) {
			kp.Scope, kp.DomainID = keypair.ScopeDomain, ""
		}, keypair.EINVALID},
		{"empty UID", func(kp *keypair.KeyPair) { kp.UID = "" }, ""},
		{"UID taken", func(kp *keypair.KeyPair) { kp.UID = taken.UID }, ""},
		{"unknown scope", func(kp *keypair.KeyPair) { kp.Scope = "project" }, ""},
		{"empty escrow blob", func(kp *keypair.KeyPair) {
			kp.Escrow = &keypair.Escrowed{KeyRef: "local/default"}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kp := newKP("alice", "new")
			tc.edit(kp)
			err := s.CreateKeyPair(t.Context(), kp, quota, nil)
			if err == nil {
				t.Fatal("create succeeded")
			}
			if tc.code != "" {
				wantCode(t, err, tc.code, "create")
			}
			if kp.ID != 0 {
				t.Errorf("refused create set ID %d", kp.ID)
			}
		})
	}
	if n, err := s.CountKeyPairs(t.Context(), "alice"); err != nil || n != 1 {
		t.Errorf("CountKeyPairs = %d, %v; want 1", n, err)
	}
	if d := diffGet(t, s, me("alice"), taken); d != "" {
		t.Errorf("the existing key pair changed: %s", d)
	}
}

// diffGet gets the key pair named like want as v and describes how it
// differs from want.
func diffGet(t *testing.T, s keypair.Store, v keypair.Viewer, want *keypair.KeyPair) string {
	t.Helper()
	got, err := s.GetKeyPair(t.Context(), v, want.Name)
	if err != nil {
		t.Fatalf("GetKeyPair(%+v, %q): %v", v, want.Name, err)
	}
	return diff(got, want)
}
