package sqlite

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// BenchmarkEscrowDestroy measures what the scrub costs a clear: each
// iteration makes two escrow writes of a 1.7 KB blob with their audit
// entries. In "clear" they import a blob (no scrub) and clear it (a
// destroying write: secure_delete, then a TRUNCATE checkpoint); in
// "rewrap" both swap the blob for another, as a rewrap does (no scrub).
// The store holds 1,000 other key pairs, so the checkpoint has pages to
// copy. docs/performance.md has the figures.
//
//	go test -run '^$' -bench EscrowDestroy -benchtime 500x ./store/sqlite/
func BenchmarkEscrowDestroy(b *testing.B) {
	for _, how := range []string{"clear", "rewrap"} {
		b.Run(how, func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := range 1000 {
				if err := s.CreateKeyPair(b.Context(), testKP("u", fmt.Sprint("n", i)), 1<<30, nil); err != nil {
					b.Fatal(err)
				}
			}
			kp := testKP("v", "k")
			if err := s.CreateKeyPair(b.Context(), kp, 1<<30, nil); err != nil {
				b.Fatal(err)
			}
			blob := func() *keypair.Escrowed {
				e := &keypair.Escrowed{KeyRef: "local/master@v1", Blob: make([]byte, 1700)}
				rand.Read(e.Blob)
				return e
			}
			entry := func(a keypair.AuditAction) *keypair.AuditEntry {
				return &keypair.AuditEntry{Time: time.Now(), Action: a, KeyPairID: kp.ID}
			}
			cur := (*keypair.Escrowed)(nil)
			if how == "rewrap" {
				cur = blob()
				if err := s.SwapEscrow(b.Context(), kp.ID, nil, cur, time.Now(), nil); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				// Two writes per iteration either way; in "clear" the
				// second destroys the blob, in "rewrap" neither does.
				for step := range 2 {
					next, action := blob(), keypair.AuditRewrap
					if how == "clear" {
						action = keypair.AuditImportPrivate
						if step == 1 {
							next, action = nil, keypair.AuditClear
						}
					}
					if err := s.SwapEscrow(b.Context(), kp.ID, cur, next, time.Now(), entry(action)); err != nil {
						b.Fatal(err)
					}
					cur = next
				}
			}
		})
	}
}
