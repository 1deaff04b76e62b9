package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pleinhq/plein/core/fault"
)

type localKey int

const (
	keyRequestID localKey = iota
	keyUnmatched
	keyBodyHandedOff // a *handedOffBody: another goroutine reads the request body
)

const headerRequestID = "X-Request-ID"

// requestID returns the request's id, set by observe.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(keyRequestID).(string)
	return id
}

// routeOf returns the route pattern that served c, for metrics and logs (never the raw
// path, which would make one time series per item id).
func routeOf(c *fiber.Ctx) string {
	if c.Locals(keyUnmatched) != nil {
		return "unmatched"
	}
	return c.Route().Path
}

// validRequestID accepts a client's id if it is short and plain, so logs stay clean.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// quietRoutes are probed every few seconds; their access logs go to debug.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observe is the outermost middleware: request id, error rendering, metrics, access log.
// It renders errors itself (instead of leaving that to Fiber) so that the status it
// records and logs is the one the client gets.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Locals(keyRequestID, id)
	c.Set(headerRequestID, id)
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()

	if err := c.Next(); err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}

	status := c.Response().StatusCode()
	route := routeOf(c)
	elapsed := time.Since(start)
	s.metrics.observe(c.Method(), route, status, elapsed)
	level := slog.LevelInfo
	if quietRoutes[route] && status < 500 {
		level = slog.LevelDebug
	}
	s.log.LogAttrs(c.UserContext(), level, "request",
		slog.String("request_id", id),
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("ms", float64(elapsed.Microseconds())/1000),
		slog.String("ip", c.IP()),
	)
	return nil
}

// recover turns a handler's panic into a 500 problem and a log line with the stack;
// the client never sees the stack.
func (s *Server) recover(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "panic", fmt.Sprint(r), "request_id", requestID(c), "stack", string(debug.Stack()))
			err = fault.Wrap(fault.Internal, "internal", fmt.Errorf("panic: %v", r), "")
		}
	}()
	return c.Next()
}

// securityHeaders sets headers every API answer carries. Handlers that serve files
// replace Cache-Control and the CSP with their own.
// closeUnreadBody keeps what a client sent after the part of a body a handler read from
// being taken as the next request on the connection (request smuggling): fasthttp
// drops an unread streamed body and reads on. A handler that failed, or left more than
// a little unread, ends the connection; a small rest is read away.
func closeUnreadBody(c *fiber.Ctx) error {
	err := c.Next()
	if !c.Request().IsBodyStream() {
		return err
	}
	st := c.Context().RequestBodyStream()
	if st == nil {
		return err
	}
	if h, ok := c.Locals(keyBodyHandedOff).(*handedOffBody); ok {
		// Someone else may still be reading it: never read here, and keep the
		// connection only if the body was read to its end.
		if !h.done.Load() {
			c.Context().SetConnectionClose()
		}
		return err
	}
	if err == nil {
		if conn := c.Context().Conn(); conn != nil {
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		}
		if n, rerr := io.CopyN(io.Discard, st, maxUnread+1); rerr == io.EOF && n <= maxUnread {
			return nil
		}
	}
	c.Context().SetConnectionClose()
	return err
}

// handedOffBody is a request body given to another goroutine (a plugin's request
// stream); it records whether the body was read to its end.
type handedOffBody struct {
	r    io.Reader
	done atomic.Bool
}

func (h *handedOffBody) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF {
		h.done.Store(true)
	}
	return n, err
}

// handOffBody returns the request body for another goroutine to read, and tells
// closeUnreadBody so.
func handOffBody(c *fiber.Ctx, r io.Reader) io.Reader {
	h := &handedOffBody{r: r}
	c.Locals(keyBodyHandedOff, h)
	return h
}

// maxUnread is the most a handler may leave unread of a body that otherwise went well
// (a multipart epilogue, say) for the connection to live on.
const maxUnread = 64 << 10

func securityHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
	return c.Next()
}

// notFound answers every request no route took.
func notFound(c *fiber.Ctx) error {
	c.Locals(keyUnmatched, true)
	return fault.NotFoundf("no route %s %s", c.Method(), c.Path())
}

// httpMetrics are the request metrics, by method, route pattern and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	reg      *prometheus.Registry
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plein_http_requests_total", Help: "HTTP requests answered, by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "plein_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route", "status"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "plein_http_requests_in_flight", Help: "HTTP requests being answered now.",
		}),
		reg: reg,
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, code).Inc()
	m.duration.WithLabelValues(method, route, code).Observe(d.Seconds())
}

func (s *Server) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
}
