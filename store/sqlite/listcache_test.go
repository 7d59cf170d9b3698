package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// uncached reads v's page straight from the database, as the store did
// before it kept pages.
func uncached(t *testing.T, s *Store, v keypair.Viewer, page keypair.Page) ([]keypair.Listed, error) {
	t.Helper()
	limit := int64(-1)
	if page.Limit > 0 {
		limit = int64(page.Limit)
		if page.Marker != "" {
			limit++
		}
	}
	return readList(t.Context(), s.st.rList, v, page, limit)
}

// sameList says whether a list answer is the uncached one: the same key
// pairs, or the same error.
func sameList(got []keypair.Listed, err error, want []keypair.Listed, wantErr error) bool {
	if err != nil || wantErr != nil {
		return err != nil && wantErr != nil && err.Error() == wantErr.Error()
	}
	return slices.Equal(got, want)
}

// sharedKP is a key pair of user in domain, shared with the domain.
func sharedKP(user, domain, name string) *keypair.KeyPair {
	kp := testKP(user, name)
	kp.DomainID, kp.Scope = domain, keypair.ScopeDomain
	return kp
}

// TestListCacheSeesEveryChange fills alice's cached pages, makes one change
// that her list must show, and checks that her next lists are what the
// database holds: every kind of change, by this store or by a second one
// on the same file (as another process, an operator's command, would be).
func TestListCacheSeesEveryChange(t *testing.T) {
	alice := keypair.Viewer{UserID: "alice", DomainID: "d1"}
	pages := []keypair.Page{{}, {Limit: 2}, {Marker: "a-1", Limit: 2}}
	for _, tc := range cacheChanges(alice, pages) {
		t.Run(tc.name, func(t *testing.T) {
			s, other, own, shared := cacheFixture(t)
			for round := range 2 { // the second round must come from the cache
				for _, p := range pages {
					got, err := s.ListKeyPairs(t.Context(), alice, p)
					want, wantErr := uncached(t, s, alice, p)
					if err != nil || !sameList(got, err, want, wantErr) {
						t.Fatalf("round %d, page %+v: %v, %v", round, p, got, err)
					}
				}
			}
			hits := s.lists.hits.Load()
			if hits < int64(len(pages)) {
				t.Fatalf("%d cache hits after listing unchanged pages twice, want %d", hits, len(pages))
			}
			tc.change(t, s, other, own, shared)
			for _, p := range pages {
				want, wantErr := uncached(t, s, alice, p)
				for range 2 {
					got, err := s.ListKeyPairs(t.Context(), alice, p)
					if !sameList(got, err, want, wantErr) {
						t.Fatalf("page %+v after the change:\n got %+v, %v\nwant %+v, %v", p, got, err, want, wantErr)
					}
				}
			}
		})
	}
}

// rotate gives the key pair with id new key material.
func rotate(t *testing.T, s *Store, id int64) {
	t.Helper()
	r := keypair.Rotation{PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrCjG9fCb9CCti5X/udSkBtPhQj1xLbHxE4m6K/RpWu r",
		Fingerprint: "ff:ee:dd:cc:bb:aa:99:88:77:66:55:44:33:22:11:00", Algorithm: "ed25519", At: time.Now().UTC()}
	if _, err := s.RotateKeyPair(t.Context(), id, r, nil); err != nil {
		t.Fatal(err)
	}
}

// mustCreateKP creates kp with a quota of 1,000 or fails the test.
func mustCreateKP(t *testing.T, s *Store, kp *keypair.KeyPair) {
	t.Helper()
	if err := s.CreateKeyPair(t.Context(), kp, 1000, nil); err != nil {
		t.Fatalf("create %s/%s: %v", kp.UserID, kp.Name, err)
	}
}

// TestListCacheKeepsOthersPages checks that a change alice's list cannot
// show (bob's own key pair, another domain's shared one) leaves her kept
// page in use. (A change of her own key pair's description reads her page
// again since migration 0011: the get cache needs that version bump.)
func TestListCacheKeepsOthersPages(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	alice := keypair.Viewer{UserID: "alice", DomainID: "d1"}
	own := testKP("alice", "a-1")
	mustCreateKP(t, s, own)
	list := func() {
		t.Helper()
		if got, err := s.ListKeyPairs(t.Context(), alice, keypair.Page{Limit: 50}); err != nil || len(got) != 1 {
			t.Fatalf("list = %+v, %v", got, err)
		}
	}
	list()
	for i, change := range []func(){
		func() { mustCreateKP(t, s, testKP("bob", "b-1")) },
		func() { mustCreateKP(t, s, sharedKP("dave", "d2", "d-1")) },
	} {
		change()
		before := s.lists.hits.Load()
		list()
		if s.lists.hits.Load() != before+1 {
			t.Errorf("change %d: alice's page was read again", i)
		}
	}
}

// TestListCacheReadsItsWrites runs writers that each get and list right
// after every create and delete they make, and listers of a shared domain,
// at once: a writer always lists exactly its own key pairs, and a lister
// never sees a domain key pair the store has not created.
func TestListCacheReadsItsWrites(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var writers, readers sync.WaitGroup
	var created sync.Map // names of shared key pairs, once created
	for w := range 4 {
		user := fmt.Sprintf("writer-%d", w)
		v := keypair.Viewer{UserID: user, DomainID: "d1"}
		writers.Go(func() {
			var mine []string
			for i := range 60 {
				kp := testKP(user, fmt.Sprintf("%s-%03d", user, i))
				if i%3 == 0 {
					kp.DomainID, kp.Scope = "d1", keypair.ScopeDomain
					created.Store(kp.Name, true)
				}
				mustCreateKP(t, s, kp)
				if kp.Scope == keypair.ScopeUser {
					mine = append(mine, kp.Name)
				}
				if got, err := s.GetKeyPair(t.Context(), v, kp.Name); err != nil || got.ID != kp.ID {
					t.Errorf("%s gets %s right after creating it: %+v, %v", user, kp.Name, got, err)
					return
				}
				if i%4 == 3 {
					victim, _ := s.GetKeyPair(t.Context(), v, mine[0])
					if err := s.DeleteKeyPair(t.Context(), victim.ID, nil); err != nil {
						t.Error(err)
						return
					}
					if _, err := s.GetKeyPair(t.Context(), v, victim.Name); keypair.ErrorCode(err) != keypair.ENOTFOUND {
						t.Errorf("%s gets %s right after deleting it: %v", user, victim.Name, err)
						return
					}
					mine = mine[1:]
				}
				got, err := s.ListKeyPairs(t.Context(), keypair.Viewer{UserID: user}, keypair.Page{Limit: 100})
				if err != nil {
					t.Error(err)
					return
				}
				var own []string
				for _, l := range got {
					if l.Scope == keypair.ScopeUser {
						own = append(own, l.Name)
					}
				}
				if !slices.Equal(own, mine) {
					t.Errorf("%s lists %q after its writes, want %q", user, own, mine)
					return
				}
			}
		})
	}
	for r := range 2 {
		v := keypair.Viewer{UserID: fmt.Sprintf("reader-%d", r), DomainID: "d1"}
		readers.Go(func() {
			for ctx.Err() == nil {
				got, err := s.ListKeyPairs(t.Context(), v, keypair.Page{Limit: 50})
				if err != nil {
					t.Error(err)
					return
				}
				for _, l := range got {
					if _, ok := created.Load(l.Name); !ok {
						t.Errorf("reader lists %q, which is no shared key pair", l.Name)
						return
					}
				}
			}
		})
	}
	writers.Wait()
	cancel()
	readers.Wait()
	if s.lists.hits.Load() == 0 {
		t.Error("no list was served from the cache")
	}
}

// TestListCacheBounds checks that a page over maxCachedPage is not kept
// and that the cache starts over once it would hold more than
// maxCachedRows key pairs.
func TestListCacheBounds(t *testing.T) {
	c := newListCache()
	big := make([]keypair.Listed, maxCachedPage+1)
	c.put(listKey{user: "u"}, listVersions{}, walStamp{}, big)
	if len(c.m) != 0 || c.rows != 0 {
		t.Fatalf("a page of %d was kept", len(big))
	}
	page := make([]keypair.Listed, maxCachedPage)
	for i := range maxCachedRows / maxCachedPage {
		c.put(listKey{user: fmt.Sprint(i)}, listVersions{}, walStamp{}, page)
	}
	if c.rows != maxCachedRows {
		t.Fatalf("rows = %d, want %d", c.rows, maxCachedRows)
	}
	c.put(listKey{user: "one more"}, listVersions{}, walStamp{}, page)
	if len(c.m) != 1 || c.rows != maxCachedPage {
		t.Fatalf("past the bound: %d pages, %d rows; want it started over with one", len(c.m), c.rows)
	}
	c.put(listKey{user: "one more"}, listVersions{user: 1}, walStamp{}, page[:1])
	if c.rows != 1 {
		t.Fatalf("replacing a page: rows = %d, want 1", c.rows)
	}
	got, ok := c.get(listKey{user: "one more"}, listVersions{user: 1})
	if !ok || len(got) != 1 {
		t.Fatal("kept page not served")
	}
	got[0].Name = "changed by the caller"
	if again, _ := c.get(listKey{user: "one more"}, listVersions{user: 1}); again[0].Name != "" {
		t.Fatal("a caller's change reached the kept page")
	}
	if _, ok := c.get(listKey{user: "one more"}, listVersions{user: 2}); ok {
		t.Fatal("a page served at other versions")
	}
}
