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
	// Peek reports key's current window without recording an event: Allowed says
	// whether one more event would be within limit.
	Peek(ctx context.Context, key string, limit int64) (Result, error)
	// Reset forgets key, for example after a successful login.
	Reset(ctx context.Context, key string) error
}

func peekResult(count, limit int64, left time.Duration) Result {
	r := result(count+1, limit, left)
	r.Count = count
	return r
}

func result(count, limit int64, left time.Duration) Result {
	return Result{Allowed: count <= limit, Count: count, RetryAfter: max(left, 0)}
}
