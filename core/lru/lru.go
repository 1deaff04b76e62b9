// Package lru is a bounded, concurrency-safe cache that evicts the least recently used
// entry and lets each entry expire.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache maps string keys to values of type V.
type Cache[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[string]*list.Element
	order   *list.List // front: most recently used
	now     func() time.Time
}

type entry[V any] struct {
	key     string
	value   V
	expires time.Time // zero: never
}

// New returns a cache of at most size entries (at least 1).
func New[V any](size int) *Cache[V] {
	return &Cache[V]{max: max(size, 1), entries: map[string]*list.Element{}, order: list.New(), now: time.Now}
}

// Get returns the value under key; ok is false if there is none or it expired.
func (c *Cache[V]) Get(key string) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.entries[key]
	if !found {
		return v, false
	}
	e := el.Value.(*entry[V])
	if !e.expires.IsZero() && !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return v, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// Put stores v under key for ttl (ttl <= 0: until evicted), evicting the least
// recently used entry when the cache is full.
func (c *Cache[V]) Put(key string, v V, ttl time.Duration) {
	var exp time.Time
	if ttl > 0 {
		exp = c.now().Add(ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry[V])
		e.value, e.expires = v, exp
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(&entry[V]{key: key, value: v, expires: exp})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*entry[V]).key)
	}
}

// Remove drops key.
func (c *Cache[V]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.order.Remove(el)
		delete(c.entries, key)
	}
}

// Clear drops every entry.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.order.Init()
}

// Len returns the number of entries, expired ones included until touched.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
