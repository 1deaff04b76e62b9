package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

var (
	ann   = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob   = plugintest.User{ID: "bob", Roles: []string{"employee", "dept-finance"}}
	carol = plugintest.User{ID: "carol", Roles: []string{"employee"}}
	ext   = plugintest.User{ID: "ext", Roles: []string{"external"}}
)

// clock is a settable clock, safe for the plugin's handlers to read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// fixture is the plugin under plugintest, with its clock.
type fixture struct {
	*plugintest.Harness
	t     *testing.T
	p     *Plugin
	clock *clock
}

// start runs the plugin with settings ("" for none); the plugin's clock and the
// host's KV clock move together with advance.
func start(t *testing.T, settings string) *fixture {
	t.Helper()
	p := New()
	c := &clock{t: time.Now()}
	p.now = c.now
	opts := plugintest.Options{}
	if settings != "" {
		opts.Settings = json.RawMessage(settings)
	}
	return &fixture{Harness: plugintest.New(t, p, opts), t: t, p: p, clock: c}
}

func (f *fixture) advance(d time.Duration) {
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(d)
	f.clock.mu.Unlock()
	f.Advance(d)
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
}

func (r reply) problem(t *testing.T) sdk.Problem {
	t.Helper()
	var p sdk.Problem
	r.decode(t, &p)
	return p
}

// do sends a request as u with body encoded as JSON (nil for none).
func (f *fixture) do(u plugintest.User, method, target string, body any) reply {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	return f.send(u, httptest.NewRequest(method, target, r))
}

// httpRequest is a request with a raw body.
func httpRequest(method, target string, body []byte) *http.Request {
	return httptest.NewRequest(method, target, bytes.NewReader(body))
}

func (f *fixture) send(u plugintest.User, req *http.Request) reply {
	f.t.Helper()
	resp := f.DoRequest(u, req)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// form builds a multipart upload body: fields, then the file.
func form(t *testing.T, fields map[string]string, filename string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "" {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

// upload stores a file as u in parent ("" for the root) and returns the answer.
func (f *fixture) upload(u plugintest.User, parent, filename string, data []byte) reply {
	f.t.Helper()
	fields := map[string]string{}
	if parent != "" {
		fields["parent_id"] = parent
	}
	body, ct := form(f.t, fields, filename, data)
	req := httptest.NewRequest("POST", "/me/files", body)
	req.Header.Set("Content-Type", ct)
	return f.send(u, req)
}

// mustUpload uploads and returns the new file.
func (f *fixture) mustUpload(u plugintest.User, parent, filename string, data []byte) View {
	f.t.Helper()
	r := f.upload(u, parent, filename, data)
	if r.status != http.StatusCreated {
		f.t.Fatalf("upload %s: %d %s", filename, r.status, r.body)
	}
	var v View
	r.decode(f.t, &v)
	return v
}

// mkdir creates a folder as u and returns it.
func (f *fixture) mkdir(u plugintest.User, parent, name string) View {
	f.t.Helper()
	body := map[string]any{"name": name}
	if parent != "" {
		body["parent_id"] = parent
	}
	r := f.do(u, "POST", "/folders", body)
	if r.status != http.StatusCreated {
		f.t.Fatalf("mkdir %s: %d %s", name, r.status, r.body)
	}
	var v View
	r.decode(f.t, &v)
	return v
}

// me returns GET /me for u.
func (f *fixture) me(u plugintest.User) Me {
	f.t.Helper()
	var m Me
	r := f.do(u, "GET", "/me", nil)
	if r.status != 200 {
		f.t.Fatalf("GET /me: %d %s", r.status, r.body)
	}
	r.decode(f.t, &m)
	return m
}

// names lists the names in a page of views.
func names(items []View) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = v.Name
	}
	return out
}
