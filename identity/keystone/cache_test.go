package keystone

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func TestCacheBounds(t *testing.T) {
	now := time.Now()
	key := func(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	c := newTTLCache[int](3)
	for i := range 10 {
		c.put(key(i), i, now.Add(time.Hour), now)
		if n := c.len(); n > 3 {
			t.Fatalf("after %d puts the cache holds %d entries, max 3", i+1, n)
		}
		if i == 7 {
			c.get(key(5), now) // 5 becomes the most recently used
		}
	}
	for i, want := range map[int]bool{0: false, 5: true, 6: false, 7: false, 8: true, 9: true} {
		if v, ok := c.get(key(i), now); ok != want || (ok && v != i) {
			t.Errorf("entry %d: %d, %v; want present = %v", i, v, ok, want)
		}
	}

	// Expired entries make room before live ones are evicted.
	c = newTTLCache[int](2)
	c.put(key(1), 1, now.Add(time.Minute), now)
	c.put(key(2), 2, now.Add(time.Hour), now)
	c.get(key(1), now) // 2 is now the least recently used
	later := now.Add(2 * time.Minute)
	c.put(key(3), 3, later.Add(time.Hour), later)
	if _, ok := c.get(key(2), later); !ok {
		t.Error("a live entry was evicted while an expired one could go")
	}
	if _, ok := c.get(key(1), later); ok {
		t.Error("expired entry returned")
	}

	// Nothing is stored already expired, or with max 0.
	c.put(key(4), 4, now, now)
	if _, ok := c.get(key(4), now.Add(-time.Minute)); ok {
		t.Error("entry stored with an expiry not after now")
	}
	z := newTTLCache[int](0)
	z.put(key(1), 1, now.Add(time.Hour), now)
	if z.len() != 0 {
		t.Error("cache with max 0 stored an entry")
	}
}
