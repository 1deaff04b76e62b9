// Package txntest is the conformance suite for transactions (sdk.Host.Txn) that every
// host passes: plugintest's in-memory host and the core's, on SQLite and PostgreSQL.
package txntest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Host is a fresh, empty host to run the suite against.
type Host struct {
	// Client is a plugin's client of the host, acting as the plugin.
	Client *sdk.Host
	// Advance moves the host's clock forward, for entries with a TTL.
	Advance func(time.Duration)
}

// Run runs the suite; open returns a fresh host for each subtest.
func Run(t *testing.T, open func(t *testing.T) Host) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Host)
	}{
		{"AppliesEveryChangeAndReportsVersionsAndCounters", testApplies},
		{"AFailedConditionChangesNothing", testFailedCondition},
		{"ConditionsSeeExpiredEntriesAsAbsent", testExpiry},
		{"MalformedTransactionsAreInvalid", testInvalid},
		{"AnOverflowingCounterChangesNothing", testOverflow},
		{"ConcurrentLikesKeepCountsExact", testConcurrentLikes},
		{"AConditionOnAKeyNotWrittenHoldsUntilCommit", testGate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// value returns the value under key, or "<absent>".
func value(t *testing.T, h Host, key string) string {
	t.Helper()
	e, err := h.Client.KV().Get(ctxT(t), key)
	if errors.Is(err, sdk.ErrNotFound) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(e.Value)
}

func counter(t *testing.T, h Host, name string) int64 {
	t.Helper()
	got, err := h.Client.Counters().BatchGet(ctxT(t), []string{name})
	if err != nil {
		t.Fatal(err)
	}
	return got[name]
}

func testApplies(t *testing.T, h Host) {
	ctx, kv := ctxT(t), h.Client.KV()
	old, err := kv.Put(ctx, "old", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Client.Counters().Add(ctx, "dropped", 7); err != nil {
		t.Fatal(err)
	}
	res, err := h.Client.Txn(ctx, sdk.Txn{
		If:             []sdk.Cond{sdk.IfAbsent("new"), sdk.IfPresent("gone"), sdk.IfVersion("old", old), sdk.IfAbsent("elsewhere")},
		Put:            []sdk.Put{{Key: "new", Value: []byte("n")}, {Key: "old", Value: []byte("o")}, {Key: "empty"}},
		Delete:         []string{"gone", "never-was"},
		Add:            []sdk.Delta{{Name: "likes", Delta: 3}, {Name: "down", Delta: -2}, {Name: "read", Delta: 0}},
		DeleteCounters: []string{"dropped", "never-counted"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Versions) != 3 || res.Versions[0] <= 0 || res.Versions[1] <= old || res.Versions[2] <= 0 {
		t.Fatalf("versions %v (old was at %d)", res.Versions, old)
	}
	if res.Counters["likes"] != 3 || res.Counters["down"] != -2 || res.Counters["read"] != 0 || len(res.Counters) != 3 {
		t.Fatalf("counters %v", res.Counters)
	}
	for key, want := range map[string]string{"new": "n", "old": "o", "empty": "", "gone": "<absent>", "elsewhere": "<absent>"} {
		if got := value(t, h, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	e, err := kv.Get(ctx, "old")
	if err != nil || e.Version != res.Versions[1] {
		t.Fatalf("old at version %d, the transaction said %d (%v)", e.Version, res.Versions[1], err)
	}
	if keys, _, _ := kv.List(ctx, "", "", 10); len(keys) != 3 {
		t.Errorf("entries after the transaction: %+v", keys)
	}
	if n := counter(t, h, "dropped"); n != 0 {
		t.Errorf("a deleted counter reads %d", n)
	}
	// Added to again, a deleted counter starts from 0.
	if res, err := h.Client.Txn(ctx, sdk.Txn{Add: []sdk.Delta{{Name: "dropped", Delta: 1}}}); err != nil || res.Counters["dropped"] != 1 {
		t.Fatalf("re-created counter: %v %v", res.Counters, err)
	}
	if _, err := h.Client.Txn(ctx, sdk.Txn{}); err != nil {
		t.Fatalf("an empty transaction: %v", err)
	}
}

func testFailedCondition(t *testing.T, h Host) {
	ctx, kv := ctxT(t), h.Client.KV()
	v, err := kv.Put(ctx, "liked", []byte("yes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Client.Counters().Add(ctx, "count", 5); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		conds  []sdk.Cond
		failed int
	}{
		{"absent but present", []sdk.Cond{sdk.IfAbsent("free"), sdk.IfAbsent("liked")}, 1},
		{"present but absent", []sdk.Cond{sdk.IfPresent("missing"), sdk.IfPresent("liked")}, 0},
		{"at another version", []sdk.Cond{sdk.IfVersion("liked", v+1)}, 0},
		{"at a version but absent", []sdk.Cond{sdk.IfAbsent("free"), sdk.IfVersion("missing", v)}, 1},
	}
	for _, tc := range cases {
		res, err := h.Client.Txn(ctx, sdk.Txn{
			If:             tc.conds,
			Put:            []sdk.Put{{Key: "liked", Value: []byte("changed")}, {Key: "free", Value: []byte("taken")}},
			Delete:         []string{"other"},
			Add:            []sdk.Delta{{Name: "count", Delta: 1}, {Name: "never", Delta: 1}},
			DeleteCounters: []string{"kept"},
		})
		var conflict *sdk.TxnConflict
		if !errors.As(err, &conflict) || !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("%s: %v, want a *TxnConflict", tc.name, err)
		}
		if conflict.Index != tc.failed || conflict.Key != tc.conds[tc.failed].Key {
			t.Errorf("%s: condition %d (%q) failed, want %d", tc.name, conflict.Index, conflict.Key, tc.failed)
		}
		if res.Counters["count"] != 5 || res.Counters["never"] != 0 || len(res.Counters) != 2 {
			t.Errorf("%s: current counters %v, want count 5 and never 0", tc.name, res.Counters)
		}
		if res.Versions != nil {
			t.Errorf("%s: versions %v of puts that did not happen", tc.name, res.Versions)
		}
	}
	if value(t, h, "liked") != "yes" || value(t, h, "free") != "<absent>" || counter(t, h, "count") != 5 || counter(t, h, "never") != 0 {
		t.Fatal("a failed transaction changed something")
	}
	if e, _ := kv.Get(ctx, "liked"); e.Version != v {
		t.Fatalf("a failed transaction moved the version from %d to %d", v, e.Version)
	}
}

func testExpiry(t *testing.T, h Host) {
	ctx, kv := ctxT(t), h.Client.KV()
	if _, err := kv.PutTTL(ctx, "session", []byte("s"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Client.Txn(ctx, sdk.Txn{If: []sdk.Cond{sdk.IfAbsent("session")}}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("absent on a live entry: %v", err)
	}
	h.Advance(2 * time.Minute)
	if _, err := h.Client.Txn(ctx, sdk.Txn{If: []sdk.Cond{sdk.IfPresent("session")}}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("present on an expired entry: %v", err)
	}
	res, err := h.Client.Txn(ctx, sdk.Txn{If: []sdk.Cond{sdk.IfAbsent("session")},
		Put: []sdk.Put{{Key: "session", Value: []byte("t"), TTL: time.Minute}}})
	if err != nil {
		t.Fatalf("absent on an expired entry: %v", err)
	}
	e, err := kv.Get(ctx, "session")
	if err != nil || string(e.Value) != "t" || e.Version != res.Versions[0] || e.ExpiresAt.IsZero() {
		t.Fatalf("entry put with a TTL: %+v %v", e, err)
	}
	h.Advance(2 * time.Minute)
	if got := value(t, h, "session"); got != "<absent>" {
		t.Fatalf("the TTL of a put in a transaction: %q still there", got)
	}
}

func testInvalid(t *testing.T, h Host) {
	ctx := ctxT(t)
	many := make([]string, sdk.MaxBatch+1)
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	cases := map[string]sdk.Txn{
		"two conditions on a key":  {If: []sdk.Cond{sdk.IfAbsent("a"), sdk.IfPresent("a")}},
		"a key put twice":          {Put: []sdk.Put{{Key: "a"}, {Key: "a"}}},
		"a key put and deleted":    {Put: []sdk.Put{{Key: "a"}}, Delete: []string{"a"}},
		"a counter changed twice":  {Add: []sdk.Delta{{Name: "c", Delta: 1}, {Name: "c", Delta: 1}}},
		"a counter added, deleted": {Add: []sdk.Delta{{Name: "c", Delta: 1}}, DeleteCounters: []string{"c"}},
		"no version":               {If: []sdk.Cond{sdk.IfVersion("a", 0)}},
		"no state":                 {If: []sdk.Cond{{Key: "a"}}},
		"an empty key":             {Put: []sdk.Put{{Key: ""}}},
		"an oversized key":         {Delete: []string{strings.Repeat("k", sdk.MaxKeySize+1)}},
		"a negative TTL":           {Put: []sdk.Put{{Key: "a", TTL: -time.Second}}},
		"too many changes":         {Delete: many},
		"values over the limit":    {Put: []sdk.Put{{Key: "a", Value: make([]byte, sdk.MaxValueSize/2+1)}, {Key: "b", Value: make([]byte, sdk.MaxValueSize/2+1)}}},
	}
	for name, txn := range cases {
		txn.Put = append(txn.Put, sdk.Put{Key: "witness", Value: []byte(name)})
		if _, err := h.Client.Txn(ctx, txn); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if got := value(t, h, "witness"); got != "<absent>" {
		t.Fatalf("an invalid transaction wrote %q", got)
	}
}

func testOverflow(t *testing.T, h Host) {
	ctx := ctxT(t)
	if _, err := h.Client.Counters().Add(ctx, "big", 1<<62); err != nil {
		t.Fatal(err)
	}
	_, err := h.Client.Txn(ctx, sdk.Txn{Put: []sdk.Put{{Key: "k", Value: []byte("v")}},
		Add: []sdk.Delta{{Name: "small", Delta: 1}, {Name: "big", Delta: 1 << 62}}})
	if !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("overflow: %v", err)
	}
	if counter(t, h, "big") != 1<<62 || counter(t, h, "small") != 0 || value(t, h, "k") != "<absent>" {
		t.Fatal("an overflowing transaction changed something")
	}
}

// testConcurrentLikes has 50 users like and unlike 3 items at once, each like and
// unlike one transaction; every count must equal the likes stored.
func testConcurrentLikes(t *testing.T, h Host) {
	ctx := ctxT(t)
	items := []string{"a", "b", "c"}
	var wg sync.WaitGroup
	for u := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 6 {
				item := items[(u+round)%len(items)]
				key, count := "like/"+item+"/"+fmt.Sprint(u), "count/"+item
				var txn sdk.Txn
				if (u+round)%4 != 3 {
					txn = sdk.Txn{If: []sdk.Cond{sdk.IfAbsent(key)}, Put: []sdk.Put{{Key: key}}, Add: []sdk.Delta{{Name: count, Delta: 1}}}
				} else {
					txn = sdk.Txn{If: []sdk.Cond{sdk.IfPresent(key)}, Delete: []string{key}, Add: []sdk.Delta{{Name: count, Delta: -1}}}
				}
				if _, err := h.Client.Txn(ctx, txn); err != nil && !errors.Is(err, sdk.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, item := range items {
		entries, _, err := h.Client.KV().List(ctx, "like/"+item+"/", "", sdk.MaxListLimit)
		if err != nil {
			t.Fatal(err)
		}
		if n := counter(t, h, "count/"+item); n != int64(len(entries)) || n == 0 {
			t.Errorf("item %s: count %d, %d likes stored", item, n, len(entries))
		}
	}
}

// testGate races transactions that pass while "gate" is absent against one that
// puts it and reads how many passed: none may pass after that.
func testGate(t *testing.T, h Host) {
	ctx := ctxT(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				_, err := h.Client.Txn(ctx, sdk.Txn{If: []sdk.Cond{sdk.IfAbsent("gate")},
					Put: []sdk.Put{{Key: fmt.Sprintf("passed/%d/%d", w, i)}}, Add: []sdk.Delta{{Name: "passed", Delta: 1}}})
				if err != nil && !errors.Is(err, sdk.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	res, err := h.Client.Txn(ctx, sdk.Txn{Put: []sdk.Put{{Key: "gate"}}, Add: []sdk.Delta{{Name: "passed", Delta: 0}}})
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n := counter(t, h, "passed"); n != res.Counters["passed"] || n == 0 {
		t.Fatalf("%d passed by the time the gate closed, %d in the end", res.Counters["passed"], n)
	}
}
