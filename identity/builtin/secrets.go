package builtin

import (
	"slices"
	"sync"

	"github.com/keyhaven/keyhaven/identity"
)

// maxCachedSecrets bounds the cache of opened EC2 credentials; past it
// the cache starts again empty (it refills from the store on use).
const maxCachedSecrets = 10000

// secretCache keeps opened EC2 credentials and the principal each
// authenticates as, so that a signed request reads no database (it would
// read the credential, its user and the user's roles each time). It holds
// no longer than until the next Reload, which empties it: that runs every
// few seconds and right after every change this instance makes, so a
// deleted credential, a removed role or a deleted user stops working
// here at once and on other instances within their reload interval,
// the same bound as withdrawn tokens. Disabled users, projects and
// domains are checked on every use against the in-memory access view.
type secretCache struct {
	mu      sync.Mutex
	epoch   uint64
	entries map[string]cachedSecret
}

type cachedSecret struct {
	secret string
	p      identity.Principal
}

func newSecretCache() *secretCache { return &secretCache{entries: map[string]cachedSecret{}} }

// get returns the cached credential of access, with a principal the caller
// may change.
func (c *secretCache) get(access string) (cachedSecret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[access]
	e.p.Roles = slices.Clone(e.p.Roles)
	return e, ok
}

// begin returns the epoch a lookup from the store starts in; put keeps
// its result only if no clear came in between, so a lookup that read the
// store before a change cannot put back what the change's clear removed.
func (c *secretCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *secretCache) put(epoch uint64, access string, e cachedSecret) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if len(c.entries) >= maxCachedSecrets {
		c.entries = map[string]cachedSecret{}
	}
	e.p.Roles = slices.Clone(e.p.Roles)
	c.entries[access] = e
}

// clear empties the cache and starts a new epoch.
func (c *secretCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.entries = map[string]cachedSecret{}
}
