// Package api serves Plein's HTTP API with Fiber: middleware, routes, and the mapping of
// errors to problem responses. Handlers here are thin: they parse, call a domain
// package, and render.
package api

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is one backend that /readyz asks.
type Check struct {
	Name    string // "sql", "blob", "redis"
	Backend string // "sqlite", "postgres", "local", "s3", ...
	Ping    func(ctx context.Context) error
}

// Config is what the server needs from the composition root.
type Config struct {
	Log       *slog.Logger
	Metrics   *prometheus.Registry // request metrics are registered here; /metrics serves it
	BodyLimit int64                // bytes of a JSON request body
	Checks    []Check
	Version   string
}

// Server is the HTTP API.
type Server struct {
	app       *fiber.App
	log       *slog.Logger
	bodyLimit int64
	checks    []Check
	version   string
	metrics   *httpMetrics
}

// New builds the server with its middleware and routes.
func New(cfg Config) *Server {
	s := &Server{
		log:       cfg.Log,
		bodyLimit: cfg.BodyLimit,
		checks:    cfg.Checks,
		version:   cfg.Version,
		metrics:   newHTTPMetrics(cfg.Metrics),
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "plein",
		DisableStartupMessage: true,
		// Strings from the context (params, headers) are copied, so nothing a handler keeps
		// can change under it when fasthttp reuses the buffer for the next request.
		Immutable: true,
		// Bodies arrive as streams: uploads never sit whole in memory. A body over BodyLimit is
		// still handed over as a stream (gofiber/fiber#1838), so readers enforce limits themselves.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    int(cfg.BodyLimit),
		ReadTimeout:                  60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ErrorHandler:                 s.errorHandler,
	})
	s.app.Use(s.observe, s.recover, securityHeaders)
	s.routes()
	s.app.Use(notFound)
	return s
}

func (s *Server) routes() {
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/readyz", s.readyz)
	s.app.Get("/metrics", s.metricsHandler())
}

// App returns the Fiber app, for tests that call it without a network.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests to finish,
// or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }
