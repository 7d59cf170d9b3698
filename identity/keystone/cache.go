package keystone

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// ttlCache is a bounded map from a fixed-size key (a SHA-256 sum, never the
// credential itself) to a value that expires at its own time. When full, it
// drops the least recently used entry. It is safe for concurrent use.
type ttlCache[V any] struct {
	mu    sync.Mutex
	max   int
	items map[[32]byte]*list.Element
	lru   *list.List // front: most recently used
}

type cacheItem[V any] struct {
	key     [32]byte
	val     V
	expires time.Time
}

func newTTLCache[V any](max int) *ttlCache[V] {
	return &ttlCache[V]{max: max, items: make(map[[32]byte]*list.Element), lru: list.New()}
}

// get returns the value stored under key if it has not expired at now. An
// expired entry is removed.
func (c *ttlCache[V]) get(key [32]byte, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	it := el.Value.(*cacheItem[V])
	if !now.Before(it.expires) {
		c.lru.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.lru.MoveToFront(el)
	return it.val, true
}

// put stores val under key until expires, evicting expired entries first and
// then the least recently used ones to stay within max entries.
func (c *ttlCache[V]) put(key [32]byte, val V, expires, now time.Time) {
	if c.max <= 0 || !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		it := el.Value.(*cacheItem[V])
		it.val, it.expires = val, expires
		c.lru.MoveToFront(el)
		return
	}
	if len(c.items) >= c.max {
		c.pruneLocked(now)
	}
	for len(c.items) >= c.max {
		el := c.lru.Back()
		c.lru.Remove(el)
		delete(c.items, el.Value.(*cacheItem[V]).key)
	}
	c.items[key] = c.lru.PushFront(&cacheItem[V]{key: key, val: val, expires: expires})
}

// remove drops key, if present.
func (c *ttlCache[V]) remove(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.lru.Remove(el)
		delete(c.items, key)
	}
}

// pruneLocked removes every expired entry. It walks from the least recently
// used end and stops after a bounded number of live entries, so a put on a
// full cache costs O(expired + 64), not O(size).
func (c *ttlCache[V]) pruneLocked(now time.Time) {
	live := 0
	for el := c.lru.Back(); el != nil && live < 64; {
		prev := el.Prev()
		it := el.Value.(*cacheItem[V])
		if !now.Before(it.expires) {
			c.lru.Remove(el)
			delete(c.items, it.key)
		} else {
			live++
		}
		el = prev
	}
}

// len returns the number of entries, expired ones included.
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// flight makes concurrent callers that ask for the same key share one call,
// so that a burst of requests with one uncached token sends Keystone one
// validation, not one per request.
type flight[V any] struct {
	mu    sync.Mutex
	calls map[[32]byte]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// errAborted is what waiters see when the shared call ended without a
// result (it panicked).
var errAborted = errors.New("keystone: lookup aborted")

// do runs fn for key unless a call for key is already running, in which case
// it waits for that call's result or for ctx to end. fn runs detached from
// the cancellation of the ctx of whoever started it, since others may be
// waiting for it; it must bound its own run time.
func (f *flight[V]) do(ctx context.Context, key [32]byte, fn func(context.Context) (V, error)) (V, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[[32]byte]*flightCall[V])
	}
	c, running := f.calls[key]
	if !running {
		c = &flightCall[V]{done: make(chan struct{}), err: errAborted}
		f.calls[key] = c
	}
	f.mu.Unlock()

	if !running {
		go func() {
			defer func() {
				f.mu.Lock()
				delete(f.calls, key)
				f.mu.Unlock()
				close(c.done)
			}()
			c.val, c.err = fn(context.WithoutCancel(ctx))
		}()
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
