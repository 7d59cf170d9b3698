package sqlite

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// uncachedGet reads the key pair straight from the database, as the store
// did before it kept key pairs.
func uncachedGet(t *testing.T, s *Store, v keypair.Viewer, name string) (*keypair.KeyPair, error) {
	t.Helper()
	var at listVersions
	kp, err := scanKeyPair(s.st.rGet.QueryRowContext(t.Context(), v.UserID, v.DomainID, name), &at.user, &at.domain)
	if err != nil {
		return nil, err
	}
	return kp, nil
}

// sameGet says whether a get's answer is the uncached one: the same key
// pair, or both none.
func sameGet(got *keypair.KeyPair, err error, want *keypair.KeyPair, wantErr error) bool {
	if err != nil || wantErr != nil {
		return keypair.ErrorCode(err) == keypair.ENOTFOUND && wantErr != nil
	}
	return reflect.DeepEqual(got, want)
}

// TestGetCacheSeesEveryChange keeps alice's key pairs (her own and one
// shared with her), makes each change she must see, and checks that her
// next gets are what the database holds.
func TestGetCacheSeesEveryChange(t *testing.T) {
	alice := keypair.Viewer{UserID: "alice", DomainID: "d1"}
	for _, tc := range cacheChanges(alice, []keypair.Page{{}}) {
		t.Run(tc.name, func(t *testing.T) {
			s, other, own, shared := cacheFixture(t)
			names := []string{own.Name, shared.Name, "a-2", "a-0", "b-9"}
			for round := range 2 { // the second round must come from the cache
				for _, name := range names {
					got, err := s.GetKeyPair(t.Context(), alice, name)
					want, wantErr := uncachedGet(t, s, alice, name)
					if !sameGet(got, err, want, wantErr) {
						t.Fatalf("round %d, %s: %+v, %v", round, name, got, err)
					}
				}
			}
			if hits := s.gets.hits.Load(); hits < 3 {
				t.Fatalf("%d cache hits after getting three unchanged key pairs twice", hits)
			}
			tc.change(t, s, other, own, shared)
			for _, name := range names {
				want, wantErr := uncachedGet(t, s, alice, name)
				for range 2 {
					got, err := s.GetKeyPair(t.Context(), alice, name)
					if !sameGet(got, err, want, wantErr) {
						t.Fatalf("%s after the change:\n got %+v, %v\nwant %+v, %v", name, got, err, want, wantErr)
					}
				}
			}
		})
	}
}

// TestGetCacheKeeps checks what is kept: a key pair stays kept across
// changes alice cannot see, a caller's change of its answer reaches no
// one else, and a key pair with an escrowed private key is never kept.
func TestGetCacheKeeps(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	alice := keypair.Viewer{UserID: "alice", DomainID: "d1"}
	mustCreateKP(t, s, testKP("alice", "a-1"))
	get := func(name string) *keypair.KeyPair {
		t.Helper()
		kp, err := s.GetKeyPair(t.Context(), alice, name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return kp
	}
	get("a-1").PublicKey = "changed by the caller"
	for i, change := range []func(){
		func() {},
		func() { mustCreateKP(t, s, testKP("bob", "b-1")) },
		func() { mustCreateKP(t, s, sharedKP("dave", "d2", "d-1")) },
	} {
		change()
		before := s.gets.hits.Load()
		if kp := get("a-1"); kp.PublicKey == "changed by the caller" {
			t.Fatal("a caller's change reached the kept key pair")
		}
		if s.gets.hits.Load() != before+1 {
			t.Errorf("change %d: alice's key pair was read again", i)
		}
	}

	escrowed := testKP("alice", "a-escrowed")
	escrowed.Escrow = &keypair.Escrowed{KeyRef: "local/master", Blob: []byte("sealed")}
	mustCreateKP(t, s, escrowed)
	for range 3 {
		if kp := get("a-escrowed"); kp.Escrow == nil || string(kp.Escrow.Blob) != "sealed" {
			t.Fatalf("escrowed key pair read as %+v", kp.Escrow)
		}
	}
	if s.gets.has(getKey{user: "alice", domain: "d1", name: "a-escrowed"}) {
		t.Error("a key pair with an escrowed private key was kept")
	}
	// A kept key pair that gains an escrowed private key, or goes, is
	// forgotten, so later gets do not probe for it.
	kept := getKey{user: "alice", domain: "d1", name: "a-1"}
	if !s.gets.has(kept) {
		t.Fatal("a-1 is not kept")
	}
	a1 := get("a-1")
	if err := s.SwapEscrow(t.Context(), a1.ID, nil, &keypair.Escrowed{KeyRef: "local/master", Blob: []byte("sealed")}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if kp := get("a-1"); kp.Escrow == nil || s.gets.has(kept) {
		t.Fatalf("after its escrow import a-1 reads %+v, kept %v", kp.Escrow, s.gets.has(kept))
	}
	mustCreateKP(t, s, testKP("alice", "a-2"))
	a2 := get("a-2")
	if err := s.DeleteKeyPair(t.Context(), a2.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKeyPair(t.Context(), alice, "a-2"); keypair.ErrorCode(err) != keypair.ENOTFOUND || s.gets.has(getKey{user: "alice", domain: "d1", name: "a-2"}) {
		t.Fatalf("after its delete a-2 reads %v, still kept", err)
	}
	if _, err := s.GetKeyPair(t.Context(), alice, "a-none"); keypair.ErrorCode(err) != keypair.ENOTFOUND {
		t.Fatalf("get of no key pair: %v", err)
	}
	if s.gets.has(getKey{user: "alice", domain: "d1", name: "a-none"}) {
		t.Error("a name that resolves to nothing was kept")
	}
}

// TestGetCacheBounds checks that the get cache starts over once it would
// hold more than maxCachedGets key pairs.
func TestGetCacheBounds(t *testing.T) {
	c := newGetCache()
	kp := testKP("u", "n")
	for i := range maxCachedGets {
		c.put(getKey{name: fmt.Sprint(i)}, listVersions{}, walStamp{}, kp)
	}
	if c.rows != maxCachedGets || len(c.m) != maxCachedGets {
		t.Fatalf("rows = %d, entries %d; want %d", c.rows, len(c.m), maxCachedGets)
	}
	c.put(getKey{name: "one more"}, listVersions{}, walStamp{}, kp)
	if len(c.m) != 1 || c.rows != 1 {
		t.Fatalf("past the bound: %d entries, %d rows; want it started over with one", len(c.m), c.rows)
	}
	if _, ok := c.get(getKey{name: "one more"}, listVersions{user: 1}); ok {
		t.Fatal("a key pair served at other versions")
	}
}

// TestGetCacheFollowsRenamedDomain checks that the same user seen in
// another domain (a changed identity record) resolves names afresh.
func TestGetCacheFollowsRenamedDomain(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	mustCreateKP(t, s, sharedKP("bob", "d1", "b-1"))
	mustCreateKP(t, s, sharedKP("bob", "d2", "b-2"))
	for _, d := range []string{"d1", "d2", "d1"} {
		for _, name := range []string{"b-1", "b-2"} {
			got, err := s.GetKeyPair(t.Context(), keypair.Viewer{UserID: "alice", DomainID: d}, name)
			visible := (d == "d1") == (name == "b-1")
			if visible != (err == nil) || (err != nil && keypair.ErrorCode(err) != keypair.ENOTFOUND) {
				t.Fatalf("alice in %s gets %s: %+v, %v", d, name, got, err)
			}
		}
	}
}
