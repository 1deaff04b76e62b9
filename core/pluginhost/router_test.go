package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
)

// echo is an in-process test plugin: its routes answer who called and how, its
// decoration names the viewer, and its event handler records what it got, failing
// the events it is told to fail.
type echo struct {
	name       string
	host       *sdk.Host
	decorate   func(ctx context.Context) error // nil: decorate at once
	noDecorate bool

	mu      sync.Mutex
	fail    map[string]int // event id -> failures left
	handled []string
}

func newEcho(name string) *echo { return &echo{name: name, fail: map[string]int{}} }

func (p *echo) Manifest() sdk.Manifest {
	m := sdk.Manifest{Name: p.name, Title: "Echo " + p.name, Version: "1.2.3", Routes: []sdk.Route{
		{Method: "GET", Path: "/whoami", Permission: sdk.PermissionAuthenticated},
		{Method: "POST", Path: "/upload", Permission: sdk.PermissionAuthenticated},
		{Method: "GET", Path: "/slow", Permission: sdk.PermissionAuthenticated},
		{Method: "GET", Path: "/items/{item_id}/read", Permission: "read"},
		{Method: "POST", Path: "/items/{item_id}/moderate", Permission: "moderate"},
		{Method: "GET", Path: "/spaces/{space_id}/create", Permission: "create"},
		{Method: "GET", Path: "/use", Permission: "use"},
	}, Events: []string{EventItemDeleted, p.name + ".ping"}}
	if !p.noDecorate {
		m.Decorations = []string{"seen_by"}
	}
	return m
}

func (p *echo) Init(_ context.Context, h *sdk.Host, _ json.RawMessage) error {
	p.host = h
	return nil
}

func (p *echo) Handler() http.Handler {
	mux := http.NewServeMux()
	who := func(w http.ResponseWriter, r *http.Request) {
		c := sdk.CallFrom(r.Context())
		// A host call with the request's handle: it must act as the user.
		if _, err := p.host.KV().Put(r.Context(), "last/"+c.UserID, []byte(r.URL.Path)); err != nil {
			_ = sdk.WriteProblem(w, 500, "kv", err.Error())
			return
		}
		w.Header().Set("Set-Cookie", "stolen=1")
		w.Header().Set("X-Echo", "yes")
		_ = sdk.WriteJSON(w, 200, map[string]any{"user": c.UserID, "roles": c.Roles, "request_id": c.RequestID,
			"headers": r.Header, "path": r.URL.Path, "item": r.PathValue("item_id")})
	}
	for _, path := range []string{"GET /whoami", "GET /items/{item_id}/read", "POST /items/{item_id}/moderate", "GET /spaces/{space_id}/create", "GET /use"} {
		mux.HandleFunc(path, who)
	}
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			_ = sdk.WriteProblem(w, 400, "bad_body", err.Error())
			return
		}
		_ = sdk.WriteJSON(w, 200, map[string]int64{"n": n})
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(2 * time.Second) // deaf to its deadline: the host must cut it off
		w.WriteHeader(204)
	})
	return mux
}

func (p *echo) Decorate(ctx context.Context, items []sdk.ItemRef) (map[string]json.RawMessage, error) {
	if p.decorate != nil {
		if err := p.decorate(ctx); err != nil {
			return nil, err
		}
	}
	c := sdk.CallFrom(ctx)
	if _, err := p.host.KV().BatchGet(ctx, []string{"x"}); err != nil { // one host call as the viewer
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, it := range items {
		out[it.ID] = json.RawMessage(fmt.Sprintf(`{"seen_by":%q}`, c.UserID))
	}
	return out, nil
}

func (p *echo) HandleEvent(_ context.Context, e sdk.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail[e.ID] > 0 {
		p.fail[e.ID]--
		return errors.New("not now")
	}
	p.handled = append(p.handled, e.ID)
	return nil
}

func (p *echo) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.handled...)
}

// setRecord changes the desired state the host routes by.
func setRecord(h *Host, name string, f func(*Record)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec := h.records[name]
	f(&rec)
	h.records[name] = rec
}

// do routes a request and returns the status and body, or the error.
func do(h *Host, p *authz.Principal, method, path string, header http.Header, body io.Reader, length int64) (int, http.Header, []byte, error) {
	if header == nil {
		header = http.Header{}
	}
	resp, err := h.Route(context.Background(), Request{Principal: p, Plugin: "echo", RequestID: "req-7", Method: method, Path: path,
		Header: header, Body: body, ContentLength: length})
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.Status, resp.Header, data, err
}

func TestRouteChecksTheFeatureTheRouteAndThePermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	cfg := e.config(t)
	cfg.BodyLimit = 1000
	h := newHost(t, cfg)
	in := serveInProcess(t, h, Record{Spaces: []string{"s1", "s2"}}, newEcho("echo"))
	e.az.read("ann", "s1", "s3")
	e.az.read("mod", "s1")
	e.az.allow("mod", authz.Space("s1"), "content", "moderate")
	e.az.allow("mod", authz.Space("s1"), "content", "create")
	e.az.allow("mod", authz.Global, PluginObject("echo"), "use")
	ann, mod, carl := principal("ann", "employee"), principal("mod", "employee"), principal("carl", "employee")
	inS1 := e.items.add(sdk.Item{Kind: "post", SpaceID: "s1", Title: "in s1"})
	inS3 := e.items.add(sdk.Item{Kind: "post", SpaceID: "s3", Title: "in s3"})
	secret := e.items.add(sdk.Item{Kind: "post", SpaceID: "s2", Title: "secret"})

	tests := []struct {
		name   string
		p      *authz.Principal
		method string
		path   string
		code   string // fault code; "" for 200
	}{
		{"any user", ann, "GET", "/whoami", ""},
		{"no such route", ann, "GET", "/nothing", "not_found"},
		{"wrong method", ann, "DELETE", "/whoami", "not_found"},
		{"a path net/http redirects", ann, "GET", "/items/../whoami", "not_found"},
		{"item readable", ann, "GET", "/items/" + inS1 + "/read", ""},
		{"item unreadable", ann, "GET", "/items/" + secret + "/read", "not_found"},
		{"item missing", ann, "GET", "/items/nope/read", "not_found"},
		{"item outside the plugin's spaces", ann, "GET", "/items/" + inS3 + "/read", "feature_disabled"},
		{"moderate as a reader", ann, "POST", "/items/" + inS1 + "/moderate", "forbidden"},
		{"moderate as a moderator", mod, "POST", "/items/" + inS1 + "/moderate", ""},
		{"create without the right", ann, "GET", "/spaces/s1/create", "forbidden"},
		{"create with it", mod, "GET", "/spaces/s1/create", ""},
		{"create in an invisible space", mod, "GET", "/spaces/s2/create", "not_found"},
		{"global permission missing", ann, "GET", "/use", "forbidden"},
		{"global permission held", mod, "GET", "/use", ""},
		{"user reading none of its spaces", carl, "GET", "/whoami", "feature_disabled"},
		{"no user", nil, "GET", "/whoami", "unauthenticated"},
	}
	for _, tt := range tests {
		status, _, body, err := do(h, tt.p, tt.method, tt.path, nil, nil, 0)
		switch {
		case tt.code == "" && (err != nil || status != 200):
			t.Errorf("%s: %d %s %v", tt.name, status, body, err)
		case tt.code != "" && (fault.As(err) == nil || fault.As(err).Code != tt.code):
			t.Errorf("%s: %d %v, want %s", tt.name, status, err, tt.code)
		}
	}

	// What reaches the plugin, and what comes back.
	hdr := http.Header{"Authorization": {"Bearer secret"}, "Cookie": {"session=1"}, "Connection": {"close"}, "Accept": {"application/json"}}
	status, respHdr, body, err := do(h, ann, "GET", "/whoami", hdr, nil, 0)
	if err != nil || status != 200 {
		t.Fatal(status, err)
	}
	var seen struct {
		User      string      `json:"user"`
		RequestID string      `json:"request_id"`
		Roles     []string    `json:"roles"`
		Headers   http.Header `json:"headers"`
	}
	if err := json.Unmarshal(body, &seen); err != nil {
		t.Fatal(err)
	}
	if seen.User != "ann" || seen.RequestID != "req-7" || len(seen.Roles) != 1 || seen.Headers.Get("Authorization") != "" || seen.Headers.Get("Cookie") != "" ||
		seen.Headers.Get("Connection") != "" || seen.Headers.Get("Accept") != "application/json" || seen.Headers.Get("X-Request-Id") != "req-7" {
		t.Fatalf("the plugin saw %s", body)
	}
	if respHdr.Get("Set-Cookie") != "" || respHdr.Get("X-Echo") != "yes" {
		t.Fatalf("response header %v", respHdr)
	}
	if n := liveCalls(h.calls); n != 0 {
		t.Fatalf("%d call handles outlived their requests", n)
	}

	// Bodies: streamed, capped.
	if status, _, body, err := do(h, ann, "POST", "/upload", nil, strings.NewReader(strings.Repeat("x", 900)), -1); err != nil || string(body) != "{\"n\":900}\n" {
		t.Fatalf("upload: %d %s %v", status, body, err)
	}
	if _, _, _, err := do(h, ann, "POST", "/upload", nil, strings.NewReader(strings.Repeat("x", 1001)), 1001); !fault.Is(err, fault.TooLarge) {
		t.Fatalf("declared too large: %v", err)
	}
	if status, _, body, _ := do(h, ann, "POST", "/upload", nil, strings.NewReader(strings.Repeat("x", 5000)), -1); status != 400 {
		t.Fatalf("streamed past the limit: %d %s", status, body)
	}

	// Scope and state.
	setRecord(h, "echo", func(r *Record) { r.Roles = []string{"staff"} })
	if _, _, _, err := do(h, ann, "GET", "/whoami", nil, nil, 0); !errors.Is(err, ErrFeatureDisabled) {
		t.Fatalf("a role the plugin is not on for: %v", err)
	}
	if _, _, _, err := do(h, principal("ann", "staff"), "GET", "/whoami", nil, nil, 0); err != nil {
		t.Fatalf("a role it is on for: %v", err)
	}
	setRecord(h, "echo", func(r *Record) { r.Roles, r.Enabled = nil, false })
	if _, _, _, err := do(h, ann, "GET", "/whoami", nil, nil, 0); !errors.Is(err, ErrFeatureDisabled) {
		t.Fatalf("disabled: %v", err)
	}
	setRecord(h, "echo", func(r *Record) { r.Enabled = true })
	in.mu.Lock()
	in.state = StateStarting
	in.mu.Unlock()
	_, _, _, err = do(h, ann, "GET", "/whoami", nil, nil, 0)
	if fe := fault.As(err); fe == nil || fe.Code != "plugin_unavailable" || fe.Kind != fault.Unavailable || fe.RetryAfter == 0 {
		t.Fatalf("not running: %v", err)
	}
	if _, err := h.Route(context.Background(), Request{Principal: ann, Plugin: "nothing", Method: "GET", Path: "/"}); !errors.Is(err, ErrFeatureDisabled) {
		t.Fatalf("unknown plugin: %v", err)
	}
}

func TestRouteDeadlineEndsASlowRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	cfg := e.config(t)
	cfg.RequestTimeout = 200 * time.Millisecond
	h := newHost(t, cfg)
	serveInProcess(t, h, Record{}, newEcho("echo"))
	start := time.Now()
	_, _, _, err := do(h, principal("ann"), "GET", "/slow", nil, nil, 0)
	if fe := fault.As(err); fe == nil || fe.Code != "plugin_unavailable" || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("slow request: %v after %v", err, time.Since(start))
	}
	if liveCalls(h.calls) != 0 {
		t.Fatal("the call handle outlived the request")
	}
}

func TestDecorationsMergeAndASlowPluginLosesOnlyItsOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	cfg := e.config(t)
	cfg.DecorateTimeout = time.Second // generous for a loaded CI machine; the slow plugin waits it out
	h := newHost(t, cfg)
	serveInProcess(t, h, Record{}, newEcho("echo"))
	scoped := newEcho("scoped")
	serveInProcess(t, h, Record{Spaces: []string{"s1"}}, scoped)
	slow := newEcho("slow")
	slow.decorate = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	serveInProcess(t, h, Record{}, slow)
	broken := newEcho("broken")
	broken.decorate = func(context.Context) error { return errors.New("broken") }
	serveInProcess(t, h, Record{}, broken)
	staff := newEcho("staff")
	serveInProcess(t, h, Record{Roles: []string{"staff"}}, staff)
	plain := newEcho("plain")
	plain.noDecorate = true
	serveInProcess(t, h, Record{}, plain)

	items := []sdk.ItemRef{{ID: "i1", Kind: "post", SpaceID: "s1"}, {ID: "i2", Kind: "post", SpaceID: "s2"}}
	start := time.Now()
	got := h.Decorate(context.Background(), principal("ann", "employee"), "req-1", items)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("decorations took %v with a 1 s budget", took)
	}
	want := map[string]map[string]string{
		"i1": {"echo": `{"seen_by":"ann"}`, "scoped": `{"seen_by":"ann"}`},
		"i2": {"echo": `{"seen_by":"ann"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("decorations %v", got)
	}
	for id, fields := range want {
		if len(got[id]) != len(fields) {
			t.Fatalf("item %s: %s", id, got[id])
		}
		for plugin, v := range fields {
			if string(got[id][plugin]) != v {
				t.Fatalf("item %s, plugin %s: %s", id, plugin, got[id][plugin])
			}
		}
	}
	if liveCalls(h.calls) != 0 {
		t.Fatal("decoration handles outlived the decoration")
	}
	if got := h.Decorate(context.Background(), nil, "r", items); len(got) != 0 {
		t.Fatalf("decorations without a user: %v", got)
	}
}

func TestFeaturesListWhatIsOnForTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	h := newHost(t, e.config(t))
	serveInProcess(t, h, Record{}, newEcho("everywhere"))
	serveInProcess(t, h, Record{Spaces: []string{"s1", "s2"}}, newEcho("some"))
	serveInProcess(t, h, Record{Roles: []string{"staff"}}, newEcho("staff"))
	serveInProcess(t, h, Record{}, newEcho("off"))
	setRecord(h, "off", func(r *Record) { r.Enabled = false })
	e.az.read("ann", "s1")

	names := func(fs []Feature) string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s:%v", f.Name, f.Spaces))
		}
		return strings.Join(out, " ")
	}
	ann := principal("ann", "employee")
	if got := names(h.Features(ann, "")); got != "everywhere:[] some:[s1]" {
		t.Fatalf("ann's features: %s", got)
	}
	if got := names(h.Features(ann, "s2")); got != "everywhere:[]" {
		t.Fatalf("ann's features in s2: %s", got)
	}
	if got := names(h.Features(principal("bob", "staff"), "")); got != "everywhere:[] staff:[]" {
		t.Fatalf("bob's features: %s", got)
	}
	f := h.Features(ann, "")[0]
	if b, _ := json.Marshal(f); string(b) != `{"name":"everywhere","title":"Echo everywhere","version":"1.2.3","spaces":null}` {
		t.Fatalf("feature JSON %s", b)
	}
}
