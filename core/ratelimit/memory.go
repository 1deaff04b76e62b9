package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one process.
type Memory struct {
	mu      sync.Mutex
	windows map[string]*window
	hits    int
	now     func() time.Time
}

type window struct {
	count int64
	ends  time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory {
	return &Memory{windows: map[string]*window{}, now: time.Now}
}

// sweepEvery bounds memory: every so many hits, windows that have ended are dropped.
const sweepEvery = 1024

// Hit implements Limiter.
func (m *Memory) Hit(ctx context.Context, key string, limit int64, length time.Duration) (Result, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hits++; m.hits%sweepEvery == 0 {
		for k, w := range m.windows {
			if !now.Before(w.ends) {
				delete(m.windows, k)
			}
		}
	}
	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		w = &window{ends: now.Add(length)}
		m.windows[key] = w
	}
	w.count++
	return result(w.count, limit, w.ends.Sub(now)), nil
}

// Peek implements Limiter.
func (m *Memory) Peek(ctx context.Context, key string, limit int64) (Result, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || !now.Before(w.ends) {
		return peekResult(0, limit, 0), nil
	}
	return peekResult(w.count, limit, w.ends.Sub(now)), nil
}

// Reset implements Limiter.
func (m *Memory) Reset(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.windows, key)
	return nil
}
