package keypair_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/sshkey"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// gate is the pool's Slots in this test: open until closed, so the test
// can stop refilling and watch the pool empty.
type gate struct{ closed atomic.Bool }

func (g *gate) TryAcquire() (func(), bool) { return func() {}, !g.closed.Load() }

// TestServiceGeneratesFromPoolFirst: ssh-type generation takes the pool's
// keys while it has any, then generates under the limit; x509 never takes
// from the pool.
func TestServiceGeneratesFromPoolFirst(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	g := &gate{}
	pool := sshkey.NewPool(sshkey.PoolConfig{Size: 2, Comment: sshkey.NovaComment, Slots: g, Retry: time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pool.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for pool.Len() < 2 { // a broken pool hangs here until the test times out
		time.Sleep(5 * time.Millisecond)
	}
	g.closed.Store(true)

	limit := keypair.NewGenerateLimit(1, time.Minute)
	svc := keypair.NewService(keypair.Config{Store: st, Quota: keypair.Unlimited, GenerateLimit: limit, Pool: pool})
	actor := keypair.Actor{UserID: "u1", ProjectID: "p1", Roles: []string{"member"}}
	cases := []struct {
		name     string
		typ      keypair.Type
		wantLeft int
	}{
		{"a", keypair.TypeSSH, 1},
		{"x", keypair.TypeX509, 1},
		{"b", keypair.TypeSSH, 0},
		{"c", keypair.TypeSSH, 0}, // pool empty: generated under the limit
	}
	for _, c := range cases {
		got, err := svc.Create(ctx, actor, keypair.CreateInput{Name: c.name, Type: c.typ})
		if err != nil {
			t.Fatalf("create %s: %v", c.name, err)
		}
		if got.PrivateKey == "" || got.KeyPair.Fingerprint == "" {
			t.Fatalf("create %s: %+v", c.name, got.KeyPair)
		}
		if pool.Len() != c.wantLeft {
			t.Errorf("after %s: pool holds %d, want %d", c.name, pool.Len(), c.wantLeft)
		}
	}
	if limit.Running() != 0 || limit.Waiting() != 0 {
		t.Errorf("limit still held: %d running, %d waiting", limit.Running(), limit.Waiting())
	}
}
