package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/cache"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

func impls() map[string]func(t *testing.T) cache.Cache {
	return map[string]func(t *testing.T) cache.Cache{
		"memory": func(t *testing.T) cache.Cache { return cache.NewMemory(1000) },
		"redis":  func(t *testing.T) cache.Cache { return cache.NewRedis(testsvc.Redis(t), testsvc.Name("test:")+":") },
	}
}

func TestCacheSetGetDelete(t *testing.T) {
	for name, newCache := range impls() {
		t.Run(name, func(t *testing.T) {
			c, ctx := newCache(t), context.Background()
			if _, err := c.Get(ctx, "a"); !errors.Is(err, cache.ErrMiss) {
				t.Fatalf("empty get: %v", err)
			}
			if err := c.Set(ctx, "a", []byte("1"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := c.Set(ctx, "b", []byte{}, 0); err != nil {
				t.Fatal(err)
			}
			if v, err := c.Get(ctx, "a"); err != nil || string(v) != "1" {
				t.Fatalf("get a: %q %v", v, err)
			}
			if v, err := c.Get(ctx, "b"); err != nil || len(v) != 0 {
				t.Fatalf("get empty value: %q %v", v, err)
			}
			if err := c.Set(ctx, "a", []byte("2"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, _ := c.Get(ctx, "a"); string(v) != "2" {
				t.Fatalf("overwrite: %q", v)
			}
			if err := c.Delete(ctx, "a", "b", "never-set"); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "b"} {
				if _, err := c.Get(ctx, k); !errors.Is(err, cache.ErrMiss) {
					t.Fatalf("%s after delete: %v", k, err)
				}
			}
		})
	}
}

func TestCacheEntriesExpire(t *testing.T) {
	for name, newCache := range impls() {
		t.Run(name, func(t *testing.T) {
			c, ctx := newCache(t), context.Background()
			if err := c.Set(ctx, "short", []byte("x"), 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := c.Get(ctx, "short")
				if errors.Is(err, cache.ErrMiss) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("entry never expired")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestMemoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c, ctx := cache.NewMemory(3), context.Background()
	for i := range 3 {
		_ = c.Set(ctx, fmt.Sprint(i), []byte("v"), 0)
	}
	_, _ = c.Get(ctx, "0") // 0 is now the most recent; 1 the least
	_ = c.Set(ctx, "3", []byte("v"), 0)
	if _, err := c.Get(ctx, "1"); !errors.Is(err, cache.ErrMiss) {
		t.Fatal("least recently used entry was kept")
	}
	for _, k := range []string{"0", "2", "3"} {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatalf("%s evicted", k)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestMemoryCacheReturnsCopies(t *testing.T) {
	c, ctx := cache.NewMemory(10), context.Background()
	v := []byte("abc")
	_ = c.Set(ctx, "k", v, 0)
	v[0] = 'X'
	got, _ := c.Get(ctx, "k")
	got[1] = 'Y'
	if again, _ := c.Get(ctx, "k"); string(again) != "abc" {
		t.Fatalf("stored value changed through a caller's slice: %q", again)
	}
}
