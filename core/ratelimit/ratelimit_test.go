package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/ratelimit"
)

func impls() map[string]func(t *testing.T) ratelimit.Limiter {
	return map[string]func(t *testing.T) ratelimit.Limiter{
		"memory": func(t *testing.T) ratelimit.Limiter { return ratelimit.NewMemory() },
		"redis": func(t *testing.T) ratelimit.Limiter {
			return ratelimit.NewRedis(testsvc.Redis(t), testsvc.Name("test:")+":")
		},
	}
}

func TestLimiterAllowsUpToTheLimitPerKey(t *testing.T) {
	for name, newLimiter := range impls() {
		t.Run(name, func(t *testing.T) {
			l, ctx := newLimiter(t), context.Background()
			for i := 1; i <= 12; i++ {
				r, err := l.Hit(ctx, "ip:10.0.0.1", 10, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if r.Allowed != (i <= 10) || r.Count != int64(i) {
					t.Fatalf("hit %d: %+v", i, r)
				}
				if !r.Allowed && (r.RetryAfter <= 0 || r.RetryAfter > time.Minute) {
					t.Fatalf("hit %d: retry after %v", i, r.RetryAfter)
				}
			}
			if r, _ := l.Hit(ctx, "ip:10.0.0.2", 10, time.Minute); !r.Allowed {
				t.Fatal("another key was limited")
			}
			if err := l.Reset(ctx, "ip:10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			if r, _ := l.Hit(ctx, "ip:10.0.0.1", 10, time.Minute); !r.Allowed || r.Count != 1 {
				t.Fatalf("after reset: %+v", r)
			}
		})
	}
}

func TestLimiterPeekDoesNotCount(t *testing.T) {
	for name, newLimiter := range impls() {
		t.Run(name, func(t *testing.T) {
			l, ctx := newLimiter(t), context.Background()
			if r, err := l.Peek(ctx, "k", 2); err != nil || !r.Allowed || r.Count != 0 {
				t.Fatalf("fresh key: %+v %v", r, err)
			}
			l.Hit(ctx, "k", 2, time.Minute)
			l.Hit(ctx, "k", 2, time.Minute)
			for range 3 {
				r, err := l.Peek(ctx, "k", 2)
				if err != nil || r.Allowed || r.Count != 2 || r.RetryAfter <= 0 {
					t.Fatalf("after two hits: %+v %v", r, err)
				}
			}
			if r, _ := l.Peek(ctx, "k", 3); !r.Allowed {
				t.Fatal("a higher limit refused")
			}
		})
	}
}

func TestLimiterWindowReopens(t *testing.T) {
	for name, newLimiter := range impls() {
		t.Run(name, func(t *testing.T) {
			l, ctx := newLimiter(t), context.Background()
			l.Hit(ctx, "k", 1, 50*time.Millisecond)
			if r, _ := l.Hit(ctx, "k", 1, 50*time.Millisecond); r.Allowed {
				t.Fatal("second hit allowed")
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				if r, _ := l.Hit(ctx, "k", 1, 50*time.Millisecond); r.Allowed {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("window never reopened")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// Concurrent hits must be counted exactly: no more than limit allowed in a window.
func TestLimiterCountsConcurrentHitsExactly(t *testing.T) {
	for name, newLimiter := range impls() {
		t.Run(name, func(t *testing.T) {
			l := newLimiter(t)
			var allowed atomic.Int64
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					for range 10 {
						r, err := l.Hit(context.Background(), "shared", 50, time.Minute)
						if err != nil {
							t.Error(err)
							return
						}
						if r.Allowed {
							allowed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if allowed.Load() != 50 {
				t.Fatalf("%d allowed, want 50", allowed.Load())
			}
		})
	}
}
