package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pleinhq/plein/core/fault"
)

func newTestServer(t *testing.T, checks ...Check) (*Server, *strings.Builder) {
	t.Helper()
	logs := &strings.Builder{}
	s := New(Config{
		Log:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:   prometheus.NewRegistry(),
		BodyLimit: 1 << 20,
		Checks:    checks,
		Version:   "test",
	})
	return s, logs
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decodeProblem(t *testing.T, resp *http.Response, body []byte) Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, problemJSON) {
		t.Fatalf("content type %q, want %s; body %s", ct, problemJSON, body)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	if p.Status != resp.StatusCode || p.Code == "" || p.Title == "" || !strings.HasPrefix(p.Type, "urn:plein:problem:") {
		t.Fatalf("incomplete problem %+v for status %d", p, resp.StatusCode)
	}
	return p
}

func TestHealthzAnswersWithoutAskingBackends(t *testing.T) {
	s, _ := newTestServer(t, Check{Name: "sql", Backend: "sqlite", Ping: func(context.Context) error { return errors.New("down") }})
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/healthz", nil))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestReadyzListsEveryBackend(t *testing.T) {
	ok := func(context.Context) error { return nil }
	s, _ := newTestServer(t,
		Check{Name: "sql", Backend: "postgres", Ping: ok},
		Check{Name: "blob", Backend: "s3", Ping: ok},
		Check{Name: "redis", Backend: "redis", Ping: ok})
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var got struct {
		Status string                 `json:"status"`
		Checks map[string]checkResult `json:"checks"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "ready" || len(got.Checks) != 3 || got.Checks["sql"].Backend != "postgres" || got.Checks["redis"].Status != "ok" {
		t.Fatalf("%+v", got)
	}
}

func TestReadyzNamesTheFailingBackend(t *testing.T) {
	ok := func(context.Context) error { return nil }
	s, _ := newTestServer(t,
		Check{Name: "sql", Backend: "postgres", Ping: ok},
		Check{Name: "redis", Backend: "redis", Ping: func(context.Context) error { return errors.New("connection refused") }})
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	p := decodeProblem(t, resp, body)
	if p.Code != "not_ready" || !strings.Contains(p.Detail, "redis") || strings.Contains(p.Detail, "sql") {
		t.Fatalf("%+v", p)
	}
	if !strings.Contains(string(body), "connection refused") {
		t.Fatalf("checks missing from %s", body)
	}
}

func TestReadyzGivesUpOnAHangingBackend(t *testing.T) {
	s, _ := newTestServer(t, Check{Name: "blob", Backend: "s3", Ping: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 || !strings.Contains(string(body), "deadline") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestUnknownRouteIsANotFoundProblem(t *testing.T) {
	s, _ := newTestServer(t)
	for _, method := range []string{"GET", "POST", "DELETE"} {
		resp, body := do(t, s.App(), httptest.NewRequest(method, "/api/v1/nothing-here", nil))
		if p := decodeProblem(t, resp, body); p.Status != 404 || p.Code != "not_found" {
			t.Fatalf("%s: %+v", method, p)
		}
	}
}

// withRoute mounts a handler behind the server's real middleware and error handler.
func withRoute(s *Server, path string, h fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: s.errorHandler, Immutable: true})
	app.Use(s.observe, s.recover, securityHeaders)
	app.Get(path, h)
	return app
}

func TestPanicBecomesA500ProblemWithoutTheStack(t *testing.T) {
	s, logs := newTestServer(t)
	app := withRoute(s, "/boom", func(c *fiber.Ctx) error { panic("secret internal state") })
	resp, body := do(t, app, httptest.NewRequest("GET", "/boom", nil))
	p := decodeProblem(t, resp, body)
	if p.Status != 500 || p.Code != "internal" || strings.Contains(string(body), "secret") || strings.Contains(string(body), "goroutine") {
		t.Fatalf("%s", body)
	}
	if !strings.Contains(logs.String(), "secret internal state") || !strings.Contains(logs.String(), p.RequestID) {
		t.Fatal("panic not logged with its request id")
	}
	// The server goes on.
	if resp, _ := do(t, app, httptest.NewRequest("GET", "/boom", nil)); resp.StatusCode != 500 {
		t.Fatal("second request failed differently")
	}
}

func TestFaultsMapToTheirProblems(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fault.Invalidf("title", "must not be empty"), 400, "validation_failed"},
		{fault.New(fault.Unauthenticated, "", "log in"), 401, "unauthenticated"},
		{fault.Forbiddenf("no"), 403, "forbidden"},
		{fault.NotFoundf("item"), 404, "not_found"},
		{fault.New(fault.NotFound, "feature_disabled", "likes is off"), 404, "feature_disabled"},
		{fault.Conflictf("taken"), 409, "conflict"},
		{fault.New(fault.TooLarge, "", "too big"), 413, "payload_too_large"},
		{&fault.Error{Kind: fault.RateLimited, RetryAfter: 1500 * time.Millisecond}, 429, "rate_limited"},
		{fault.New(fault.Unavailable, "plugin_unavailable", "likes is down"), 503, "plugin_unavailable"},
		{context.DeadlineExceeded, 503, "timeout"},
		{fault.Wrap(fault.Internal, "", errors.New("pq: password=x"), "do not show"), 500, "internal"},
		{errors.New("disk on fire"), 500, "internal"},
	} {
		app := withRoute(s, "/e", func(c *fiber.Ctx) error { return tc.err })
		resp, body := do(t, app, httptest.NewRequest("GET", "/e", nil))
		p := decodeProblem(t, resp, body)
		if p.Status != tc.status || p.Code != tc.code {
			t.Errorf("%v: got %d %s, want %d %s", tc.err, p.Status, p.Code, tc.status, tc.code)
		}
		if tc.status == 500 && (p.Detail != "" || strings.Contains(string(body), "password")) {
			t.Errorf("internal error leaked: %s", body)
		}
		if tc.status == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", resp.Header.Get("Retry-After"))
		}
		if tc.code == "validation_failed" && (len(p.Errors) != 1 || p.Errors[0].Name != "title") {
			t.Errorf("field errors %+v", p.Errors)
		}
	}
}

func TestRequestIDIsKeptWhenPlainAndReplacedOtherwise(t *testing.T) {
	s, _ := newTestServer(t)
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-ID", "lb-1234.abc")
	resp, _ := do(t, s.App(), req)
	if got := resp.Header.Get("X-Request-ID"); got != "lb-1234.abc" {
		t.Fatalf("kept id %q", got)
	}
	req = httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-ID", "evil\"\ninjected")
	resp, _ = do(t, s.App(), req)
	if got := resp.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, "\"\n") {
		t.Fatalf("replaced id %q", got)
	}
}

func TestMetricsCountRequestsByRoutePatternAndStatus(t *testing.T) {
	s, _ := newTestServer(t)
	do(t, s.App(), httptest.NewRequest("GET", "/healthz", nil))
	do(t, s.App(), httptest.NewRequest("GET", "/api/v1/no-such-thing/123", nil))
	_, body := do(t, s.App(), httptest.NewRequest("GET", "/metrics", nil))
	text := string(body)
	for _, want := range []string{
		`plein_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`plein_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`plein_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.0005"}`,
		`plein_http_requests_in_flight 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "/api/v1/no-such-thing/123") {
		t.Error("raw paths in metric labels")
	}
}

func TestEveryAnswerCarriesSecurityHeaders(t *testing.T) {
	s, _ := newTestServer(t)
	for _, path := range []string{"/healthz", "/nothing"} {
		resp, _ := do(t, s.App(), httptest.NewRequest("GET", path, nil))
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
}
