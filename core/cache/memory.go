package cache

import (
	"context"
	"time"

	"github.com/pleinhq/plein/core/lru"
)

// Memory is a Cache in process memory that holds at most a fixed number of entries,
// evicting the least recently used.
type Memory struct {
	c *lru.Cache[[]byte]
}

var _ Cache = (*Memory)(nil)

// NewMemory returns a cache of at most maxEntries entries (at least 1).
func NewMemory(maxEntries int) *Memory {
	return &Memory{c: lru.New[[]byte](maxEntries)}
}

// Get implements Cache. The returned slice is the caller's to keep.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	v, ok := m.c.Get(key)
	if !ok {
		return nil, ErrMiss
	}
	return append([]byte(nil), v...), nil
}

// Set implements Cache.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	m.c.Put(key, append([]byte(nil), value...), ttl)
	return nil
}

// Delete implements Cache.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		m.c.Remove(k)
	}
	return nil
}

// Len returns the number of entries held, expired ones included until touched.
func (m *Memory) Len() int { return m.c.Len() }
