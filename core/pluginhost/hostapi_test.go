package pluginhost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

func ptr[T any](v T) *T { return &v }

func TestKVVersionsCompareAndSetAndExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.service("alpha", NewCalls(e.clock.Now))
		ctx := ctxT(t)

		if _, err := s.KVGet(ctx, "", "k"); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("missing key: %v", err)
		}
		v1, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: []byte("one")})
		if err != nil || v1 <= 0 {
			t.Fatalf("put: %d %v", v1, err)
		}
		v2, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: []byte("two")})
		if err != nil || v2 <= v1 {
			t.Fatalf("second put: version %d after %d, %v", v2, v1, err)
		}
		if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: []byte("x"), IfVersion: &v1}); !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("CAS on a stale version: %v", err)
		}
		if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: []byte("x"), IfVersion: ptr(int64(0))}); !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("create-only CAS on an existing key: %v", err)
		}
		v3, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: []byte("three"), IfVersion: &v2})
		if err != nil || v3 <= v2 {
			t.Fatalf("CAS at the current version: %d %v", v3, err)
		}
		got, err := s.KVGet(ctx, "", "k")
		if err != nil || string(got.Value) != "three" || got.Version != v3 || !got.ExpiresAt.IsZero() {
			t.Fatalf("get: %+v %v", got, err)
		}
		if err := s.KVDelete(ctx, "", "k", &v2); !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("compare-and-delete at a stale version: %v", err)
		}
		if err := s.KVDelete(ctx, "", "k", &v3); err != nil {
			t.Fatal(err)
		}
		if err := s.KVDelete(ctx, "", "k", nil); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if err := s.KVDelete(ctx, "", "k", &v3); !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("compare-and-delete of a missing key: %v", err)
		}
		// Written again, the key never comes back at a version someone may hold.
		v4, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "k", Value: nil, IfVersion: ptr(int64(0))})
		if err != nil || v4 <= v3 {
			t.Fatalf("re-created at version %d after %d: %v", v4, v3, err)
		}
		if got, _ := s.KVGet(ctx, "", "k"); got.Value == nil || len(got.Value) != 0 {
			t.Fatalf("empty value read back as %#v", got.Value)
		}

		// TTLs: invisible once expired, replaceable by a create-only CAS, cleaned up.
		if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "ttl", Value: []byte("v"), TTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		got, err = s.KVGet(ctx, "", "ttl")
		if err != nil || got.ExpiresAt.Before(e.clock.Now().Add(59*time.Second)) {
			t.Fatalf("ttl entry: %+v %v", got, err)
		}
		e.clock.Advance(2 * time.Minute)
		if _, err := s.KVGet(ctx, "", "ttl"); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("expired entry: %v", err)
		}
		if entries, _ := s.KVBatchGet(ctx, "", []string{"ttl", "k"}); len(entries) != 1 || entries[0].Key != "k" {
			t.Fatalf("batch get with an expired entry: %+v", entries)
		}
		if entries, _, _ := s.KVList(ctx, "", "", "", 10); len(entries) != 1 {
			t.Fatalf("list with an expired entry: %+v", entries)
		}
		eventually(t, 5*time.Second, func() error {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM plugin_kv WHERE key = 'ttl'`).Scan(&n); err != nil || n != 0 {
				return fmt.Errorf("expired row still stored (%d, %v)", n, err)
			}
			return nil
		})
		if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "ttl2", Value: []byte("v"), TTL: time.Second}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Second)
		if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: "ttl2", Value: []byte("w"), IfVersion: ptr(int64(0))}); err != nil {
			t.Fatalf("create-only CAS over an expired entry: %v", err)
		}
		if _, err := s.KVGet(ctx, "", "nul\x00key"); !errors.Is(err, sdk.ErrInvalid) {
			t.Fatalf("a key with NUL: %v", err)
		}
	})
}

func TestKVListPagesByPrefixInByteOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.service("alpha", NewCalls(e.clock.Now))
		ctx := ctxT(t)
		keys := []string{"a", "a/", "a/1", "a/2", "a/Z", "a/b", "a/é", "a/\U0010FFFF", "a/\U0010FFFFx", "a0", "b", "A/1"}
		for _, k := range keys {
			if _, err := s.KVPut(ctx, "", pluginrpc.KVWrite{Key: k, Value: []byte(k)}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		pages := 0
		for after := ""; ; pages++ {
			entries, next, err := s.KVList(ctx, "", "a/", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				got = append(got, e.Key)
				if string(e.Value) != e.Key {
					t.Fatalf("value of %q is %q", e.Key, e.Value)
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		want := []string{"a/", "a/1", "a/2", "a/Z", "a/b", "a/é", "a/\U0010FFFF", "a/\U0010FFFFx"}
		if !slices.Equal(got, want) || pages != 3 {
			t.Fatalf("listed %q over %d pages, want %q (byte order) over 4", got, pages+1, want)
		}
		all, next, err := s.KVList(ctx, "", "", "a0", 100)
		if err != nil || next != "" || !slices.Equal(keysOf(all), []string{"b"}) {
			t.Fatalf("everything after a0: %q %q %v", keysOf(all), next, err)
		}
		if none, _, _ := s.KVList(ctx, "", "zzz", "", 100); none == nil || len(none) != 0 {
			t.Fatalf("no match: %#v", none)
		}
		if end, ok := prefixEnd("a\U0010FFFF"); !ok || end != "b" {
			t.Fatalf("prefixEnd = %q %v", end, ok)
		}
		if _, ok := prefixEnd("\U0010FFFF"); ok {
			t.Fatal("prefixEnd of the largest rune has an end")
		}
	})
}

func keysOf(entries []sdk.Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Key)
	}
	return out
}

func TestCountersAddAtomicallyAndBatchRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		s := e.service("alpha", NewCalls(e.clock.Now))
		ctx := ctxT(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if _, err := s.CounterAdd(ctx, "", "likes/x", 1); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if v, err := s.CounterAdd(ctx, "", "likes/x", -5); err != nil || v != 75 {
			t.Fatalf("after 80 concurrent adds and -5: %d %v", v, err)
		}
		got, err := s.CounterBatchGet(ctx, "", []string{"likes/x", "likes/y"})
		if err != nil || len(got) != 1 || got["likes/x"] != 75 {
			t.Fatalf("batch get: %v %v", got, err)
		}
		if _, err := s.CounterAdd(ctx, "", "big", 1<<62); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CounterAdd(ctx, "", "big", 1<<62); !errors.Is(err, sdk.ErrInvalid) {
			t.Fatalf("overflow: %v", err)
		}
		if got, _ := s.CounterBatchGet(ctx, "", []string{"big"}); got["big"] != 1<<62 {
			t.Fatalf("an overflowing add changed the counter: %d", got["big"])
		}
	})
}

func TestAPluginCannotReachAnotherPluginsData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		calls := NewCalls(e.clock.Now)
		alpha, beta := e.service("alpha", calls), e.service("beta", calls)
		ctx := ctxT(t)
		if _, err := alpha.KVPut(ctx, "", pluginrpc.KVWrite{Key: "secret", Value: []byte("alpha's")}); err != nil {
			t.Fatal(err)
		}
		if _, err := alpha.CounterAdd(ctx, "", "n", 3); err != nil {
			t.Fatal(err)
		}
		info, err := alpha.BlobPut(ctx, "", 5, strings.NewReader("bytes"))
		if err != nil {
			t.Fatal(err)
		}

		if _, err := beta.KVGet(ctx, "", "secret"); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("beta read alpha's key: %v", err)
		}
		if got, _ := beta.KVBatchGet(ctx, "", []string{"secret"}); len(got) != 0 {
			t.Fatalf("beta batch-read alpha's key: %+v", got)
		}
		if got, _, _ := beta.KVList(ctx, "", "", "", 100); len(got) != 0 {
			t.Fatalf("beta listed alpha's keys: %+v", got)
		}
		v := int64(1)
		if err := beta.KVDelete(ctx, "", "secret", nil); err != nil {
			t.Fatal(err)
		}
		if err := beta.KVDelete(ctx, "", "secret", &v); !errors.Is(err, sdk.ErrConflict) {
			t.Fatalf("beta compare-and-deleted alpha's key: %v", err)
		}
		if got, _ := beta.CounterBatchGet(ctx, "", []string{"n"}); len(got) != 0 {
			t.Fatalf("beta read alpha's counter: %v", got)
		}
		if _, _, err := beta.BlobGet(ctx, "", info.Key, 0, -1); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("beta read alpha's blob: %v", err)
		}
		if err := beta.BlobDelete(ctx, "", info.Key); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("beta deleted alpha's blob: %v", err)
		}
		// alpha's data is intact.
		if got, err := alpha.KVGet(ctx, "", "secret"); err != nil || string(got.Value) != "alpha's" {
			t.Fatalf("alpha's key after beta's attempts: %+v %v", got, err)
		}
		if _, err := alpha.BlobStat(ctx, "", info.Key); err != nil {
			t.Fatalf("alpha's blob after beta's attempts: %v", err)
		}
	})
}

func TestBlobsStreamUnderThePluginsOwnPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	s := e.service("alpha", NewCalls(e.clock.Now))
	ctx := ctxT(t)
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	info, err := s.BlobPut(ctx, "", -1, bytes.NewReader(data))
	if err != nil || info.Size != int64(len(data)) || !strings.HasPrefix(info.Key, "plugins/alpha/") || info.CreatedAt.IsZero() {
		t.Fatalf("put: %+v %v", info, err)
	}
	rc, got, err := s.BlobGet(ctx, "", info.Key, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rc)
	rc.Close()
	if string(part) != "01234" || got.Size != int64(len(data)) {
		t.Fatalf("range read %q of %+v", part, got)
	}
	if _, _, err := s.BlobGet(ctx, "", info.Key, int64(len(data))+1, -1); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("offset past the end: %v", err)
	}
	for _, key := range []string{"documents/2026/01/abc", "plugins/alpha/../beta/x", "plugins/alphabet/x", "plugins/alpha/Missing"} {
		if _, err := s.BlobStat(ctx, "", key); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("stat %q: %v", key, err)
		}
	}
	if _, err := s.BlobPut(ctx, "", 2<<20, strings.NewReader("x")); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("declared size over the limit: %v", err)
	}
	if _, err := s.BlobPut(ctx, "", -1, io.LimitReader(zeros{}, 2<<20)); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("streamed past the limit: %v", err)
	}
	if _, err := s.BlobPut(ctx, "", 10, strings.NewReader("short")); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("fewer bytes than declared: %v", err)
	}
	if err := s.BlobDelete(ctx, "", info.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlobStat(ctx, "", info.Key); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.BlobDelete(ctx, "", info.Key); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	var left []string
	for bi, err := range e.blobs.List(ctx, "plugins/") {
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, bi.Key)
	}
	if len(left) != 0 {
		t.Fatalf("refused puts left blobs behind: %v", left)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCallHandlesActAsTheirUserAndDieWithTheirRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	calls := NewCalls(e.clock.Now)
	alpha, beta := e.service("alpha", calls), e.service("beta", calls)
	ctx := ctxT(t)
	ann := principal("ann", "employee")
	call, end := calls.Begin("alpha", ann, authz.SpaceSet{}, "req-1", e.clock.Now().Add(time.Minute))
	if len(call.Handle) != 32 || call.UserID != "ann" || call.RequestID != "req-1" {
		t.Fatalf("call %+v", call)
	}
	if _, err := alpha.KVPut(ctx, call.Handle, pluginrpc.KVWrite{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatalf("a live handle: %v", err)
	}
	if _, err := beta.KVPut(ctx, call.Handle, pluginrpc.KVWrite{Key: "k", Value: []byte("v")}); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("another plugin's handle: %v", err)
	}
	if _, err := alpha.KVGet(ctx, "0123456789abcdef0123456789abcdef", "k"); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("a made-up handle: %v", err)
	}
	end()
	end()
	if _, err := alpha.KVGet(ctx, call.Handle, "k"); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("an ended handle: %v", err)
	}
	late, _ := calls.Begin("alpha", ann, authz.SpaceSet{}, "req-2", e.clock.Now().Add(time.Second))
	e.clock.Advance(2 * time.Second)
	if _, err := alpha.CounterAdd(ctx, late.Handle, "n", 1); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("a handle past its deadline: %v", err)
	}
	if _, err := alpha.KVGet(ctx, "", "k"); err != nil {
		t.Fatalf("background work: %v", err)
	}
}

func TestItemsThroughTheHostActAsTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	calls := NewCalls(e.clock.Now)
	scope := []string{"s1", "s2"}
	alpha := NewHostService(HostServiceConfig{Plugin: "alpha", DB: e.db, Blobs: e.blobs, Items: e.items, Authz: e.az, Calls: calls,
		Spaces: func() []string { return scope }}).(*hostService)
	ctx := ctxT(t)
	e.az.read("ann", "s1", "s3")
	e.az.allow("ann", authz.Space("s1"), "content", "create")
	e.az.allow("ann", authz.Space("s3"), "content", "create")
	e.az.read("bob", "s1")
	e.az.allow("mod", authz.Space("s1"), "content", "moderate")
	e.az.read("mod", "s1")
	begin := func(p *authz.Principal) string {
		c, end := calls.Begin("alpha", p, e.az.Readable(p), "r", time.Now().Add(time.Minute))
		t.Cleanup(end)
		return c.Handle
	}
	ann, bob, mod := begin(principal("ann", "employee")), begin(principal("bob", "employee")), begin(principal("mod"))

	private := e.items.add(sdk.Item{Kind: "page", SpaceID: "s2", Title: "Salaries"})
	restricted := e.items.add(sdk.Item{Kind: "post", SpaceID: "s1", Title: "For ann", Restricted: []string{"user:ann"}})
	public := e.items.add(sdk.Item{Kind: "post", SpaceID: "s1", Title: "Hello", AuthorID: "carl"})

	for _, id := range []string{private, restricted, "no-such-item"} {
		if _, err := alpha.ItemGet(ctx, bob, id); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("bob read %s: %v", id, err)
		}
		if ok, err := alpha.Authorize(ctx, bob, "read", id); ok || err != nil {
			t.Errorf("bob authorized to read %s: %v %v", id, ok, err)
		}
	}
	if it, err := alpha.ItemGet(ctx, ann, restricted); err != nil || it.Title != "For ann" {
		t.Fatalf("ann reads what she may: %+v %v", it, err)
	}
	if ok, _ := alpha.Authorize(ctx, bob, "moderate", public); ok {
		t.Fatal("bob may moderate")
	}
	if ok, _ := alpha.Authorize(ctx, mod, "moderate", public); !ok {
		t.Fatal("the moderator may not moderate")
	}
	if _, err := alpha.ItemGet(ctx, "", public); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("background work read a user's item: %v", err)
	}
	if ok, _ := alpha.Authorize(ctx, "", "read", public); ok {
		t.Fatal("background work may read a user's item")
	}
	if hits, err := alpha.ItemSearch(ctx, bob, sdk.ItemQuery{Limit: 10}); err != nil || len(hits) != 1 || hits[0].ID != public {
		t.Fatalf("bob's search: %+v %v", hits, err)
	}

	// Registering: as a user, in the plugin's spaces, where the user may create.
	id, err := alpha.ItemRegister(ctx, ann, sdk.NewItem{Kind: "question", SpaceID: "s1", Title: "Why?"})
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := e.items.item(id); it.Owner != "alpha" || it.AuthorID != "ann" {
		t.Fatalf("registered %+v", it)
	}
	refusals := []struct {
		handle string
		item   sdk.NewItem
		want   error
	}{
		{"", sdk.NewItem{Kind: "question", SpaceID: "s1", Title: "t"}, sdk.ErrForbidden},     // background
		{bob, sdk.NewItem{Kind: "question", SpaceID: "s1", Title: "t"}, sdk.ErrForbidden},    // may not create
		{ann, sdk.NewItem{Kind: "question", SpaceID: "s3", Title: "t"}, sdk.ErrForbidden},    // plugin not on in s3
		{ann, sdk.NewItem{Kind: "question", SpaceID: "s2", Title: "t"}, sdk.ErrNotFound},     // cannot see s2
		{ann, sdk.NewItem{Kind: "news", SpaceID: "s1", Title: "t"}, sdk.ErrInvalid},          // a core kind
		{ann, sdk.NewItem{Kind: "question", SpaceID: "s1", Title: "a\x00b"}, sdk.ErrInvalid}, // NUL
	}
	for _, r := range refusals {
		if _, err := alpha.ItemRegister(ctx, r.handle, r.item); !errors.Is(err, r.want) {
			t.Errorf("register %+v as %q: %v, want %v", r.item, r.handle, err, r.want)
		}
	}

	// Changing: only the plugin's own items; users as they may edit.
	if err := alpha.ItemUpdate(ctx, ann, public, sdk.ItemUpdate{Title: "mine now"}); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("updated a core item: %v", err)
	}
	if err := alpha.ItemUpdate(ctx, bob, id, sdk.ItemUpdate{Title: "bob's"}); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("bob edited ann's question: %v", err)
	}
	if err := alpha.ItemUpdate(ctx, mod, id, sdk.ItemUpdate{Title: "Why not?"}); err != nil {
		t.Fatalf("the moderator edits: %v", err)
	}
	beta := e.service("beta", calls)
	if err := beta.ItemDelete(ctx, "", id); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("beta deleted alpha's item: %v", err)
	}
	if it, err := alpha.ItemGet(ctx, "", id); err != nil || it.Title != "Why not?" {
		t.Fatalf("background read of its own item: %+v %v", it, err)
	}
	if hits, _ := alpha.ItemSearch(ctx, "", sdk.ItemQuery{Limit: 10}); len(hits) != 1 || hits[0].ID != id {
		t.Fatalf("background search: %+v", hits)
	}
	if err := alpha.ItemDelete(ctx, "", id); err != nil {
		t.Fatalf("background delete of its own item: %v", err)
	}
	var typ, actor string
	if err := e.db.QueryRowContext(ctx, `SELECT type, actor FROM events WHERE item_id = $1`, id).Scan(&typ, &actor); err != nil ||
		typ != EventItemDeleted || actor != "plugin:alpha" {
		t.Fatalf("event after the delete: %q %q %v", typ, actor, err)
	}
}

func TestPluginsPublishOnlyTheirOwnEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		calls := NewCalls(e.clock.Now)
		alpha := e.service("alpha", calls)
		ctx := ctxT(t)
		item := e.items.add(sdk.Item{Kind: "post", SpaceID: "s1", Title: "t"})
		for _, typ := range []string{"item.deleted", "beta.x", "alpha.", "alphax.y"} {
			if err := alpha.Publish(ctx, "", typ, "", nil); !errors.Is(err, sdk.ErrForbidden) {
				t.Errorf("published %q: %v", typ, err)
			}
		}
		c, end := calls.Begin("alpha", principal("ann"), authz.SpaceSet{All: true}, "r", time.Now().Add(time.Minute))
		defer end()
		if err := alpha.Publish(ctx, c.Handle, "alpha.voted", item, []byte(`{"up":true}`)); err != nil {
			t.Fatal(err)
		}
		var typ, space, actor, payload string
		err := db.QueryRowContext(ctx, `SELECT type, space_id, actor, payload FROM events WHERE item_id = $1`, item).Scan(&typ, &space, &actor, &payload)
		if err != nil || typ != "alpha.voted" || space != "s1" || actor != "ann" || payload != `{"up":true}` {
			t.Fatalf("stored %q %q %q %q %v", typ, space, actor, payload, err)
		}
	})
}

func TestCoreFaultsReachPluginsAsSDKErrors(t *testing.T) {
	t.Parallel()
	sentinels := []error{sdk.ErrNotFound, sdk.ErrForbidden, sdk.ErrConflict, sdk.ErrInvalid}
	for _, tc := range []struct {
		in   error
		want error // nil: none of the sentinels
	}{
		{fault.NotFoundf("no such item"), sdk.ErrNotFound},
		{fault.Forbiddenf("no"), sdk.ErrForbidden},
		{fault.Conflictf("edited meanwhile"), sdk.ErrConflict},
		{fault.Invalidf("title", "too long"), sdk.ErrInvalid},
		{fmt.Errorf("x: %w", sdk.ErrNotFound), sdk.ErrNotFound},
		{errors.New("disk on fire"), nil},
	} {
		got := sdkError(tc.in)
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == tc.want) {
				t.Errorf("%v -> %v: matches %v is %v", tc.in, got, s, errors.Is(got, s))
			}
		}
	}
}
