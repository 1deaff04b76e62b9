package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// Request is a request for a plugin as the API layer received it, after
// authenticating the user.
type Request struct {
	// Principal is the authenticated user; nil is refused.
	Principal *authz.Principal
	// Plugin is the <name> in /api/v1/plugins/<name>/...
	Plugin    string
	RequestID string
	Method    string
	// Path is the escaped path after /api/v1/plugins/<name>, starting with "/"
	// (fasthttp: the original, not the unescaped, path).
	Path     string
	RawQuery string
	// Header is the request's header. The plugin receives a copy without
	// credentials (Authorization, Cookie) and hop-by-hop headers, with X-Request-Id.
	Header http.Header
	// ContentLength is the body's length, or -1 if unknown; 0 sends no body.
	ContentLength int64
	// Body streams the request body; nil sends none. It is read while the response
	// streams back, until the response body is closed.
	Body io.Reader
}

// Response is a plugin's answer. Body streams from the plugin: copy it to the client
// and close it, which ends the call (its handle dies with it).
type Response struct {
	Status int
	Header http.Header
	// ContentLength is the body's length, or -1 if unknown.
	ContentLength int64
	Body          io.ReadCloser
}

// ErrFeatureDisabled is the fault for a plugin that is off, or not on for the caller
// (its spaces or roles): the feature does not exist for them.
var ErrFeatureDisabled = fault.New(fault.NotFound, "feature_disabled", "this feature is not enabled")

// errUnavailable is the fault for a plugin that is enabled but not answering.
func errUnavailable(detail string, cause error) error {
	return &fault.Error{Kind: fault.Unavailable, Code: "plugin_unavailable", Detail: detail, RetryAfter: 5 * time.Second, Err: cause}
}

// ErrCut is the fault for a plugin answer that broke off before its end.
func ErrCut(cause error) error {
	return errUnavailable("the feature stopped answering; try again shortly", cause)
}

// Headers never forwarded to a plugin, or back from it to the client.
var (
	hopHeaders      = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	requestStripped = append([]string{"Authorization", "Cookie", "Proxy-Authorization"}, hopHeaders...)
	// A plugin must not set cookies on the core's origin or tell the client who
	// else to authenticate to.
	responseStripped = append([]string{"Set-Cookie", "Set-Cookie2", "Proxy-Authenticate", "Www-Authenticate"}, hopHeaders...)
)

// Route forwards a request to a plugin after the host's checks, in this order: the
// plugin must be enabled and on for the caller's roles (else ErrFeatureDisabled,
// 404); running (else a plugin_unavailable fault, 503); the path must match a route
// of its manifest (else a NotFound fault); the caller must hold the route's
// permission (see below; else a NotFound fault for an item they may not read, a
// Forbidden fault otherwise); a request naming a space or an item must be in one of
// the plugin's spaces, and one naming neither comes from a user who reads one of
// them (else ErrFeatureDisabled); a body over the limit is a TooLarge fault.
//
// Permissions: sdk.PermissionAuthenticated lets any signed-in user through. A route
// with {item_id} needs the action on that item: "read" that the user may read it,
// "edit" and "delete" that they may change it, other actions the action on content
// in its space. A route with {space_id} needs the action on content in that space.
// Any other route needs the action on the object "plugin-<name>" (PluginObject) in
// the global domain, which the plugin's default policies grant.
//
// The request then goes to the plugin with a call handle for the user, its body
// capped and streamed, under RequestTimeout. ctx cancels the request until the
// response head arrives; after that only closing the body or the timeout ends it.
// A plugin that gives no answer is a plugin_unavailable fault.
func (h *Host) Route(ctx context.Context, req Request) (*Response, error) {
	p := req.Principal
	if p == nil {
		return nil, fault.New(fault.Unauthenticated, "unauthenticated", "sign in to use this feature")
	}
	rec, in, ok := h.lookup(req.Plugin)
	if !ok || in == nil || !rec.Enabled || !rolesAllow(rec.Roles, p) {
		return nil, ErrFeatureDisabled
	}
	pr, release, ok := in.acquire()
	if !ok {
		return nil, errUnavailable("the feature is temporarily unavailable; try again shortly", nil)
	}
	handedOff := false
	defer func() {
		if !handedOff {
			release()
		}
	}()
	match, ok := pr.match(req.Method, req.Path)
	if !ok {
		return nil, fault.NotFoundf("no such route")
	}
	readable := h.cfg.Authz.Readable(p)
	if err := h.permit(ctx, rec, p, readable, match); err != nil {
		return nil, err
	}
	if req.ContentLength > h.cfg.BodyLimit {
		return nil, tooLarge(h.cfg.BodyLimit)
	}

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.RequestTimeout)
	stopFollowing := context.AfterFunc(ctx, cancel)
	call, end := h.calls.Begin(req.Plugin, p, readable, req.RequestID, h.cfg.Now().Add(h.cfg.RequestTimeout))
	finish := sync.OnceFunc(func() {
		stopFollowing()
		end()
		cancel()
		release()
	})
	hreq := &pluginrpc.HTTPRequest{
		Call: call, Method: req.Method, Path: req.Path, RawQuery: req.RawQuery,
		Header: forwardHeader(req.Header, req.RequestID), ContentLength: req.ContentLength,
	}
	if req.Body != nil && req.ContentLength != 0 {
		hreq.Body = &capReader{r: req.Body, left: h.cfg.BodyLimit}
	} else {
		hreq.ContentLength = 0
	}
	handedOff = true
	resp, err := pr.client.HandleHTTP(rctx, hreq)
	if err != nil {
		finish()
		if errors.Is(err, sdk.ErrInvalid) {
			return nil, fault.Wrap(fault.Invalid, "bad_request", err, "the request holds text that is not UTF-8")
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h.cfg.Log.Warn("plugin gave no answer", "plugin", req.Plugin, "request_id", req.RequestID, "err", err)
		return nil, errUnavailable("the feature did not answer; try again shortly", err)
	}
	stopFollowing()
	return &Response{Status: resp.Status, Header: cleanResponseHeader(resp.Header), ContentLength: resp.ContentLength,
		Body: &callBody{ReadCloser: resp.Body, finish: finish}}, nil
}

// permit checks the route's permission and the plugin's spaces for the request.
func (h *Host) permit(ctx context.Context, rec Record, p *authz.Principal, readable authz.SpaceSet, m routeMatch) error {
	perm, az := m.route.Permission, h.cfg.Authz
	switch {
	case perm == sdk.PermissionAuthenticated:
	case m.itemID != "":
		it, err := h.cfg.Items.Head(ctx, Reader{UserID: p.UserID, Roles: p.Roles, Spaces: readable}, m.itemID)
		if fault.Is(err, fault.NotFound) || errors.Is(err, sdk.ErrNotFound) {
			return fault.NotFoundf("no such item")
		}
		if err != nil {
			return fmt.Errorf("route permission: %w", err)
		}
		if !inScope(rec.Spaces, it.SpaceID) {
			return ErrFeatureDisabled
		}
		if !itemAllowed(az, p, perm, it) {
			return fault.Forbiddenf("you may not %s this item", perm)
		}
		return nil
	case m.spaceID != "":
		if err := az.RequireSpace(p, m.spaceID, "content", perm); err != nil {
			return err
		}
		if !inScope(rec.Spaces, m.spaceID) {
			return ErrFeatureDisabled
		}
		return nil
	case !az.Can(p, authz.Global, PluginObject(rec.Name), perm):
		return fault.Forbiddenf("you may not %s %s", perm, rec.Name)
	}
	if !readsAny(rec.Spaces, readable) {
		return ErrFeatureDisabled
	}
	return nil
}

// rolesAllow reports whether p holds one of the roles a plugin is on for (nil: all).
// Roles match the user's global roles as given, not roles they inherit.
func rolesAllow(roles []string, p *authz.Principal) bool {
	return roles == nil || slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(roles, r) })
}

// readsAny reports whether a user reading readable reads one of the spaces (nil: all).
func readsAny(spaces []string, readable authz.SpaceSet) bool {
	return spaces == nil || slices.ContainsFunc(spaces, readable.Has)
}

func tooLarge(limit int64) error {
	return &fault.Error{Kind: fault.TooLarge, Code: "payload_too_large", Detail: fmt.Sprintf("the body is over %d bytes", limit)}
}

// forwardHeader copies h without credentials and hop-by-hop headers, with the
// request id.
func forwardHeader(h http.Header, requestID string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, k := range requestStripped {
		out.Del(k)
	}
	if requestID != "" {
		out.Set("X-Request-Id", requestID)
	}
	return out
}

func cleanResponseHeader(h http.Header) http.Header {
	if h == nil {
		return http.Header{}
	}
	for _, k := range responseStripped {
		h.Del(k)
	}
	return h
}

// capReader fails once more than left bytes were read: the plugin sees a broken
// body, never a silently truncated one.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errors.New("request body over the limit")
	}
	return n, err
}

// callBody is a plugin response's body; closing it ends the call.
type callBody struct {
	io.ReadCloser
	finish func()
}

func (b *callBody) Close() error {
	err := b.ReadCloser.Close()
	b.finish()
	return err
}

// routeMatch is the manifest route a request matched, with its item and space.
type routeMatch struct {
	route   sdk.Route
	itemID  string
	spaceID string
	ok      bool
}

type matchKey struct{}

// routeMux returns a ServeMux over the manifest's routes whose handlers record the
// match: net/http's own pattern rules, as the plugin's mux applies them.
func routeMux(m sdk.Manifest) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range m.Routes {
		mux.HandleFunc(r.Pattern(), func(_ http.ResponseWriter, req *http.Request) {
			if mm, ok := req.Context().Value(matchKey{}).(*routeMatch); ok {
				*mm = routeMatch{route: r, itemID: req.PathValue("item_id"), spaceID: req.PathValue("space_id"), ok: true}
			}
		})
	}
	return mux
}

// match finds the manifest route of a request; false if none (a path net/http would
// redirect, such as one with "..", matches none).
func (p *proc) match(method, path string) (routeMatch, bool) {
	u, err := url.ParseRequestURI(path)
	if err != nil || u.Path == "" || u.Path[0] != '/' || u.RawQuery != "" || u.Host != "" {
		return routeMatch{}, false
	}
	mm := &routeMatch{}
	r := &http.Request{Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath}, Host: "plugin", Header: http.Header{}}
	p.routes.ServeHTTP(discard{}, r.WithContext(context.WithValue(context.Background(), matchKey{}, mm)))
	return *mm, mm.ok
}

// discard is a ResponseWriter that drops what the route mux writes (404s, redirects).
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
