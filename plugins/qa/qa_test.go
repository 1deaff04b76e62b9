package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// The cast: ann asks, bob is a colleague, hal and ida staff the helpdesk of space
// "it"; "kb" is a space without a helpdesk.
var (
	ann = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob = plugintest.User{ID: "bob", Roles: []string{"employee"}}
	hal = plugintest.User{ID: "hal", Roles: []string{"employee", "helpdesk"}}
	ida = plugintest.User{ID: "ida", Roles: []string{"employee", "helpdesk"}}
)

const helpdeskSettings = `{"helpdesk_spaces":{"it":{"role":"helpdesk"}}}`

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

// env is a plugin under test with its clock.
type env struct {
	t     *testing.T
	h     *plugintest.Harness
	clock *clock
}

func start(t *testing.T, settings string) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	p := New()
	p.now = c.now
	h := plugintest.New(t, p, plugintest.Options{Settings: json.RawMessage(settings)})
	return &env{t: t, h: h, clock: c}
}

// do sends a request with body encoded as JSON (nil: none) and answers the status
// and the body.
func (e *env) do(u plugintest.User, method, target string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	resp := e.h.Do(u, method, target, r)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// must sends a request and decodes the answer into a T, failing unless the status
// is want.
func must[T any](e *env, want int, u plugintest.User, method, target string, body any) T {
	e.t.Helper()
	status, data := e.do(u, method, target, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, target, u.ID, status, data, want)
	}
	var v T
	if len(data) > 0 {
		if err := json.Unmarshal(data, &v); err != nil {
			e.t.Fatalf("%s %s: %q: %v", method, target, data, err)
		}
	}
	return v
}

// refused sends a request and fails unless it answers a problem with status and code.
func (e *env) refused(u plugintest.User, method, target string, body any, status int, code string) {
	e.t.Helper()
	got, data := e.do(u, method, target, body)
	var p sdk.Problem
	if err := json.Unmarshal(data, &p); err != nil || got != status || p.Code != code || p.Type != sdk.ProblemType(code) {
		e.t.Errorf("%s %s as %s: %d %s, want %d %s", method, target, u.ID, got, data, status, code)
	}
}

func (e *env) ask(u plugintest.User, space, title, body string, tags ...string) questionView {
	e.t.Helper()
	return must[questionView](e, 201, u, "POST", "/questions", map[string]any{"space_id": space, "title": title, "body": body, "tags": tags})
}

func (e *env) answer(u plugintest.User, q, body string) answerView {
	e.t.Helper()
	return must[answerView](e, 201, u, "POST", "/questions/"+q+"/answers", map[string]string{"body": body})
}

func (e *env) get(u plugintest.User, q string) questionDetail {
	e.t.Helper()
	return must[questionDetail](e, 200, u, "GET", "/questions/"+q, nil)
}

func answerIDs(as []answerView) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return strings.Join(ids, ",")
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, s := range []string{
		`{"helpdesk_spaces":{"it":{"role":"Help Desk"}}}`,
		`{"helpdesk_spaces":{"it":{}}}`,
		`{"helpdesk_spaces":{"":{"role":"helpdesk"}}}`,
		`{"helpdesk_spaces":{"a/b":{"role":"helpdesk"}}}`,
		`{"helpdesk_spaces":{"it":{"role":"helpdesk","colour":"red"}}}`,
		`{"helpdesk_spaces":["it"]}`,
		`{"colour":"red"}`,
	} {
		if _, err := plugintest.Start(t, New(), plugintest.Options{Settings: json.RawMessage(s)}); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("settings %s: %v, want ErrInvalid", s, err)
		}
	}
	if _, err := plugintest.Start(t, New(), plugintest.Options{Settings: json.RawMessage(helpdeskSettings)}); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "kb", "Where is the style guide?", "I need the new letter template.").ID
	long := strings.Repeat("x", 301)
	tests := []struct {
		user   plugintest.User
		method string
		target string
		body   any
		status int
		code   string
	}{
		{plugintest.User{}, "GET", "/questions?space=kb", nil, 401, "unauthenticated"},
		{ann, "GET", "/questions", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&status=closed", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&limit=0", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&limit=101", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&sort=old", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&space=it", nil, 400, "validation_failed"},
		{ann, "GET", "/questions?space=kb&cursor=" + strings.Repeat("c", 300), nil, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"title": "t", "body": "b"}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": " ", "body": "b"}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": long, "body": "b"}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t\x07", "body": "b"}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t", "body": ""}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t", "body": strings.Repeat("b", 65<<10)}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t", "body": "b", "tags": []string{"two words"}}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t", "body": "b", "tags": strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")}, 400, "validation_failed"},
		{ann, "POST", "/questions", map[string]any{"space_id": "kb", "title": "t", "body": "b", "colour": "red"}, 400, "validation_failed"},
		{ann, "POST", "/questions", []int{1}, 400, "validation_failed"},
		{ann, "GET", "/questions/similar", nil, 400, "validation_failed"},
		{ann, "GET", "/questions/similar?q=%3F%21", nil, 400, "validation_failed"},
		{ann, "GET", "/questions/similar?q=vpn&limit=21", nil, 400, "validation_failed"},
		{ann, "GET", "/questions/similar?q=" + strings.Repeat("a", 201), nil, 400, "validation_failed"},
		{ann, "GET", "/questions/no-such-question", nil, 404, "not_found"},
		{ann, "GET", "/questions/" + q + "?full=1", nil, 400, "validation_failed"},
		{ann, "GET", "/questions/" + q + "/answers?cursor=-1", nil, 400, "validation_failed"},
		{ann, "GET", "/questions/" + q + "/answers?cursor=x", nil, 400, "validation_failed"},
		{ann, "POST", "/questions/" + q + "/answers", map[string]any{"body": " \n"}, 400, "validation_failed"},
		{ann, "PUT", "/questions/" + q + "/accepted", map[string]any{}, 400, "validation_failed"},
		{ann, "PUT", "/questions/" + q + "/accepted", map[string]any{"answer_id": "nope"}, 400, "validation_failed"},
		{ann, "PUT", "/questions/" + q + "/status", map[string]any{"status": "closed"}, 400, "validation_failed"},
		{ann, "PUT", "/questions/" + q + "/answers/nope/vote", map[string]any{"value": 1}, 404, "not_found"},
		{ann, "GET", "/stats", nil, 400, "validation_failed"},
		{ann, "POST", "/stats", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		e.refused(tt.user, tt.method, tt.target, tt.body, tt.status, tt.code)
	}
}

// plugintestItem is a core item everyone may read.
func plugintestItem(kind, space, title string) plugintest.Item {
	return plugintest.Item{Item: sdk.Item{Kind: kind, SpaceID: space, Title: title, Body: title}, Public: true}
}
