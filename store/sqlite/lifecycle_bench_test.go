package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
)

// benchLifecycle opens a store holding one user's 1,000 key pairs with
// three tags each; one in ten has env=prod.
func benchLifecycle(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	for i := range 1000 {
		env := "dev"
		if i%10 == 0 {
			env = "prod"
		}
		kp := &keypair.KeyPair{UID: fmt.Sprintf("uid-%d", i), UserID: "alice", ProjectID: "p", DomainID: "d",
			Name: fmt.Sprintf("k%04d", i), Type: keypair.TypeSSH, Scope: keypair.ScopeUser,
			PublicKey: "ssh-ed25519 AAAA", Fingerprint: fmt.Sprintf("fp-%d", i), Algorithm: "ed25519",
			Details: keypair.Details{Tags: []keypair.Tag{{Key: "env", Value: env}, {Key: "team", Value: "t"}, {Key: "n", Value: fmt.Sprint(i)}}}}
		if err := s.CreateKeyPair(ctx, kp, keypair.DefaultQuota*100, nil); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkListDetailed measures a 50-key-pair page of the native list
// with its details, unfiltered and filtered by tag (one in ten matches).
func BenchmarkListDetailed(b *testing.B) {
	s := benchLifecycle(b)
	v := keypair.Viewer{UserID: "alice", DomainID: "d"}
	for _, c := range []struct {
		name string
		f    keypair.Filter
	}{
		{"all", keypair.Filter{}},
		{"tag", keypair.Filter{Tags: []keypair.Tag{{Key: "env", Value: "prod"}}}},
		{"prefix", keypair.Filter{NamePrefix: "k05"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				kps, err := s.ListDetailed(b.Context(), &v, c.f, keypair.Position{}, 50, time.Now())
				if err != nil || len(kps) != 50 {
					b.Fatalf("%d, %v", len(kps), err)
				}
			}
		})
	}
}

// BenchmarkRotate measures one rotation: the row swap, the previous key
// and the audit entry in one durable transaction.
func BenchmarkRotate(b *testing.B) {
	s := benchLifecycle(b)
	kp, err := s.GetKeyPair(b.Context(), keypair.Viewer{UserID: "alice"}, "k0001")
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		r := keypair.Rotation{PublicKey: fmt.Sprintf("ssh-ed25519 K%d", i), Fingerprint: "f", Algorithm: "ed25519", At: time.Now()}
		e := &keypair.AuditEntry{Time: time.Now(), Action: keypair.AuditRotate, UserID: "alice", KeyPairID: kp.ID, KeyPairUID: kp.UID, KeyPairName: kp.Name}
		if _, err := s.RotateKeyPair(b.Context(), kp.ID, r, e); err != nil {
			b.Fatal(err)
		}
	}
}
