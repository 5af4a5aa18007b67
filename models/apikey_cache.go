package models

import (
	"sync"
	"time"
)

// DefaultAPIKeyCacheTTL is how long a process trusts an API key it has
// authenticated (with its account) before reading it again: a key revoked
// through another process stops working here within this time; revoked
// through this process (or its account changed here), at once.
const DefaultAPIKeyCacheTTL = 2 * time.Second

// WithAPIKeyCacheTTL sets how long authenticated API keys are cached (0:
// not at all, every request reads the key).
func WithAPIKeyCacheTTL(d time.Duration) StoreOption {
	return func(s *Store) { s.apiKeys.ttl = d }
}

// apiKeyCache holds the keys (and their accounts) authenticated in the
// last ttl, by key hash. Only keys that were valid are kept: an unknown or
// revoked key is looked up every time.
type apiKeyCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]apiKeyEntry
}

type apiKeyEntry struct {
	key  APIKey
	acc  *Account // nil when read without the account
	read time.Time
}

// maxCachedAPIKeys bounds the cache; past it, it starts over empty.
const maxCachedAPIKeys = 10000

func (c *apiKeyCache) get(hash string, withAccount bool) (APIKey, *Account, bool) {
	if c.ttl <= 0 {
		return APIKey{}, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || time.Since(e.read) >= c.ttl || (withAccount && e.acc == nil) {
		return APIKey{}, nil, false
	}
	var acc *Account
	if e.acc != nil {
		a := *e.acc
		acc = &a
	}
	return e.key, acc, true
}

func (c *apiKeyCache) put(hash string, k APIKey, acc *Account, read time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedAPIKeys {
		c.entries = map[string]apiKeyEntry{}
	}
	e := apiKeyEntry{key: k, read: read}
	if acc != nil {
		a := *acc
		e.acc = &a
	}
	c.entries[hash] = e
}

// used records a key's last use in its cached copy, so the once-a-minute
// write is not repeated on every request.
func (c *apiKeyCache) used(hash string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[hash]; ok {
		e.key.LastUsedAt = &at
		c.entries[hash] = e
	}
}

// clear forgets every cached key: after a revocation or an account change
// in this process.
func (c *apiKeyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}
