// Package ratelimit counts events per key in fixed windows, in Redis or in process memory.
package ratelimit

import (
	"context"
	"time"
)

// Result is the outcome of one Hit.
type Result struct {
	Allowed    bool
	Count      int64         // events in the current window, this one included
	RetryAfter time.Duration // until the window resets; meaningful when !Allowed
}

// Limiter records events and says whether a key is over its limit.
type Limiter interface {
	// Hit records one event for key. The first event of a key opens a window of the
	// given length; within it, up to limit events are allowed.
	Hit(ctx context.Context, key string, limit int64, window time.Duration) (Result, error)
	// Reset forgets key, for example after a successful login.
	Reset(ctx context.Context, key string) error
}

func result(count, limit int64, left time.Duration) Result {
	return Result{Allowed: count <= limit, Count: count, RetryAfter: max(left, 0)}
}
