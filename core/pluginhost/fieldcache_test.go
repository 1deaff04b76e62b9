package pluginhost

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestFieldCacheStoresNothingReadBeforeAForget(t *testing.T) {
	c := newFieldCache(100)
	gen := c.generation("likes", "n/i1")
	c.forget("likes", []string{"n/i1"}) // a write committed while the read ran
	c.put(fieldCounter, "likes", "n/i1", fieldValue{n: 1}, gen)
	if _, ok := c.get(fieldCounter, "likes", "n/i1"); ok {
		t.Fatal("a read that raced a forget was stored")
	}
	gen = c.generation("likes", "n/i1")
	c.put(fieldCounter, "likes", "n/i1", fieldValue{n: 2}, gen)
	if v, ok := c.get(fieldCounter, "likes", "n/i1"); !ok || v.n != 2 {
		t.Fatalf("got %+v %v, want 2", v, ok)
	}
	// A forget drops the counter and the KV entry of that name, nothing else.
	c.put(fieldKV, "likes", "n/i1", fieldValue{present: true}, c.generation("likes", "n/i1"))
	c.put(fieldKV, "votes", "n/i1", fieldValue{present: true}, c.generation("votes", "n/i1"))
	c.forget("likes", []string{"n/i1"})
	for _, kind := range []byte{fieldCounter, fieldKV} {
		if _, ok := c.get(kind, "likes", "n/i1"); ok {
			t.Errorf("%c n/i1 outlived its forget", kind)
		}
	}
	if _, ok := c.get(fieldKV, "votes", "n/i1"); !ok {
		t.Error("another plugin's entry of the same name was forgotten")
	}
	// clear drops everything and refuses every read that was under way.
	gen = c.generation("votes", "x")
	c.clear()
	c.put(fieldKV, "votes", "x", fieldValue{}, gen)
	if n := c.len(); n != 0 {
		t.Fatalf("%d entries after clear", n)
	}
}

func TestFieldNoticesGatherAndCap(t *testing.T) {
	f := newFieldNotices()
	f.add("likes", []string{"a", "b"})
	f.add("likes", []string{"a"})
	f.add("votes", nil) // nothing written: no notice
	big := make([]string, maxNoticeKeys)
	for i := range big {
		big[i] = fmt.Sprint(i)
	}
	f.add("qa", big)
	f.add("qa", []string{"one more"})
	got := f.take()
	if len(got) != 2 || len(got["likes"]) != 3 || got["qa"] != nil {
		t.Fatalf("got %v", got)
	}
	if _, ok := got["qa"]; !ok {
		t.Fatal("qa's notice is missing")
	}
	if len(f.take()) != 0 {
		t.Fatal("take did not start a new batch")
	}
}

// likesFields are declared fields as the likes plugin has them.
var likesFields = []declaredFields{{plugin: "likes", items: []string{"i1", "i2"}, fields: []sdk.Field{
	{Name: "count", From: sdk.FromCounter, Key: "n/{item}"},
	{Name: "liked", From: sdk.FromKVExists, Key: "l/{item}/{user}"},
}}}

// readLikes returns readFields' likes objects for ann, by item.
func readLikes(t *testing.T, h *Host) map[string]string {
	t.Helper()
	got, err := h.readFields(ctxT(t), "ann", likesFields, true)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"i1": string(got["i1"]["likes"]), "i2": string(got["i2"]["likes"])}
}

func wantLikes(t *testing.T, when string, got map[string]string, i1, i2 string) {
	t.Helper()
	if got["i1"] != i1 || got["i2"] != i2 {
		t.Errorf("%s: i1 %s, i2 %s; want %s and %s", when, got["i1"], got["i2"], i1, i2)
	}
}

// Decorations read again come from the field cache, and every write through the
// host forgets what it changed: reads never see a value older than the last write,
// with or without Redis.
func TestDeclaredFieldsAreKeptUntilAWriteChangesThem(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, withRedis := range []bool{false, true} {
			t.Run(fmt.Sprintf("redis=%v", withRedis), func(t *testing.T) {
				e := newEnv(t, db)
				cfg := e.config(t)
				lose := func() {} // what Redis holds, if it is used
				if withRedis {
					rc, c, prefix := redisCounters(t)
					cfg.Counters = rc
					lose = func() { loseAll(t, c, prefix) }
				}
				h := newHost(t, cfg)
				s := h.hostService("likes", plugintest.Logger(t)).(*hostService)
				ctx := ctxT(t)
				// A fresh plugin name per run: the two runs share the database.
				if _, err := s.KVTxn(ctx, "", sdk.Txn{Put: []sdk.Put{{Key: "l/i1/ann"}}, Add: []sdk.Delta{{Name: "n/i1", Delta: 1}}}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_, _ = db.ExecContext(context.Background(), `DELETE FROM plugin_kv WHERE plugin = 'likes'`)
					_, _ = db.ExecContext(context.Background(), `DELETE FROM plugin_counters WHERE plugin = 'likes'`)
				})
				wantLikes(t, "written", readLikes(t, h), `{"count":1,"liked":true}`, `{"count":0,"liked":false}`)

				// Behind the host's back (no replica writes so): the cache answers.
				if _, err := db.ExecContext(ctx, `UPDATE plugin_counters SET value = 7 WHERE plugin = 'likes'`); err != nil {
					t.Fatal(err)
				}
				lose()
				wantLikes(t, "kept", readLikes(t, h), `{"count":1,"liked":true}`, `{"count":0,"liked":false}`)

				// Through the host: each kind of write is seen at once.
				if _, err := s.KVTxn(ctx, "", sdk.Txn{Delete: []string{"l/i1/ann"}, Add: []sdk.Delta{{Name: "n/i1", Delta: -1}}}); err != nil {
					t.Fatal(err)
				}
				wantLikes(t, "after a transaction", readLikes(t, h), `{"count":6,"liked":false}`, `{"count":0,"liked":false}`)
				if _, err := s.CounterAdd(ctx, "", "n/i2", 2); err != nil {
					t.Fatal(err)
				}
				if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "l/i2/ann", TTL: time.Minute}); err != nil {
					t.Fatal(err)
				}
				wantLikes(t, "after an add and a put", readLikes(t, h), `{"count":6,"liked":false}`, `{"count":2,"liked":true}`)
				// A kept entry still expires when its TTL says.
				e.clock.Advance(2 * time.Minute)
				wantLikes(t, "after the TTL", readLikes(t, h), `{"count":6,"liked":false}`, `{"count":2,"liked":false}`)
				e.clock.Advance(-2 * time.Minute)
				if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "l/i2/ann"}); err != nil {
					t.Fatal(err)
				}
				wantLikes(t, "put again", readLikes(t, h), `{"count":6,"liked":false}`, `{"count":2,"liked":true}`)
				if err := s.KVDelete(ctx, "", "l/i2/ann", nil); err != nil {
					t.Fatal(err)
				}
				wantLikes(t, "after a delete", readLikes(t, h), `{"count":6,"liked":false}`, `{"count":2,"liked":false}`)
			})
		}
	})
}

// A write through one replica reaches another replica's field cache through the
// changes bus.
func TestAnotherReplicaForgetsWhatThisOneWrote(t *testing.T) {
	t.Parallel()
	db := storetest.Postgres(t)
	e := newEnv(t, db)
	h1 := newHost(t, e.config(t))
	n2 := changes.New(e.bus, plugintest.Logger(t))
	cfg2 := e.config(t)
	cfg2.Changes = n2
	h2 := newHost(t, cfg2)
	for _, n := range []*changes.Notifier{e.changes, n2} {
		stop, err := n.Start(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	for _, h := range []*Host{h1, h2} {
		if err := h.Start(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	s1 := h1.hostService("likes", plugintest.Logger(t)).(*hostService)
	ctx := ctxT(t)
	t.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), `DELETE FROM plugin_kv WHERE plugin = 'likes'`)
		_, _ = db.ExecContext(context.Background(), `DELETE FROM plugin_counters WHERE plugin = 'likes'`)
	})
	wantLikes(t, "replica 2 before", readLikes(t, h2), `{"count":0,"liked":false}`, `{"count":0,"liked":false}`)
	if _, err := s1.KVTxn(ctx, "", sdk.Txn{Put: []sdk.Put{{Key: "l/i1/ann"}}, Add: []sdk.Delta{{Name: "n/i1", Delta: 1}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, time.Second, func() error {
		if got := readLikes(t, h2); got["i1"] != `{"count":1,"liked":true}` {
			return fmt.Errorf("replica 2 reads %s", got["i1"])
		}
		return nil
	})
	t.Logf("replica 2 saw the write %v after it", time.Since(start))
}

// BenchmarkReadFields reads the likes fields of a 20-item feed page, as the field
// cache keeps them and with the cache emptied before every read.
//
// Run: go test -run '^$' -bench ReadFields ./core/pluginhost/
func BenchmarkReadFields(b *testing.B) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		b.Run(name, func(b *testing.B) { benchmarkReadFields(b, open(b)) })
	}
}

func benchmarkReadFields(b *testing.B, db *store.DB) {
	e := newEnv(b, db)
	h := newHost(b, e.config(b))
	s := h.hostService("likes", plugintest.Logger(b)).(*hostService)
	ctx := context.Background()
	page := declaredFields{plugin: "likes", fields: likesFields[0].fields}
	for i := range 20 {
		item := fmt.Sprintf("bench-%d", i)
		page.items = append(page.items, item)
		if _, err := s.KVTxn(ctx, "", sdk.Txn{Put: []sdk.Put{{Key: "l/" + item + "/ann"}}, Add: []sdk.Delta{{Name: "n/" + item, Delta: 1}}}); err != nil {
			b.Fatal(err)
		}
	}
	ds := []declaredFields{page}
	for _, cached := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "uncached"}[cached], func(b *testing.B) {
			for b.Loop() {
				if !cached {
					h.fields.clear()
				}
				if _, err := h.readFields(ctx, "ann", ds, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
