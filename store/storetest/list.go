package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

func testList(t *testing.T, s keypair.Store) {
	// Created out of order; byte order is B < Z < a < a.b < aa < b < c
	// ('.' sorts before letters, upper case before lower case).
	sorted := []string{"B", "Z", "a", "a.b", "aa", "b", "c"}
	created := map[string]*keypair.KeyPair{}
	for _, name := range []string{"c", "a", "Z", "aa", "b", "a.b", "B"} {
		created[name] = mustCreate(t, s, newKP("alice", name))
		mustCreate(t, s, newKP("bob", name+"-bob"))
	}
	mustCreate(t, s, newKP("bob", "a0"))

	cases := []struct {
		name string
		page keypair.Page
		want []string // nil with code set: an error is expected
		code keypair.Code
	}{
		{"all", keypair.Page{}, sorted, ""},
		{"limit 0 is all", keypair.Page{Limit: 0}, sorted, ""},
		{"negative limit is all", keypair.Page{Limit: -1}, sorted, ""},
		{"huge limit", keypair.Page{Limit: math.MaxInt}, sorted, ""},
		{"limit above count", keypair.Page{Limit: 100}, sorted, ""},
		{"limit", keypair.Page{Limit: 2}, sorted[:2], ""},
		{"limit 1", keypair.Page{Limit: 1}, sorted[:1], ""},
		{"marker is exclusive", keypair.Page{Marker: "a"}, sorted[3:], ""},
		{"marker and limit", keypair.Page{Marker: "a", Limit: 2}, sorted[3:5], ""},
		{"marker, huge limit", keypair.Page{Marker: "a", Limit: math.MaxInt}, sorted[3:], ""},
		{"marker first", keypair.Page{Marker: "B", Limit: 1}, sorted[1:2], ""},
		{"marker last", keypair.Page{Marker: "c"}, []string{}, ""},
		{"marker last with limit", keypair.Page{Marker: "c", Limit: 5}, []string{}, ""},
		{"unknown marker", keypair.Page{Marker: "a0"}, nil, keypair.EINVALID},
		{"unknown marker past the end", keypair.Page{Marker: "zzz"}, nil, keypair.EINVALID},
		{"unknown marker with limit", keypair.Page{Marker: "A", Limit: 3}, nil, keypair.EINVALID},
		{"other user's name as marker", keypair.Page{Marker: "a-bob"}, nil, keypair.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListKeyPairs(t.Context(), me("alice"), tc.page)
			if tc.code != "" {
				wantCode(t, err, tc.code, fmt.Sprintf("ListKeyPairs(%+v)", tc.page))
				return
			}
			if err != nil {
				t.Fatalf("ListKeyPairs(%+v): %v", tc.page, err)
			}
			if !slices.Equal(listedNames(got), tc.want) {
				t.Fatalf("ListKeyPairs(%+v) = %q, want %q", tc.page, listedNames(got), tc.want)
			}
			for _, kp := range got {
				if d := diffListed(kp, created[kp.Name]); d != "" {
					t.Errorf("ListKeyPairs returned %q: %s", kp.Name, d)
				}
			}
		})
	}
}

func testListEmpty(t *testing.T, s keypair.Store) {
	got, err := s.ListKeyPairs(t.Context(), me("nobody"), keypair.Page{Limit: 10})
	if err != nil || len(got) != 0 {
		t.Fatalf("ListKeyPairs of a user with no key pairs = %q, %v; want nothing", listedNames(got), err)
	}
	_, err = s.ListKeyPairs(t.Context(), me("nobody"), keypair.Page{Marker: "x"})
	wantCode(t, err, keypair.EINVALID, "ListKeyPairs with a marker for a user with no key pairs")
}

func testPaginate(t *testing.T, s keypair.Store) {
	const total, limit = 250, 100
	want := make([]string, total)
	for i := range want {
		want[i] = fmt.Sprintf("key-%03d", i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, i := range r.Perm(total) {
		mustCreate(t, s, newKP("alice", want[i]))
	}

	var got []string
	var sizes []int
	marker := ""
	for pages := 0; ; pages++ {
		if pages > total/limit+1 {
			t.Fatalf("pagination does not end: pages of %v so far", sizes)
		}
		page, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: marker, Limit: limit})
		if err != nil {
			t.Fatalf("ListKeyPairs(marker %q): %v", marker, err)
		}
		sizes = append(sizes, len(page))
		got = append(got, listedNames(page)...)
		if len(page) < limit {
			break
		}
		marker = page[len(page)-1].Name
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("page sizes = %v, want [100 100 50]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paginated names differ from every name once in order: got %d names %q...", len(got), got[:min(len(got), 5)])
	}
}

func testCount(t *testing.T, s keypair.Store) {
	count := func(user string, want int) {
		t.Helper()
		n, err := s.CountKeyPairs(t.Context(), user)
		if err != nil {
			t.Fatalf("CountKeyPairs(%q): %v", user, err)
		}
		if n != want {
			t.Fatalf("CountKeyPairs(%q) = %d, want %d", user, n, want)
		}
	}
	count("alice", 0)
	var kps []*keypair.KeyPair
	for i := range 5 {
		kps = append(kps, mustCreate(t, s, newKP("alice", fmt.Sprint("k", i))))
	}
	mustCreate(t, s, newKP("bob", "k0"))
	// Key pairs shared with the domain count for their owner only.
	mustCreate(t, s, sharedKP("alice", domain, "shared"))
	mustCreate(t, s, sharedKP("bob", domain, "shared-bob"))
	count("alice", 6)
	count("bob", 2)
	count("carol", 0)
	if err := s.DeleteKeyPair(t.Context(), kps[3].ID, nil); err != nil {
		t.Fatalf("DeleteKeyPair: %v", err)
	}
	count("alice", 5)
	count("bob", 2)
}
