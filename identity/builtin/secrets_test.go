package builtin

import (
	"context"
	"errors"
	"testing"

	"github.com/keyhaven/keyhaven/identity"
)

// TestLookupSecretCache: a signed request's credential is read from the
// store once, then served from memory (here, even with the store
// closed); deleting it stops it at once on the instance that deletes and
// on another at its next reload, which is every few seconds.
func TestLookupSecretCache(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	a := w.openLive(t)
	b, bst := w.open(t)
	f := newFixture(t, a)
	ec2, err := a.CreateEC2(ctx, f.user.ID, f.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{a, b} {
		if err := s.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		secret, p, err := s.LookupSecret(ctx, ec2.Access)
		if err != nil || secret != ec2.Secret || p.UserID != f.user.ID || len(p.Roles) != 1 || p.Roles[0] != "member" {
			t.Fatalf("first lookup: %q %+v %v", secret, p, err)
		}
		p.Roles[0] = "admin" // the caller's copy, not the cache's
	}
	if err := a.DeleteEC2(ctx, f.user.ID, ec2.Access); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.LookupSecret(ctx, ec2.Access); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("deleting instance: deleted credential still opens: %v", err)
	}
	// b has not reloaded: it answers from memory, without its store.
	if err := bst.Close(); err != nil {
		t.Fatal(err)
	}
	_, p, err := b.LookupSecret(ctx, ec2.Access)
	if err != nil || p.Roles[0] != "member" {
		t.Fatalf("cached lookup without a store: %+v %v", p, err)
	}
	// Its reload (the store is closed, so the reload fails; reopen as a
	// process would be running) empties the cache.
	b2 := w.openLive(t)
	if err := b2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b2.LookupSecret(ctx, ec2.Access); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("other instance after reload: %v", err)
	}
	b.secrets.clear() // what b.Reload does once it has read the store
	if _, _, err := b.LookupSecret(ctx, ec2.Access); err == nil {
		t.Error("other instance after its cache was emptied: the deleted credential opens")
	}
}

// TestSecretCacheEpoch: a lookup that read the store before a clear
// cannot put its stale answer back.
func TestSecretCacheEpoch(t *testing.T) {
	c := newSecretCache()
	old := c.begin()
	c.clear()
	c.put(old, "AK", cachedSecret{secret: "stale"})
	if _, ok := c.get("AK"); ok {
		t.Fatal("a stale lookup was cached after a clear")
	}
	c.put(c.begin(), "AK", cachedSecret{secret: "fresh"})
	if e, ok := c.get("AK"); !ok || e.secret != "fresh" {
		t.Fatalf("fresh lookup not cached: %+v %v", e, ok)
	}
}
