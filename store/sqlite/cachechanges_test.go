package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// cacheChange is one change of what alice sees, which neither the list
// cache nor the get cache may hide.
type cacheChange struct {
	name   string
	change func(t *testing.T, s, other *Store, own, shared *keypair.KeyPair)
}

// cacheChanges are every kind of change alice's lists and gets must show,
// by this store or by a second one on the same file (as another process,
// an operator's command, would be). pages are the pages a case lists again
// in between, when it needs to.
func cacheChanges(alice keypair.Viewer, pages []keypair.Page) []cacheChange {
	return []cacheChange{
		{"own create", func(t *testing.T, s, _ *Store, _, _ *keypair.KeyPair) {
			mustCreateKP(t, s, testKP("alice", "a-0"))
		}},
		{"own delete", func(t *testing.T, s, _ *Store, own, _ *keypair.KeyPair) {
			if err := s.DeleteKeyPair(t.Context(), own.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"domain member shares one", func(t *testing.T, s, _ *Store, _, _ *keypair.KeyPair) {
			mustCreateKP(t, s, sharedKP("bob", "d1", "b-9"))
		}},
		{"domain member deletes a shared one", func(t *testing.T, s, _ *Store, _, shared *keypair.KeyPair) {
			if err := s.DeleteKeyPair(t.Context(), shared.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"escrow imported", func(t *testing.T, s, _ *Store, own, _ *keypair.KeyPair) {
			next := &keypair.Escrowed{KeyRef: "local/master", Blob: []byte("sealed")}
			if err := s.SwapEscrow(t.Context(), own.ID, nil, next, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"rotated", func(t *testing.T, s, _ *Store, own, _ *keypair.KeyPair) {
			rotate(t, s, own.ID)
		}},
		{"shared one rotated", func(t *testing.T, s, _ *Store, _, shared *keypair.KeyPair) {
			rotate(t, s, shared.ID)
		}},
		{"expired and reaped", func(t *testing.T, s, _ *Store, own, _ *keypair.KeyPair) {
			past := time.Now().Add(-time.Hour).UTC()
			pp := &past
			if err := s.UpdateDetails(t.Context(), own.ID, keypair.DetailsUpdate{Expiry: &pp}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if gone, err := s.DeleteExpired(t.Context(), time.Now(), 10, func(kp *keypair.KeyPair) *keypair.AuditEntry {
				return &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditExpire, UserID: kp.UserID, KeyPairUID: kp.UID, KeyPairName: kp.Name}
			}); err != nil || len(gone) != 1 {
				t.Fatalf("DeleteExpired = %d, %v", len(gone), err)
			}
		}},
		{"another process creates", func(t *testing.T, _, other *Store, _, _ *keypair.KeyPair) {
			mustCreateKP(t, other, testKP("alice", "a-0"))
		}},
		{"another process shares one", func(t *testing.T, _, other *Store, _, _ *keypair.KeyPair) {
			mustCreateKP(t, other, sharedKP("carol", "d1", "c-9"))
		}},
		{"another process deletes", func(t *testing.T, _, other *Store, own, _ *keypair.KeyPair) {
			if err := other.DeleteKeyPair(t.Context(), own.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"another process clears escrow", func(t *testing.T, s, other *Store, own, _ *keypair.KeyPair) {
			e := &keypair.Escrowed{KeyRef: "local/master", Blob: []byte("sealed")}
			if err := s.SwapEscrow(t.Context(), own.ID, nil, e, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
			for _, p := range pages { // fill again, escrowed
				got, err := s.ListKeyPairs(t.Context(), alice, p)
				if err != nil {
					t.Fatal(err)
				}
				if p.Marker == "" && (got[0].Name != own.Name || !got[0].Protected) {
					t.Fatalf("after an import of its private key %+v lists as %+v", own.Name, got[0])
				}
			}
			if err := other.SwapEscrow(t.Context(), own.ID, e, nil, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"described", func(t *testing.T, s, _ *Store, own, _ *keypair.KeyPair) {
			if err := s.UpdateDescription(t.Context(), own.ID, "new words", time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"another process describes a shared one", func(t *testing.T, _, other *Store, _, shared *keypair.KeyPair) {
			if err := other.UpdateDescription(t.Context(), shared.ID, "other words", time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
	}
}

// cacheFixture opens a store and a second one on the same file, with three
// key pairs of alice's (own is the first) and three bob shares with her
// domain d1 (shared is the last).
func cacheFixture(t *testing.T) (s, other *Store, own, shared *keypair.KeyPair) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.db")
	s = openTest(t, path, Options{})
	other = openTest(t, path, Options{})
	for i := 1; i <= 3; i++ {
		kp := testKP("alice", fmt.Sprintf("a-%d", i))
		mustCreateKP(t, s, kp)
		if own == nil {
			own = kp
		}
		shared = sharedKP("bob", "d1", fmt.Sprintf("b-%d", i))
		mustCreateKP(t, s, shared)
	}
	return s, other, own, shared
}
