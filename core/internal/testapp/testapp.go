// Package testapp runs a real Plein server on loopback for API tests, on SQLite or
// PostgreSQL, with the demo organisation seeded.
package testapp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/app"
	"github.com/pleinhq/plein/core/config"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// Options choose the backends.
type Options struct {
	Postgres    bool   // PostgreSQL instead of SQLite
	DatabaseURL string // a database to share with another Env (replicas); implies Postgres
	RedisURL    string // Redis instead of in-process cache, bus and limits
	RedisPrefix string // defaults to a fresh prefix
	NoDemo      bool   // start empty
	Env         map[string]string
}

// Env is a running server.
type Env struct {
	T     testing.TB
	App   *app.App
	URL   string // http://127.0.0.1:port
	Org   *demo.Org
	DBURL string // the database it uses, for a second replica

	mu     sync.Mutex
	tokens map[string]string // email -> token
	client *http.Client
}

// Each runs fn on SQLite and on PostgreSQL.
func Each(t *testing.T, opts Options, fn func(t *testing.T, e *Env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Start(t, opts)) })
	t.Run("postgres", func(t *testing.T) {
		o := opts
		o.Postgres = true
		fn(t, Start(t, o))
	})
}

// Start builds and serves an app; it is shut down when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	env := map[string]string{"PLEIN_DATA_DIR": t.TempDir(), "PLEIN_LOG_LEVEL": "warn"}
	if opts.DatabaseURL != "" {
		env["PLEIN_DATABASE_URL"] = opts.DatabaseURL
	} else if opts.Postgres {
		env["PLEIN_DATABASE_URL"] = testsvc.PostgresURL(t)
	} else {
		env["PLEIN_DATABASE_URL"] = "sqlite:" + filepath.Join(env["PLEIN_DATA_DIR"], "plein.db")
	}
	if opts.RedisURL != "" {
		env["PLEIN_REDIS_URL"] = opts.RedisURL
		env["PLEIN_REDIS_PREFIX"] = opts.RedisPrefix
		if env["PLEIN_REDIS_PREFIX"] == "" {
			env["PLEIN_REDIS_PREFIX"] = testsvc.Name("t") + ":"
		}
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	cfg, err := config.Load("test", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, "test")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e := &Env{T: t, App: a, DBURL: env["PLEIN_DATABASE_URL"], tokens: map[string]string{},
		client: &http.Client{Timeout: 30 * time.Second}}
	if !opts.NoDemo && opts.DatabaseURL == "" {
		org, err := demo.Seed(ctx, demo.Services{Users: a.Users, Spaces: a.Spaces, Content: a.Content}, "plein-demo")
		if err != nil {
			cancel()
			_ = a.Close()
			t.Fatal(err)
		}
		e.Org = org
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.URL = "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = a.Close()
	})
	return e
}

// testWriter sends the server's logs to the test log, shown on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Token returns a bearer token of the demo user with this email (issued once, without
// the password hashing of a login).
func (e *Env) Token(email string) string {
	e.T.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if tok, ok := e.tokens[email]; ok {
		return tok
	}
	id, err := e.App.Users.UserIDByEmail(context.Background(), email)
	if err != nil {
		e.T.Fatalf("token for %s: %v", email, err)
	}
	s, err := e.App.Users.IssueToken(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	e.tokens[email] = s.Token
	return s.Token
}

// UserID returns the id of a demo user.
func (e *Env) UserID(email string) string {
	e.T.Helper()
	id, err := e.App.Users.UserIDByEmail(context.Background(), email)
	if err != nil {
		e.T.Fatal(err)
	}
	return id
}

// SpaceID returns the id of a demo space by name.
func (e *Env) SpaceID(name string) string {
	e.T.Helper()
	sp, ok := e.Org.Spaces[name]
	if !ok {
		e.T.Fatalf("no demo space %q", name)
	}
	return sp.ID
}

// Response is an answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d body %q: %v", r.Status, r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(t testing.TB) map[string]any {
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Form is a multipart/form-data body with one file.
type Form struct {
	Fields   map[string]string
	FileName string
	File     []byte
}

// encode returns the form's body and its Content-Type.
func (f Form) encode() ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range f.Fields {
		_ = w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", f.FileName)
	_, _ = fw.Write(f.File)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// Do sends a request with token (none if empty) and body (JSON-encoded unless it is
// already []byte, a Form, or nil).
func (e *Env) Do(method, path, token string, body any) Response {
	e.T.Helper()
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case Form:
		var data []byte
		data, contentType = b.encode()
		r = bytes.NewReader(data)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// As sends a request as the demo user with this email.
func (e *Env) As(email, method, path string, body any) Response {
	e.T.Helper()
	return e.Do(method, path, e.Token(email), body)
}
