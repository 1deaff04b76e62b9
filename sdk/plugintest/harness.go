package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/internal/rpcguard"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// hostBrokerID is the broker id the harness announces in Configure.
const hostBrokerID = 1

// Options configure a Harness.
type Options struct {
	// Settings is the settings object Init gets; nil means {}.
	Settings json.RawMessage
	// Logger receives the plugin's and the harness's logs; nil logs to t.Log.
	Logger *slog.Logger
}

// Harness is a plugin running against an in-memory Host. Its methods act as the
// host would and fail the test when the plugin cannot be reached.
type Harness struct {
	*Host
	t        testing.TB
	client   *pluginrpc.Client
	manifest sdk.Manifest
	routes   *http.ServeMux // the manifest's routes, to refuse the others
}

// New starts p with opts.Settings and returns the harness; it fails the test if the
// manifest is invalid or Init fails. Everything stops when the test ends.
func New(t testing.TB, p sdk.Plugin, opts Options) *Harness {
	t.Helper()
	h, err := Start(t, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Start is New returning Init's error (for tests of settings validation) instead of
// failing the test; the harness is usable for everything but requests until a
// Configure succeeds.
func Start(t testing.TB, p sdk.Plugin, opts Options) (*Harness, error) {
	t.Helper()
	m := p.Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	log := opts.Logger
	if log == nil {
		log = Logger(t)
	}
	h := &Harness{Host: NewHost(m.Name), t: t, manifest: m, routes: http.NewServeMux()}
	for _, r := range m.Routes {
		h.routes.Handle(r.Pattern(), http.NotFoundHandler())
	}

	hostSrv := pluginrpc.NewHostServer(h.Service(), log)
	hostLis := serve(t, hostSrv)
	var conns []*grpc.ClientConn
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	dialHost := func(id uint32) (*grpc.ClientConn, error) {
		if id != hostBrokerID {
			return nil, fmt.Errorf("no host on broker id %d", id)
		}
		c, err := dial(hostLis)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
		return c, nil
	}
	pluginLis := serve(t, sdk.NewGRPCServer(p, dialHost, log))
	conn, err := dial(pluginLis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h.client = pluginrpc.NewClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h, h.client.Configure(ctx, opts.Settings, hostBrokerID)
}

// serve serves s on an in-memory listener until the test ends.
func serve(t testing.TB, s *grpc.Server) *bufconn.Listener {
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis
}

// dial connects to an in-memory listener with the protocol's message limits.
func dial(lis *bufconn.Listener) (*grpc.ClientConn, error) {
	opts := append(rpcguard.DialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	)
	return grpc.NewClient("passthrough:///plugintest", opts...)
}

// Client returns the host-side client of the plugin, for what the other methods do
// not cover (Health, a Decorate expected to fail).
func (h *Harness) Client() *pluginrpc.Client { return h.client }

// Manifest returns the plugin's manifest.
func (h *Harness) Manifest() sdk.Manifest { return h.manifest }

// Do sends a request to the plugin as user u, through the streaming HandleHTTP path.
// target is the path after /api/v1/plugins/<name>, with any query; body may be nil.
// A route missing from the manifest answers 404 without reaching the plugin, as on
// the host; a request the plugin cannot be sent (a header that is not UTF-8) answers
// 400, and a plugin that gives no answer 503. The response body streams; the harness
// closes it when the test ends.
func (h *Harness) Do(u User, method, target string, body io.Reader) *http.Response {
	h.t.Helper()
	return h.DoRequest(u, httptest.NewRequest(method, target, body))
}

// DoRequest is Do for a request built by the test, e.g. with headers. Its URL's path
// and query, header and body are sent; credentials are not stripped.
func (h *Harness) DoRequest(u User, r *http.Request) *http.Response {
	h.t.Helper()
	if _, pattern := h.routes.Handler(r); pattern == "" {
		return problemResponse(r, http.StatusNotFound, "not_found", "no such route in the manifest")
	}
	call := h.BeginCall(u)
	ctx, cancel := context.WithDeadline(context.Background(), call.Deadline)
	header := r.Header.Clone()
	header.Set("X-Request-Id", call.RequestID)
	req := &pluginrpc.HTTPRequest{
		Call: call, Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: header, ContentLength: r.ContentLength,
	}
	if r.Body != nil && r.Body != http.NoBody {
		req.Body = r.Body
		if req.ContentLength == 0 {
			req.ContentLength = -1
		}
	}
	resp, err := h.client.HandleHTTP(ctx, req)
	if err != nil {
		cancel()
		h.EndCall(call)
		h.t.Logf("plugintest: %s %s: %v", r.Method, r.URL, err)
		if errors.Is(err, sdk.ErrInvalid) {
			return problemResponse(r, http.StatusBadRequest, "validation_failed", err.Error())
		}
		return problemResponse(r, http.StatusServiceUnavailable, "plugin_unavailable", err.Error())
	}
	var once sync.Once
	body := &closer{Reader: resp.Body, close: func() {
		once.Do(func() {
			_ = resp.Body.Close()
			cancel()
			h.EndCall(call)
		})
	}}
	h.t.Cleanup(body.close)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)), StatusCode: resp.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: resp.Header, Body: body, ContentLength: -1, Request: r,
	}
}

// closer is a response body with its own Close.
type closer struct {
	io.Reader
	close func()
}

func (c *closer) Close() error {
	c.close()
	return nil
}

// problemResponse is the host's answer when a request does not reach the plugin.
func problemResponse(r *http.Request, status int, code, detail string) *http.Response {
	body, _ := json.Marshal(sdk.Problem{Type: sdk.ProblemType(code), Title: http.StatusText(status), Status: status, Detail: detail, Code: code})
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/problem+json"}},
		Body:   io.NopCloser(strings.NewReader(string(body))), ContentLength: int64(len(body)), Request: r,
	}
}

// Decorate asks the plugin for its fields on items as user u sees them, and fails
// the test if the plugin answers an error.
func (h *Harness) Decorate(u User, items ...sdk.ItemRef) map[string]json.RawMessage {
	h.t.Helper()
	if m := h.Manifest(); len(m.Fields) > 0 {
		return h.Host.fields(m.Fields, u.ID, items)
	}
	call := h.BeginCall(u)
	defer h.EndCall(call)
	ctx, cancel := context.WithDeadline(context.Background(), call.Deadline)
	defer cancel()
	fields, err := h.client.Decorate(ctx, call, items)
	if err != nil {
		h.t.Fatalf("plugintest: decorate: %v", err)
	}
	return fields
}

// Deliver hands events to the plugin and returns the ids it handled. Events without
// an ID or Time get one. It fails the test if the plugin answers an error.
func (h *Harness) Deliver(events ...sdk.Event) []string {
	h.t.Helper()
	for i := range events {
		if events[i].ID == "" {
			events[i].ID = fmt.Sprintf("test-event-%d", i+1)
		}
		if events[i].Time.IsZero() {
			events[i].Time = time.Now()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	handled, err := h.client.Deliver(ctx, events)
	if err != nil {
		h.t.Fatalf("plugintest: deliver: %v", err)
	}
	return handled
}
