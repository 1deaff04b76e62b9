package sdk_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestKVVersionsAndCompareAndSet(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	ctx, kv := background(t), p.host.KV()

	if _, err := kv.Get(ctx, "k"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	v1, err := kv.CAS(ctx, "k", []byte("one"), 0)
	if err != nil || v1 <= 0 {
		t.Fatalf("CAS create = %d, %v", v1, err)
	}
	if _, err := kv.CAS(ctx, "k", []byte("again"), 0); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("CAS create on existing = %v, want ErrConflict", err)
	}
	v2, err := kv.CAS(ctx, "k", []byte("two"), v1)
	if err != nil || v2 <= v1 {
		t.Fatalf("CAS at current version = %d, %v", v2, err)
	}
	if _, err := kv.CAS(ctx, "k", []byte("stale"), v1); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("CAS at stale version = %v, want ErrConflict", err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value) != "two" || e.Version != v2 || !e.ExpiresAt.IsZero() {
		t.Fatalf("Get = %+v, %v", e, err)
	}
	if err := kv.CompareAndDelete(ctx, "k", v1); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("CompareAndDelete stale = %v, want ErrConflict", err)
	}
	if err := kv.CompareAndDelete(ctx, "k", v2); err != nil {
		t.Fatal(err)
	}
	if err := kv.CompareAndDelete(ctx, "k", v2); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("CompareAndDelete missing = %v, want ErrConflict", err)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete missing = %v, want nil", err)
	}
	if keys := h.KVKeys(""); len(keys) != 0 {
		t.Fatalf("left keys %v", keys)
	}
}

func TestKVBatchGetListAndTTL(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	ctx, kv := background(t), p.host.KV()
	for i := range 5 {
		if _, err := kv.Put(ctx, fmt.Sprintf("a/%d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Put(ctx, "b/0", nil); err != nil {
		t.Fatal(err)
	}
	got, err := kv.BatchGet(ctx, []string{"a/1", "missing", "a/3"})
	if err != nil || len(got) != 2 || got["a/1"].Value[0] != 1 || got["a/3"].Value[0] != 3 {
		t.Fatalf("BatchGet = %v, %v", got, err)
	}

	var keys []string
	for after := ""; ; {
		page, next, err := kv.List(ctx, "a/", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			keys = append(keys, e.Key)
		}
		if next == "" {
			break
		}
		after = next
	}
	if strings.Join(keys, ",") != "a/0,a/1,a/2,a/3,a/4" {
		t.Fatalf("listed %v", keys)
	}

	if _, err := kv.PutTTL(ctx, "session", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "session"); err != nil || e.ExpiresAt.IsZero() {
		t.Fatalf("Get before expiry = %+v, %v", e, err)
	}
	h.Advance(2 * time.Minute)
	if _, err := kv.Get(ctx, "session"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Get after expiry = %v, want ErrNotFound", err)
	}
	if _, err := kv.PutTTL(ctx, "session", nil, 0); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("PutTTL(0) = %v, want ErrInvalid", err)
	}
}

func TestKVRefusesWhatBreaksTheLimits(t *testing.T) {
	p := &probe{}
	plugintest.New(t, p, plugintest.Options{})
	ctx, kv := background(t), p.host.KV()
	tooMany := make([]string, sdk.MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(i)
	}
	tests := map[string]error{}
	_, tests["empty key"] = kv.Put(ctx, "", nil)
	_, tests["long key"] = kv.Put(ctx, strings.Repeat("k", sdk.MaxKeySize+1), nil)
	_, tests["large value"] = kv.Put(ctx, "k", make([]byte, sdk.MaxValueSize+1))
	_, tests["batch too large"] = kv.BatchGet(ctx, tooMany)
	_, tests["invalid UTF-8 key"] = kv.Get(ctx, "\xff")
	_, tests["counter without name"] = p.host.Counters().Add(ctx, "", 1)
	for name, err := range tests {
		if !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := kv.Put(ctx, strings.Repeat("k", sdk.MaxKeySize), make([]byte, sdk.MaxValueSize)); err != nil {
		t.Fatalf("a value at the limits: %v", err)
	}
}

func TestCountersAddAndBatchGet(t *testing.T) {
	p := &probe{}
	plugintest.New(t, p, plugintest.Options{})
	ctx, c := background(t), p.host.Counters()
	for _, d := range []int64{5, -2, 1} {
		if _, err := c.Add(ctx, "likes/x", d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.BatchGet(ctx, []string{"likes/x", "likes/never"})
	if err != nil || got["likes/x"] != 4 || got["likes/never"] != 0 || len(got) != 2 {
		t.Fatalf("BatchGet = %v, %v", got, err)
	}
}

func TestAnExpiredCallHandleIsRefused(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	call := h.BeginCall(plugintest.User{ID: "ann"})
	h.EndCall(call)
	ctx := sdk.WithCall(background(t), call)
	if _, err := p.host.KV().Get(ctx, "k"); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("Get with an expired handle = %v, want ErrForbidden", err)
	}
}
