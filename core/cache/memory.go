package cache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is a Cache in process memory that holds at most a fixed number of entries,
// evicting the least recently used.
type Memory struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	lru     *list.List // front: most recently used
	now     func() time.Time
}

type entry struct {
	key     string
	value   []byte
	expires time.Time // zero: never
}

var _ Cache = (*Memory)(nil)

// NewMemory returns a cache of at most maxEntries entries (at least 1).
func NewMemory(maxEntries int) *Memory {
	return &Memory{max: max(maxEntries, 1), entries: map[string]*list.Element{}, lru: list.New(), now: time.Now}
}

// Get implements Cache. The returned slice is the caller's to keep.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, ErrMiss
	}
	e := el.Value.(*entry)
	if !e.expires.IsZero() && !m.now().Before(e.expires) {
		m.lru.Remove(el)
		delete(m.entries, key)
		return nil, ErrMiss
	}
	m.lru.MoveToFront(el)
	return append([]byte(nil), e.value...), nil
}

// Set implements Cache.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	var exp time.Time
	if ttl > 0 {
		exp = m.now().Add(ttl)
	}
	value = append([]byte(nil), value...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*entry)
		e.value, e.expires = value, exp
		m.lru.MoveToFront(el)
		return nil
	}
	m.entries[key] = m.lru.PushFront(&entry{key: key, value: value, expires: exp})
	for m.lru.Len() > m.max {
		oldest := m.lru.Back()
		m.lru.Remove(oldest)
		delete(m.entries, oldest.Value.(*entry).key)
	}
	return nil
}

// Delete implements Cache.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if el, ok := m.entries[k]; ok {
			m.lru.Remove(el)
			delete(m.entries, k)
		}
	}
	return nil
}

// Len returns the number of entries held, expired ones included until touched.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}
