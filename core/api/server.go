// Package api serves Plein's HTTP API with Fiber: middleware, routes, and the mapping of
// errors to problem responses. Handlers here are thin: they parse, call a domain
// package, and render.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/core/spaces"
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
	// TrustedProxies are the addresses (IPs or CIDRs) of load balancers whose
	// X-Forwarded-For names the client; empty: the connection's address is the client.
	TrustedProxies []string

	Identity  *identity.Service
	Spaces    *spaces.Service
	Content   *content.Service
	Documents *documents.Service
	Authz     *authz.Authorizer
	// Plugins runs the feature plugins; nil: no plugins (every plugin route is feature_disabled).
	Plugins *pluginhost.Host
	// PresignTTL, when positive and the blob store has URLs of its own (S3), makes
	// downloads redirect to a URL valid this long instead of passing the bytes through.
	PresignTTL time.Duration
}

// Server is the HTTP API.
type Server struct {
	app       *fiber.App
	log       *slog.Logger
	bodyLimit int64
	checks    []Check
	version   string
	metrics   *httpMetrics

	identity   *identity.Service
	spaces     *spaces.Service
	content    *content.Service
	documents  *documents.Service
	authz      *authz.Authorizer
	presignTTL time.Duration
	plugins    *pluginhost.Host

	openapiJSON func() ([]byte, error) // the OpenAPI document, built on first request
}

// New builds the server with its middleware and routes.
func New(cfg Config) *Server {
	s := &Server{
		log:        cfg.Log,
		bodyLimit:  cfg.BodyLimit,
		checks:     cfg.Checks,
		version:    cfg.Version,
		metrics:    newHTTPMetrics(cfg.Metrics),
		identity:   cfg.Identity,
		spaces:     cfg.Spaces,
		content:    cfg.Content,
		documents:  cfg.Documents,
		authz:      cfg.Authz,
		presignTTL: cfg.PresignTTL,
		plugins:    cfg.Plugins,
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
		ReadBufferSize:               16 << 10,
		BodyLimit:                    int(cfg.BodyLimit),
		ReadTimeout:                  60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ErrorHandler:                 s.errorHandler,
		EnableTrustedProxyCheck:      len(cfg.TrustedProxies) > 0,
		TrustedProxies:               cfg.TrustedProxies,
		ProxyHeader:                  proxyHeader(cfg.TrustedProxies),
	})
	s.openapiJSON = s.openapiOnce()
	s.app.Use(closeUnreadBody, s.observe, s.recover, securityHeaders)
	s.routes()
	s.app.Use(notFound)
	return s
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// route is one entry of the API: what it answers, who may call it, what it takes.
type route struct {
	method, path string
	auth         bool     // a bearer token is required; the handler asks authz about the object
	query        []string // the query parameters it takes; any other is a 400
	handler      fiber.Handler
	summary      string
}

// routeTable lists every route. Each one either is public or requires a token, and
// each handler asks the authorizer before touching anything.
func (s *Server) routeTable() []route {
	page := []string{"limit", "cursor"}
	routes := []route{
		{"GET", "/healthz", false, nil, s.healthz, "Liveness: 200 while the process runs"},
		{"GET", "/readyz", false, nil, s.readyz, "Readiness: every configured backend answers"},
		{"GET", "/metrics", false, nil, s.metricsHandler(), "Prometheus metrics"},
		{"GET", "/api/v1/openapi.json", false, nil, s.openapi, "This OpenAPI document"},

		{"POST", "/api/v1/auth/login", false, nil, s.login, "Log in with email and password"},
		{"POST", "/api/v1/auth/logout", true, nil, s.logout, "Revoke the presented token"},
		{"GET", "/api/v1/me", true, nil, s.me, "The caller, their roles and spaces"},
		{"PUT", "/api/v1/me/password", true, nil, s.changePassword, "Change the caller's password"},

		{"GET", "/api/v1/users", true, append([]string{"role"}, page...), s.listUsers, "List users"},
		{"POST", "/api/v1/users", true, nil, s.createUser, "Create a user"},
		{"GET", "/api/v1/users/:id", true, nil, s.getUser, "Get a user"},
		{"PATCH", "/api/v1/users/:id", true, nil, s.patchUser, "Change a user's email, name, password or status"},
		{"DELETE", "/api/v1/users/:id", true, nil, s.deleteUser, "Delete a user"},
		{"PUT", "/api/v1/users/:id/roles", true, nil, s.setUserRoles, "Set a user's roles"},

		{"GET", "/api/v1/roles", true, nil, s.listRoles, "List roles"},
		{"POST", "/api/v1/roles", true, nil, s.createRole, "Create a role"},
		{"PATCH", "/api/v1/roles/:name", true, nil, s.patchRole, "Change a role's title or description"},
		{"DELETE", "/api/v1/roles/:name", true, nil, s.deleteRole, "Delete a role"},

		{"GET", "/api/v1/spaces", true, page, s.listSpaces, "Spaces the caller can see"},
		{"POST", "/api/v1/spaces", true, nil, s.createSpace, "Create a space"},
		{"GET", "/api/v1/spaces/:id", true, nil, s.getSpace, "Get a space"},
		{"PATCH", "/api/v1/spaces/:id", true, nil, s.patchSpace, "Change a space"},
		{"DELETE", "/api/v1/spaces/:id", true, nil, s.deleteSpace, "Delete a space"},
		{"GET", "/api/v1/spaces/:id/members", true, page, s.listMembers, "List a space's members"},
		{"PUT", "/api/v1/spaces/:id/members/:user_id", true, nil, s.putMember, "Add a member or change their role"},
		{"DELETE", "/api/v1/spaces/:id/members/:user_id", true, nil, s.deleteMember, "Remove a member"},

		{"POST", "/api/v1/spaces/:id/posts", true, nil, s.createPost, "Post an update or news in a space"},
		{"POST", "/api/v1/spaces/:id/pages", true, nil, s.createPage, "Add a page to a space's knowledge map"},
		{"GET", "/api/v1/spaces/:id/pages", true, nil, s.pageTree, "The knowledge map (page tree) of a space"},
		{"GET", "/api/v1/items/:id", true, nil, s.getItem, "Get an item"},
		{"PATCH", "/api/v1/items/:id", true, nil, s.patchItem, "Edit an item, or move a page"},
		{"DELETE", "/api/v1/items/:id", true, nil, s.deleteItem, "Delete an item"},
		{"GET", "/api/v1/items/:id/comments", true, page, s.listComments, "An item's comments and replies, oldest first"},
		{"POST", "/api/v1/items/:id/comments", true, nil, s.createComment, "Comment on an item or reply to a comment"},
		{"PATCH", "/api/v1/comments/:id", true, nil, s.patchComment, "Edit a comment"},
		{"DELETE", "/api/v1/comments/:id", true, nil, s.deleteComment, "Delete a comment and its replies"},
		{"GET", "/api/v1/feed", true, append([]string{"space", "kind", "tag"}, page...), s.feed, "Newest items the caller may read"},
		{"POST", "/api/v1/spaces/:id/documents", true, nil, s.uploadDocument, "Upload a document (multipart/form-data: file, title, description)"},
		{"GET", "/api/v1/documents/:id", true, nil, s.getDocument, "A document with its versions"},
		{"GET", "/api/v1/documents/:id/content", true, []string{"version", "download"}, s.documentContent, "A document's bytes, streamed; ranges allowed"},
		{"POST", "/api/v1/documents/:id/versions", true, nil, s.addVersion, "Upload a new version of a document (multipart/form-data: file)"},
		{"DELETE", "/api/v1/documents/:id", true, nil, s.deleteDocument, "Move a document to the trash"},
		{"POST", "/api/v1/documents/:id/restore", true, nil, s.restoreDocument, "Take a document out of the trash"},
		{"GET", "/api/v1/spaces/:id/trash", true, page, s.listTrash, "A space's trash: deleted documents not yet purged"},
		{"GET", "/api/v1/search", true, append([]string{"q", "space", "kind"}, page...), s.search, "Search the items the caller may read"},

		{"GET", "/api/v1/features", true, []string{"space"}, s.features, "The features (plugins) on for the caller"},
		{"GET", "/api/v1/admin/plugins", true, nil, s.listPlugins, "Every installed plugin with its state"},
		{"GET", "/api/v1/admin/plugins/:name", true, nil, s.getPlugin, "A plugin with its state"},
		{"PUT", "/api/v1/admin/plugins/:name", true, nil, s.putPlugin, "Enable or disable a plugin, set its scope and settings"},
		{"POST", "/api/v1/admin/plugins/:name/approve", true, nil, s.approvePlugin, "Accept a plugin binary whose checksum changed"},
		{"POST", "/api/v1/admin/plugins/:name/reset", true, nil, s.resetPlugin, "Clear a plugin's failed state"},

		{"GET", "/api/v1/admin/policies", true, nil, s.getPolicy, "The authorization policy"},
		{"PUT", "/api/v1/admin/policies", true, nil, s.putPolicy, "Replace the authorization policy"},
	}
	for _, m := range pluginMethods {
		// The plugin checks its own query parameters: nil lets every one through.
		routes = append(routes, route{m, pluginPrefix + ":name/*", true, anyQuery, s.pluginRoute, "A plugin's own route"})
	}
	return routes
}

const keyQuery localKey = 50

func (s *Server) routes() {
	for _, r := range s.routeTable() {
		var hs []fiber.Handler
		if r.auth {
			hs = append(hs, s.authenticate)
		}
		hs = append(hs, checkQuery(r.query), r.handler)
		s.app.Add(r.method, r.path, hs...)
	}
}

// checkQuery refuses query parameters the route does not take, and hands the rest on.
func checkQuery(allowed []string) fiber.Handler {
	if isAnyQuery(allowed) {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return func(c *fiber.Ctx) error {
		q, err := queryParams(c, allowed...)
		if err != nil {
			return err
		}
		c.Locals(keyQuery, q)
		return c.Next()
	}
}

// anyQuery marks a route that takes whatever query parameters it is given: a
// plugin's, which checks its own.
var anyQuery = []string{"*"}

func isAnyQuery(q []string) bool { return len(q) == 1 && q[0] == "*" }

// queryOf returns the query parameters checkQuery accepted.
func queryOf(c *fiber.Ctx) map[string]string {
	q, _ := c.Locals(keyQuery).(map[string]string)
	return q
}

// sortBy sorts s by key.
func sortBy[T any, K cmp.Ordered](s []T, key func(T) K) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

// Routes lists every route as "METHOD /path/:param", public ones marked with a
// trailing " (public)", for tests that must cover them all.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routeTable() {
		name := r.method + " " + r.path
		if !r.auth {
			name += " (public)"
		}
		out = append(out, name)
	}
	return out
}

// App returns the Fiber app, for tests that call it without a network.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests to finish,
// or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }
