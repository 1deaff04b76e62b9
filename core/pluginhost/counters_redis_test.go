package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/core/uid"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
	"github.com/pleinhq/plein/sdk/plugintest/txntest"
)

// redisCounters returns counters on the test Redis under a fresh prefix, and the
// client, to look at and lose keys.
func redisCounters(t *testing.T) (*RedisCounters, *redis.Client, string) {
	t.Helper()
	c := testsvc.Redis(t)
	prefix := testsvc.Name("ctr") + ":"
	t.Cleanup(func() { loseAll(t, c, prefix) })
	return NewRedisCounters(c, prefix, plugintest.Logger(t)), c, prefix
}

// loseAll deletes every key under prefix, as a Redis that lost its data.
func loseAll(t *testing.T, c *redis.Client, prefix string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return len(keys)
}

func (e *env) cachedService(plugin string, calls *Calls, rc *RedisCounters) *hostService {
	return NewHostService(HostServiceConfig{Plugin: plugin, DB: e.db, Blobs: e.blobs, Items: e.items, Authz: e.az,
		Calls: calls, Now: e.clock.Now, Counters: rc}).(*hostService)
}

func TestTransactionsConformWithCountersInRedis(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rc, _, _ := redisCounters(t)
		txntest.Run(t, func(t *testing.T) txntest.Host {
			e := newEnv(t, db)
			s := e.cachedService("txn-"+uid.New(), NewCalls(e.clock.Now), rc)
			return txntest.Host{Client: clientOf(t, s), Advance: e.clock.Advance}
		})
	})
}

// Reads come from Redis once it holds a counter, from SQL when Redis lost it (which
// puts it back), and writes reach both.
func TestCountersAreReadFromRedisAndRebuiltFromSQL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rc, c, prefix := redisCounters(t)
		e := newEnv(t, db)
		s := e.cachedService("alpha", NewCalls(e.clock.Now), rc)
		ctx := ctxT(t)
		if _, err := s.KVTxn(ctx, "", sdk.Txn{Add: []sdk.Delta{{Name: "likes/1", Delta: 4}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CounterAdd(ctx, "", "likes/2", 2); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(ctx, prefix+"alpha:likes/1").Result(); err != nil || v[len(v)-2:] != ":4" {
			t.Fatalf("likes/1 in Redis after a transaction: %q %v", v, err)
		}
		// Changed behind the host's back, SQL shows whether a read went to it.
		if _, err := db.ExecContext(ctx, `UPDATE plugin_counters SET value = value + 100 WHERE plugin = 'alpha'`); err != nil {
			t.Fatal(err)
		}
		got, err := s.CounterBatchGet(ctx, "", []string{"likes/1", "likes/2", "likes/3"})
		if err != nil || got["likes/1"] != 4 || got["likes/2"] != 2 || got["likes/3"] != 0 {
			t.Fatalf("read through Redis: %v %v", got, err)
		}
		if n := loseAll(t, c, prefix); n != 3 {
			t.Fatalf("%d keys in Redis, want 3 (a miss is kept as 0 too)", n)
		}
		got, err = s.CounterBatchGet(ctx, "", []string{"likes/1", "likes/2", "likes/3"})
		if err != nil || got["likes/1"] != 104 || got["likes/2"] != 102 || got["likes/3"] != 0 {
			t.Fatalf("read after Redis lost everything: %v %v", got, err)
		}
		if v, _ := c.Get(ctx, prefix+"alpha:likes/2").Result(); v[len(v)-4:] != ":102" {
			t.Fatalf("likes/2 was not put back in Redis: %q", v)
		}
		if ttl := c.PTTL(ctx, prefix+"alpha:likes/2").Val(); ttl <= 0 || ttl > CounterTTL {
			t.Fatalf("ttl %v", ttl)
		}
		// A deleted counter reads 0 from Redis at once.
		if _, err := s.KVTxn(ctx, "", sdk.Txn{DeleteCounters: []string{"likes/1"}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.CounterBatchGet(ctx, "", []string{"likes/1"}); got["likes/1"] != 0 {
			t.Fatalf("deleted counter: %v", got)
		}
	})
}

// Only a newer version replaces a counter: a read that raced a write never puts back
// the older value.
func TestRedisKeepsTheNewestVersionOfACounter(t *testing.T) {
	t.Parallel()
	rc, _, _ := redisCounters(t)
	ctx := ctxT(t)
	ref := counterRef{"alpha", "n"}
	read := func() int64 {
		got, missing, err := rc.get(ctx, []counterRef{ref})
		if err != nil || len(missing) > 0 {
			t.Fatalf("get: %v %v %v", got, missing, err)
		}
		return got[0]
	}
	rc.store(ctx, []counterValue{{counterRef: ref, value: 5, version: 1_700_000_000_000_002}})
	rc.store(ctx, []counterValue{{counterRef: ref, value: 4, version: 1_700_000_000_000_001}})
	if v := read(); v != 5 {
		t.Fatalf("an older version replaced a newer one: %d", v)
	}
	rc.store(ctx, []counterValue{{counterRef: ref, value: 9, version: 0}})
	if v := read(); v != 5 {
		t.Fatalf("a missing counter (version 0) replaced a stored one: %d", v)
	}
	// Versions of another length compare as numbers, not as strings.
	rc.store(ctx, []counterValue{{counterRef: ref, value: 6, version: 10_000_000_000_000_000}})
	if v := read(); v != 6 {
		t.Fatalf("a longer, newer version did not replace: %d", v)
	}
	rc.store(ctx, []counterValue{{counterRef: ref, value: -3, version: 10_000_000_000_000_001}})
	if v := read(); v != -3 {
		t.Fatalf("a negative count: %d", v)
	}
}

// 50 clients like and unlike while Redis loses every key, again and again: in the
// end every count, from Redis or SQL, equals the likes stored.
func TestCountsStayExactWhileRedisLosesItsData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rc, c, prefix := redisCounters(t)
		e := newEnv(t, db)
		s := e.cachedService("likes", NewCalls(e.clock.Now), rc)
		ctx := ctxT(t)
		var stop atomic.Bool
		lost := make(chan int)
		go func() {
			n := 0
			for !stop.Load() {
				time.Sleep(5 * time.Millisecond)
				loseAll(t, c, prefix)
				n++
			}
			lost <- n
		}()
		var wg sync.WaitGroup
		for u := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := range 8 {
					item := fmt.Sprint((u + round) % 4)
					key, count := "l/"+item+"/"+fmt.Sprint(u), "n/"+item
					txn := sdk.Txn{If: []sdk.Cond{sdk.IfAbsent(key)}, Put: []sdk.Put{{Key: key}}, Add: []sdk.Delta{{Name: count, Delta: 1}}}
					if round%3 == 2 {
						txn = sdk.Txn{If: []sdk.Cond{sdk.IfPresent(key)}, Delete: []string{key}, Add: []sdk.Delta{{Name: count, Delta: -1}}}
					}
					if _, err := s.KVTxn(ctx, "", txn); err != nil && !errors.Is(err, sdk.ErrConflict) {
						t.Error(err)
						return
					}
					if _, err := s.CounterBatchGet(ctx, "", []string{count}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		stop.Store(true)
		t.Logf("Redis lost its keys %d times", <-lost)
		for item := range 4 {
			name := fmt.Sprintf("n/%d", item)
			entries, _, err := s.KVList(ctx, "", fmt.Sprintf("l/%d/", item), "", sdk.MaxListLimit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.CounterBatchGet(ctx, "", []string{name}) // from Redis when it kept it
			if err != nil || got[name] != int64(len(entries)) {
				t.Errorf("item %d: count %d, %d likes stored (%v)", item, got[name], len(entries), err)
			}
			loseAll(t, c, prefix)
			if got, _ := s.CounterBatchGet(ctx, "", []string{name}); got[name] != int64(len(entries)) {
				t.Errorf("item %d rebuilt from SQL: %d, want %d", item, got[name], len(entries))
			}
		}
	})
}

// With Redis away, reads and writes go on in SQL.
func TestCountersWorkWithoutRedis(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := testsvc.StartRedis(t)
		c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		e := newEnv(t, db)
		s := e.cachedService("alpha", NewCalls(e.clock.Now), NewRedisCounters(c, "ctr:", plugintest.Logger(t)))
		ctx := ctxT(t)
		if _, err := s.CounterAdd(ctx, "", "n", 1); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		if _, err := s.KVTxn(ctx, "", sdk.Txn{Add: []sdk.Delta{{Name: "n", Delta: 1}}}); err != nil {
			t.Fatalf("a write with Redis down: %v", err)
		}
		if got, err := s.CounterBatchGet(ctx, "", []string{"n"}); err != nil || got["n"] != 2 {
			t.Fatalf("a read with Redis down: %v %v", got, err)
		}
		// Back, empty (its data went with the process): rebuilt from SQL.
		r.Start()
		testsvc.Eventually(t, "counter read through Redis again", 10*time.Second, func() bool {
			got, err := s.CounterBatchGet(ctx, "", []string{"n"})
			return err == nil && got["n"] == 2 && c.Get(ctx, "ctr:alpha:n").Err() == nil
		})
	})
}

// Declared decoration fields read their counters from Redis, and after a loss from
// SQL again.
func TestDeclaredFieldsReadCountersThroughRedis(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rc, c, prefix := redisCounters(t)
		e := newEnv(t, db)
		cfg := e.config(t)
		cfg.Counters, cfg.DecorateTimeout = rc, 10*time.Second // -race is slow
		h := newHost(t, cfg)
		s := e.cachedService("likes", NewCalls(e.clock.Now), rc)
		ctx := ctxT(t)
		if _, err := s.KVTxn(ctx, "", sdk.Txn{Put: []sdk.Put{{Key: "l/i1/ann"}}, Add: []sdk.Delta{{Name: "n/i1", Delta: 1}}}); err != nil {
			t.Fatal(err)
		}
		ds := []declaredFields{{plugin: "likes", items: []string{"i1", "i2"}, fields: []sdk.Field{
			{Name: "count", From: sdk.FromCounter, Key: "n/{item}"},
			{Name: "liked", From: sdk.FromKVExists, Key: "l/{item}/{user}"},
		}}}
		want := map[string]string{"i1": `{"count":1,"liked":true}`, "i2": `{"count":0,"liked":false}`}
		check := func(when string) {
			t.Helper()
			got, err := h.readFields(ctx, "ann", ds, true)
			if err != nil {
				t.Fatal(err)
			}
			for id, w := range want {
				if string(got[id]["likes"]) != w {
					t.Errorf("%s: %s = %s, want %s", when, id, got[id]["likes"], w)
				}
			}
		}
		check("written")
		if _, err := db.ExecContext(ctx, `UPDATE plugin_counters SET value = 7 WHERE plugin = 'likes'`); err != nil {
			t.Fatal(err)
		}
		h.fields.clear() // this test is about what lies under the field cache
		check("from Redis")
		loseAll(t, c, prefix)
		h.fields.clear()
		want["i1"] = `{"count":7,"liked":true}`
		check("after Redis lost its data")
		if v, _ := c.Get(ctx, prefix+"likes:n/i1").Result(); v[len(v)-2:] != ":7" {
			t.Fatalf("not put back: %q", v)
		}
	})
}

// TestConcurrentStoresShareRoundTripsAndAllLand stores from many goroutines at once
// (they share pipelines), with Redis forgetting the script now and then: every
// store has landed when it returns.
func TestConcurrentStoresShareRoundTripsAndAllLand(t *testing.T) {
	t.Parallel()
	rc, c, _ := redisCounters(t)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 50; i++ {
				if g == 0 && i%10 == 0 {
					if err := c.ScriptFlush(ctx).Err(); err != nil {
						t.Error(err)
						return
					}
				}
				ref := counterRef{"alpha", fmt.Sprintf("n/%d", g)}
				rc.store(ctx, []counterValue{{counterRef: ref, value: int64(i), version: int64(i)}})
				got, missing, err := rc.get(ctx, []counterRef{ref})
				if err != nil || len(missing) > 0 || got[0] != int64(i) {
					t.Errorf("after storing %d: %v %v %v", i, got, missing, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
