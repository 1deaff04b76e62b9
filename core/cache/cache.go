// Package cache keeps short-lived values, in Redis or in process memory.
//
// A cache is never the source of truth: every value can be rebuilt from the SQL store,
// so a miss, an eviction or a lost Redis only costs time.
package cache

import (
	"context"
	"errors"
	"time"
)

// ErrMiss is returned by Get when the key holds no value.
var ErrMiss = errors.New("cache: miss")

// Cache stores values under keys for a while.
type Cache interface {
	// Get returns the value under key, or ErrMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (ttl <= 0: until evicted).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys; missing keys are fine.
	Delete(ctx context.Context, keys ...string) error
}
