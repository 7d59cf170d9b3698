package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// testConcurrentScopes races alice creating a key pair of her own against
// bob sharing one of the same name with their domain: whoever commits
// first wins, every other create conflicts, and both see the winner only.
func testConcurrentScopes(t *testing.T, s keypair.Store) {
	const n = 50
	kps := make([]*keypair.KeyPair, n)
	for i := range kps {
		if i%2 == 0 {
			kps[i] = newKP("alice", "same")
		} else {
			kps[i] = sharedKP("bob", domain, "same")
		}
		kps[i].Fingerprint = fmt.Sprintf("%02x:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00", i)
	}
	codes := race(n, func(i int) error { return s.CreateKeyPair(t.Context(), kps[i], quota, nil) })
	want := map[keypair.Code]int{"": 1, keypair.ECONFLICT: n - 1}
	if got := tally(codes); !maps.Equal(got, want) {
		t.Fatalf("outcomes of %d concurrent user- and domain-scope creates of one name = %v, want %v", n, got, want)
	}
	var winner *keypair.KeyPair
	for i, c := range codes {
		if c == "" {
			winner = kps[i]
		}
	}
	shared := winner.Scope == keypair.ScopeDomain
	for _, v := range []keypair.Viewer{me("alice"), me("bob"), me("carol")} {
		var sees *keypair.KeyPair
		if shared || v.UserID == winner.UserID {
			sees = winner
		}
		wantSees(t, s, v, "same", sees)
		list, err := s.ListKeyPairs(t.Context(), v, keypair.Page{})
		if err != nil {
			t.Fatalf("ListKeyPairs(%s): %v", v.UserID, err)
		}
		if len(list) != map[bool]int{true: 1}[sees != nil] {
			t.Errorf("%s lists %q, want only the winner's key pair (if they see it)", v.UserID, listedNames(list))
		}
	}
}

// mixUsers are the creators of testConcurrentScopeMix; erin's domain is
// unknown, so she creates user-scope key pairs only.
var mixUsers = []keypair.Viewer{
	me("alice"), me("bob"), me("carol"),
	{UserID: "dave", DomainID: otherDomain},
	{UserID: "erin"},
}

// testConcurrentScopeMix races user- and domain-scope creates of a few
// names by users of two domains and none, then checks what the successes
// must satisfy whatever the order: per name and domain either one shared
// key pair and no other in that domain, or none shared and at most one per
// user; and no user sees two key pairs of one name.
func testConcurrentScopeMix(t *testing.T, s keypair.Store) {
	const n, nNames = 120, 4
	r := rand.New(rand.NewPCG(3, 4))
	kps := make([]*keypair.KeyPair, n)
	for i := range kps {
		v := mixUsers[r.IntN(len(mixUsers))]
		name := fmt.Sprint("n", r.IntN(nNames))
		if v.DomainID != "" && r.IntN(3) == 0 {
			kps[i] = sharedKP(v.UserID, v.DomainID, name)
		} else {
			kps[i] = newKP(v.UserID, name)
			kps[i].DomainID = v.DomainID
		}
	}
	codes := race(n, func(i int) error { return s.CreateKeyPair(t.Context(), kps[i], quota, nil) })

	type key struct{ domain, name string }
	shared := map[key]int{} // successful domain-scope creates
	owned := map[key]int{}  // successful creates by users of the domain
	perUser := map[[2]string]int{}
	for i, c := range codes {
		switch c {
		case keypair.ECONFLICT:
			continue
		case "":
		default:
			t.Fatalf("create %d: code %q", i, c)
		}
		kp := kps[i]
		k := key{kp.DomainID, kp.Name}
		owned[k]++
		if kp.Scope == keypair.ScopeDomain {
			shared[k]++
		}
		perUser[[2]string{kp.UserID, kp.Name}]++
	}
	for k, m := range owned {
		if shared[k] > 0 && m != 1 {
			t.Errorf("%q shared in domain %q, yet %d key pairs of that name in the domain were created", k.name, k.domain, m)
		}
	}
	for k, m := range perUser {
		if m > 1 {
			t.Errorf("user %s created %d key pairs called %q", k[0], m, k[1])
		}
	}

	for _, v := range append(mixUsers, me("zoe")) {
		// What v must see: their own successes and those shared with v's
		// domain.
		want := map[string]int64{}
		for i, c := range codes {
			kp := kps[i]
			if c == "" && (kp.UserID == v.UserID || kp.Scope == keypair.ScopeDomain && kp.DomainID == v.DomainID) {
				if id, dup := want[kp.Name]; dup && id != kp.ID {
					t.Errorf("%s would see two key pairs called %q (IDs %d and %d)", v.UserID, kp.Name, id, kp.ID)
				}
				want[kp.Name] = kp.ID
			}
		}
		list, err := s.ListKeyPairs(t.Context(), v, keypair.Page{})
		if err != nil {
			t.Fatalf("ListKeyPairs(%s): %v", v.UserID, err)
		}
		got := map[string]int64{}
		for _, kp := range list {
			if _, dup := got[kp.Name]; dup {
				t.Errorf("%s lists two key pairs called %q", v.UserID, kp.Name)
			}
			got[kp.Name] = kp.ID
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s lists %v (name: ID), want %v", v.UserID, got, want)
		}
	}
}
