package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/keyhaven/keyhaven/keypair"
)

// testCountMatchesRows runs a mixed random workload on 8 goroutines over
// 4 owners (creates of both scopes, some duplicates, some over a quota
// of 12, deletes of the worker's own earlier creates) and checks after
// each worker's every 10th operation that CountKeyPairs is within the
// quota, and at the end that it equals the number of key pairs each owner
// has (their list without a domain, which shows exactly their own).
func testCountMatchesRows(t *testing.T, s keypair.Store) {
	const workers, ops, q = 8, 60, 12
	users := []string{"u0", "u1", "u2", "u3"}
	// Mid-run other workers change the owners between any two reads, so
	// only the range is checked then; the end is exact.
	check := func(user string) {
		if n, err := s.CountKeyPairs(t.Context(), user); err != nil || n < 0 || n > q {
			t.Errorf("CountKeyPairs(%s) = %d, %v; want 0 to %d", user, n, err, q)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []*keypair.KeyPair
			for i := range ops {
				user := users[rng.IntN(len(users))]
				switch op := rng.IntN(10); {
				case op < 6 || len(mine) == 0:
					kp := newKP(user, fmt.Sprintf("k%d", rng.IntN(40))) // duplicates happen
					if op == 0 {
						kp = sharedKP(user, domain, fmt.Sprintf("s%d-%d", w, i))
					}
					err := s.CreateKeyPair(t.Context(), kp, q, nil)
					switch keypair.ErrorCode(err) {
					case "":
						mine = append(mine, kp)
					case keypair.ECONFLICT, keypair.EQUOTA:
					default:
						t.Errorf("create: %v", err)
					}
				default:
					j := rng.IntN(len(mine))
					if err := s.DeleteKeyPair(t.Context(), mine[j].ID, nil); err != nil {
						t.Errorf("delete: %v", err)
					}
					mine = append(mine[:j], mine[j+1:]...)
				}
				if i%10 == 9 {
					check(user)
				}
			}
		})
	}
	wg.Wait()
	for _, user := range append(users, "nobody") {
		n, err := s.CountKeyPairs(t.Context(), user)
		if err != nil {
			t.Fatalf("CountKeyPairs(%s): %v", user, err)
		}
		list, err := s.ListKeyPairs(t.Context(), keypair.Viewer{UserID: user}, keypair.Page{})
		if err != nil {
			t.Fatalf("ListKeyPairs(%s): %v", user, err)
		}
		if n != len(list) {
			t.Errorf("CountKeyPairs(%s) = %d, but the owner has %d key pairs", user, n, len(list))
		}
		if n > q {
			t.Errorf("%s has %d key pairs, over the quota of %d", user, n, q)
		}
	}
}
