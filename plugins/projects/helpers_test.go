package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

var (
	ann  = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob  = plugintest.User{ID: "bob", Roles: []string{"employee"}}
	carl = plugintest.User{ID: "carl", Roles: []string{"employee"}}
	dave = plugintest.User{ID: "dave", Roles: []string{"employee"}}
)

// today is the fixed date of the tests' clock.
var today = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

// env is the plugin on an in-memory host, with a fixed clock.
type env struct {
	t *testing.T
	*plugintest.Harness
}

func newEnv(t *testing.T) *env {
	p := New()
	p.now = func() time.Time { return today }
	return &env{t: t, Harness: plugintest.New(t, p, plugintest.Options{})}
}

// call sends a request with body (JSON-encoded unless nil) and returns the status and
// the body.
func (e *env) call(u plugintest.User, method, target string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = strings.NewReader(string(data))
	}
	resp := e.Do(u, method, target, r)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// must sends a request that must answer want, and decodes the answer into out
// (unless nil).
func (e *env) must(want int, u plugintest.User, method, target string, body, out any) {
	e.t.Helper()
	status, data := e.call(u, method, target, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, target, u.ID, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %q: %v", method, target, data, err)
		}
	}
}

// problem sends a request that must answer a problem with status and code.
func (e *env) problem(status int, code string, u plugintest.User, method, target string, body any) {
	e.t.Helper()
	got, data := e.call(u, method, target, body)
	var p sdk.Problem
	_ = json.Unmarshal(data, &p)
	if got != status || p.Code != code {
		e.t.Errorf("%s %s as %s: %d %s, want %d %s", method, target, u.ID, got, data, status, code)
	}
}

// project starts a project as u and returns it.
func (e *env) project(u plugintest.User, body map[string]any) projectView {
	e.t.Helper()
	var v projectView
	e.must(http.StatusCreated, u, "POST", "/projects", body, &v)
	return v
}

// task adds a task and returns it.
func (e *env) task(u plugintest.User, pid string, body map[string]any) taskView {
	e.t.Helper()
	var v taskView
	e.must(http.StatusCreated, u, "POST", "/projects/"+pid+"/tasks", body, &v)
	return v
}

// ids returns the ids of projects or tasks.
func ids[T interface{ id() string }](items []T) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.id()
	}
	return out
}

func (v projectView) id() string { return v.ID }
func (v taskView) id() string    { return v.ID }

// published returns the types of the events published so far.
func (e *env) published() []string {
	var types []string
	for _, ev := range e.Published() {
		types = append(types, ev.Type)
	}
	return types
}

// activities returns the activity items the plugin keeps for a project.
func (e *env) activities(pid string) []plugintest.Item {
	e.t.Helper()
	var out []plugintest.Item
	for _, key := range e.KVKeys(activityPrefix(pid)) {
		id, err := lastSegment(key)
		if err != nil {
			e.t.Fatal(err)
		}
		it, ok := e.Item(id)
		if !ok {
			e.t.Fatalf("activity item %s is gone from the host", id)
		}
		out = append(out, it)
	}
	return out
}
