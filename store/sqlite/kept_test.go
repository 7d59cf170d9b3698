package sqlite

// has says whether an answer is kept for k, at whatever versions.
func (c *kept[K, V]) has(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	return ok
}
