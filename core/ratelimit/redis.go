package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter in Redis, so every replica counts into the same windows.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter on c whose counters are stored as prefix + key.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

// Hit implements Limiter with one MULTI round trip: INCR, PEXPIRE NX (the first hit
// opens the window), PTTL.
func (r *Redis) Hit(ctx context.Context, key string, limit int64, window time.Duration) (Result, error) {
	k := r.prefix + key
	var incr *redis.IntCmd
	var ttl *redis.DurationCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, k)
		p.Do(ctx, "PEXPIRE", k, max(window.Milliseconds(), 1), "NX")
		ttl = p.PTTL(ctx, k)
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return result(incr.Val(), limit, ttl.Val()), nil
}

// Peek implements Limiter.
func (r *Redis) Peek(ctx context.Context, key string, limit int64) (Result, error) {
	k := r.prefix + key
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, k)
		ttl = p.PTTL(ctx, k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Result{}, err
	}
	n, _ := get.Int64() // redis.Nil: no window open, zero events
	return peekResult(n, limit, ttl.Val()), nil
}

// Reset implements Limiter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	return r.c.Del(ctx, r.prefix+key).Err()
}
