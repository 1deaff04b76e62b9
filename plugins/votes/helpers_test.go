package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// The cast: ann and bob vote, mod moderates space s1.
var (
	ann = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob = plugintest.User{ID: "bob", Roles: []string{"employee"}}
	mod = plugintest.User{ID: "mod", Roles: []string{"employee"}}
)

// clock is a settable clock for the plugin.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start runs the plugin on a fresh in-memory host with a clock of its own.
func start(t *testing.T) (*plugintest.Harness, *Plugin, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	p := New()
	p.now = c.now
	return plugintest.New(t, p, plugintest.Options{}), p, c
}

// item adds an item of space s1 that everyone reads.
func item(h *plugintest.Harness, space string) string {
	return h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "idea", SpaceID: space, Title: "An idea"}, Public: true})
}

// call sends a request with a JSON body (nil: none) and returns the status and body.
func call(t *testing.T, h *plugintest.Harness, u plugintest.User, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	resp := h.Do(u, method, path, r)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// ok sends a request that must answer want and decodes its body into T.
func ok[T any](t *testing.T, h *plugintest.Harness, u plugintest.User, want int, method, path string, body any) T {
	t.Helper()
	status, data := call(t, h, u, method, path, body)
	var v T
	if status != want {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.ID, status, data, want)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s %s: %q: %v", method, path, data, err)
	}
	return v
}

// refused sends a request that must answer status with the problem code.
func refused(t *testing.T, h *plugintest.Harness, u plugintest.User, status int, code, method, path string, body any) {
	t.Helper()
	got, data := call(t, h, u, method, path, body)
	var p sdk.Problem
	_ = json.Unmarshal(data, &p)
	if got != status || p.Code != code {
		t.Fatalf("%s %s as %s: %d %s, want %d %s", method, path, u.ID, got, data, status, code)
	}
}

func vote(t *testing.T, h *plugintest.Harness, u plugintest.User, id string, value int) Summary {
	t.Helper()
	return ok[Summary](t, h, u, http.StatusOK, "PUT", "/items/"+id+"/vote", map[string]int{"value": value})
}

func i64(v int64) *int64 { return &v }
