package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// Users of the scope tests: alice, bob and carol are in the fixtures'
// domain, dave in another, erin and frank in none known (static tokens).
const otherDomain = "domain-2"

// noDomain is user's viewer when their domain is unknown.
func noDomain(user string) keypair.Viewer {
	return keypair.Viewer{UserID: user}
}

// wantSees fails the test unless v gets want (nil: ENOTFOUND) for name.
func wantSees(t *testing.T, s keypair.Store, v keypair.Viewer, name string, want *keypair.KeyPair) {
	t.Helper()
	got, err := s.GetKeyPair(t.Context(), v, name)
	if want == nil {
		wantCode(t, err, keypair.ENOTFOUND, fmt.Sprintf("GetKeyPair(%+v, %q)", v, name))
		return
	}
	if err != nil {
		t.Fatalf("GetKeyPair(%+v, %q): %v", v, name, err)
	}
	if d := diff(got, want); d != "" {
		t.Errorf("GetKeyPair(%+v, %q): %s", v, name, d)
	}
}

func testVisibility(t *testing.T, s keypair.Store) {
	private := mustCreate(t, s, newKP("alice", "private"))
	team := mustCreate(t, s, sharedKP("alice", domain, "team"))
	other := mustCreate(t, s, sharedKP("dave", otherDomain, "theirs"))
	anon := newKP("erin", "anon")
	anon.DomainID = ""
	mustCreate(t, s, anon)

	cases := []struct {
		v                           keypair.Viewer
		private, team, theirs, mine *keypair.KeyPair
		list                        []string
	}{
		{me("alice"), private, team, nil, nil, []string{"private", "team"}},
		// Own key pairs are seen whatever the viewer's domain.
		{noDomain("alice"), private, team, nil, nil, []string{"private", "team"}},
		{me("bob"), nil, team, nil, nil, []string{"team"}},
		{me("carol"), nil, team, nil, nil, []string{"team"}},
		{noDomain("bob"), nil, nil, nil, nil, []string{}},
		{keypair.Viewer{UserID: "dave", DomainID: otherDomain}, nil, nil, other, nil, []string{"theirs"}},
		{keypair.Viewer{UserID: "bob", DomainID: otherDomain}, nil, nil, other, nil, []string{"theirs"}},
		{noDomain("erin"), nil, nil, nil, anon, []string{"anon"}},
		{me("erin"), nil, team, nil, anon, []string{"anon", "team"}},
		{noDomain("frank"), nil, nil, nil, nil, []string{}},
	}
	for _, tc := range cases {
		wantSees(t, s, tc.v, "private", tc.private)
		wantSees(t, s, tc.v, "team", tc.team)
		wantSees(t, s, tc.v, "theirs", tc.theirs)
		wantSees(t, s, tc.v, "anon", tc.mine)
		list, err := s.ListKeyPairs(t.Context(), tc.v, keypair.Page{})
		if err != nil {
			t.Fatalf("ListKeyPairs(%+v): %v", tc.v, err)
		}
		if !slices.Equal(listedNames(list), tc.list) {
			t.Errorf("ListKeyPairs(%+v) = %q, want %q", tc.v, listedNames(list), tc.list)
		}
	}
}

func testListShared(t *testing.T, s keypair.Store) {
	// alice sees her own key pairs and those shared by bob and carol, in
	// one name order; not bob's private ones, nor dave's shared ones.
	var want []string
	byName := map[string]*keypair.KeyPair{}
	for i := range 30 {
		var kp *keypair.KeyPair
		switch i % 5 {
		case 0, 1:
			kp = newKP("alice", fmt.Sprintf("k%02d", i))
		case 2:
			kp = sharedKP("alice", domain, fmt.Sprintf("k%02d", i))
		case 3:
			kp = sharedKP([]string{"bob", "carol"}[i%2], domain, fmt.Sprintf("k%02d", i))
		case 4:
			mustCreate(t, s, newKP("bob", fmt.Sprintf("k%02d", i)))
			mustCreate(t, s, sharedKP("dave", otherDomain, fmt.Sprintf("k%02d-dave", i)))
			continue
		}
		byName[kp.Name] = mustCreate(t, s, kp)
		want = append(want, kp.Name)
	}

	var got []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("pagination does not end")
		}
		page, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: marker, Limit: 7})
		if err != nil {
			t.Fatalf("ListKeyPairs(marker %q): %v", marker, err)
		}
		for _, kp := range page {
			if d := diffListed(kp, byName[kp.Name]); d != "" {
				t.Errorf("ListKeyPairs: %q: %s", kp.Name, d)
			}
		}
		got = append(got, listedNames(page)...)
		if len(page) < 7 {
			break
		}
		marker = page[len(page)-1].Name
	}
	if !slices.Equal(got, want) {
		t.Errorf("alice's pages = %q, want %q", got, want)
	}

	// A shared name is a valid marker for alice; bob's private one is not.
	page, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: "k03", Limit: 2})
	if err != nil || !slices.Equal(listedNames(page), []string{"k05", "k06"}) {
		t.Errorf("ListKeyPairs after shared marker k03 = %q, %v; want [k05 k06]", listedNames(page), err)
	}
	_, err = s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: "k04"})
	wantCode(t, err, keypair.EINVALID, "ListKeyPairs with another user's private name as marker")
	_, err = s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: "k04-dave"})
	wantCode(t, err, keypair.EINVALID, "ListKeyPairs with another domain's shared name as marker")
}

func testNameConflicts(t *testing.T, s keypair.Store) {
	user := func(owner, dom string) func(name string) *keypair.KeyPair {
		return func(name string) *keypair.KeyPair {
			kp := newKP(owner, name)
			kp.DomainID = dom
			return kp
		}
	}
	shared := func(owner, dom string) func(name string) *keypair.KeyPair {
		return func(name string) *keypair.KeyPair { return sharedKP(owner, dom, name) }
	}
	cases := []struct {
		name     string
		existing []func(string) *keypair.KeyPair
		create   func(string) *keypair.KeyPair
		code     keypair.Code
	}{
		{"user vs own", fl(user("alice", domain)), user("alice", domain), keypair.ECONFLICT},
		{"user vs own in no domain", fl(user("erin", "")), user("erin", ""), keypair.ECONFLICT},
		{"user vs own shared", fl(shared("alice", domain)), user("alice", domain), keypair.ECONFLICT},
		{"user vs shared with domain", fl(shared("bob", domain)), user("alice", domain), keypair.ECONFLICT},
		{"user vs other user's", fl(user("bob", domain)), user("alice", domain), ""},
		{"user vs other domain's shared", fl(shared("dave", otherDomain)), user("alice", domain), ""},
		{"no-domain user vs shared", fl(shared("bob", domain)), user("erin", ""), ""},
		{"no-domain users", fl(user("erin", "")), user("frank", ""), ""},
		{"shared vs own", fl(user("alice", domain)), shared("alice", domain), keypair.ECONFLICT},
		{"shared vs own in other domain", fl(user("alice", otherDomain)), shared("alice", domain), keypair.ECONFLICT},
		{"shared vs domain user's", fl(user("bob", domain)), shared("alice", domain), keypair.ECONFLICT},
		{"shared vs shared", fl(shared("bob", domain)), shared("alice", domain), keypair.ECONFLICT},
		{"shared vs other domain's user", fl(user("dave", otherDomain)), shared("alice", domain), ""},
		{"shared vs other domain's shared", fl(shared("dave", otherDomain)), shared("alice", domain), ""},
		{"shared vs no-domain user's", fl(user("erin", "")), shared("alice", domain), ""},
		{"shared in two domains, then user", fl(shared("dave", otherDomain), shared("bob", domain)), user("carol", domain), keypair.ECONFLICT},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("n%02d", i)
			var before []*keypair.KeyPair
			for _, mk := range tc.existing {
				before = append(before, mustCreate(t, s, mk(name)))
			}
			kp := tc.create(name)
			err := s.CreateKeyPair(t.Context(), kp, quota, nil)
			wantCode(t, err, tc.code, fmt.Sprintf("create %s %q by %s of %q", kp.Scope, name, kp.UserID, kp.DomainID))
			if err != nil && kp.ID != 0 {
				t.Errorf("refused create set ID %d", kp.ID)
			}
			for _, b := range before {
				if d := diffGet(t, s, keypair.Viewer{UserID: b.UserID, DomainID: b.DomainID}, b); d != "" {
					t.Errorf("existing key pair of %s changed: %s", b.UserID, d)
				}
			}
		})
	}
	if err := s.CreateKeyPair(t.Context(), sharedKP("erin", "", "n99"), quota, nil); keypair.ErrorCode(err) != keypair.EINVALID {
		t.Errorf("domain-scope create without a domain: %v, want EINVALID", err)
	}
}

// fl makes a list of fixture makers.
func fl(mk ...func(string) *keypair.KeyPair) []func(string) *keypair.KeyPair { return mk }

// testOwnWinsOverShared: a user whose key pair was recorded without a
// domain (a static token) may later act in a domain where the same name is
// shared. The name must still resolve to one key pair: their own.
func testOwnWinsOverShared(t *testing.T, s keypair.Store) {
	own := newKP("alice", "x")
	own.DomainID = ""
	mustCreate(t, s, own)
	team := mustCreate(t, s, sharedKP("bob", domain, "x"))
	mustCreate(t, s, sharedKP("bob", domain, "y"))

	wantSees(t, s, me("alice"), "x", own)
	wantSees(t, s, me("carol"), "x", team)
	list, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{})
	if err != nil || !slices.Equal(listedNames(list), []string{"x", "y"}) || list[0].ID != own.ID {
		t.Fatalf("ListKeyPairs(alice) = %q, %v; want her own x, then y", listedNames(list), err)
	}
	page, err := s.ListKeyPairs(t.Context(), me("alice"), keypair.Page{Marker: "x"})
	if err != nil || !slices.Equal(listedNames(page), []string{"y"}) {
		t.Errorf("ListKeyPairs(alice, marker x) = %q, %v; want [y]", listedNames(page), err)
	}
}
