package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/sdk"
)

// pluginPrefix is where each plugin's routes live: /api/v1/plugins/<name>/...
const pluginPrefix = "/api/v1/plugins/"

// pluginRoute forwards a request to a plugin. The host decides whether the plugin is
// on for the caller, running, and whether the caller holds the route's permission.
func (s *Server) pluginRoute(c *fiber.Ctx) error {
	if s.plugins == nil {
		return pluginhost.ErrFeatureDisabled
	}
	// The escaped path as it came, not Fiber's unescaped parameters: a plugin's ids may
	// hold escaped slashes.
	raw := string(c.Request().URI().PathOriginal())
	rest, ok := strings.CutPrefix(raw, pluginPrefix)
	if !ok {
		return fault.NotFoundf("no such route")
	}
	name, path, _ := strings.Cut(rest, "/")
	header := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	req := pluginhost.Request{
		Principal:     principal(c),
		Plugin:        name,
		RequestID:     requestID(c),
		Method:        c.Method(),
		Path:          "/" + path,
		RawQuery:      string(c.Request().URI().QueryString()),
		Header:        header,
		ContentLength: requestLength(c),
	}
	if req.ContentLength != 0 {
		if st := c.Context().RequestBodyStream(); st != nil {
			req.Body = handOffBody(c, st)
		} else {
			req.Body = strings.NewReader(string(c.Body()))
		}
	}
	resp, err := s.plugins.Route(c.UserContext(), req)
	if err != nil {
		return err
	}
	var small []byte
	if n := resp.ContentLength; n >= 0 && n <= smallPluginBody {
		// A small answer is read at once: the call ends now and the client gets one
		// write with a Content-Length instead of a chunked stream.
		small = make([]byte, n)
		_, err := io.ReadFull(resp.Body, small)
		_ = resp.Body.Close()
		if err != nil {
			return pluginhost.ErrCut(err)
		}
	}
	copyPluginHeader(&c.Response().Header, resp.Header)
	c.Status(resp.Status)
	if small != nil {
		return c.Send(small)
	}
	// fasthttp streams the body after the handler returns and closes it, which ends
	// the call's handle.
	c.Context().SetBodyStream(resp.Body, int(resp.ContentLength))
	return nil
}

// copyPluginHeader puts a plugin's response headers in place of the core's defaults
// for the same names (a plugin's Cache-Control or nosniff, not both), with two
// exceptions: fasthttp sets Content-Length from the body, and a plugin may replace
// the core's Content-Security-Policy only with one that sandboxes the response (a
// file it serves inline), never loosen it for active content on the core's origin.
func copyPluginHeader(dst *fasthttp.ResponseHeader, h http.Header) {
	for k, vs := range h {
		switch {
		case k == "Content-Length":
			continue
		case k == "Content-Security-Policy" && !slices.ContainsFunc(vs, sandboxes):
			continue
		}
		dst.Del(k)
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// sandboxes reports whether a Content-Security-Policy holds the sandbox directive.
func sandboxes(csp string) bool {
	for d := range strings.SplitSeq(csp, ";") {
		if name, _, _ := strings.Cut(strings.TrimSpace(d), " "); strings.EqualFold(name, "sandbox") {
			return true
		}
	}
	return false
}

// requestLength is the request body's length, -1 if unknown (chunked). fasthttp says
// -2 when there is neither a Content-Length nor a Transfer-Encoding, which for a
// request means no body at all (RFC 9112, 6.3). Taking -2 for "unknown" sent every
// GET's empty body from a goroutine that, answered before it was done, cost the fast
// lane its connection: a new one (a connect and a hello) for one request in five.
func requestLength(c *fiber.Ctx) int64 {
	n := int64(c.Request().Header.ContentLength())
	if n == -2 {
		return 0
	}
	return n
}

// smallPluginBody is the largest plugin answer of known length read at once.
const smallPluginBody = 64 << 10

// The plugin routes, one row per method the route table registers.
var pluginMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (s *Server) features(c *fiber.Ctx) error {
	p := principal(c)
	space := queryOf(c)["space"]
	if space != "" {
		if err := s.authz.RequireSpace(p, space, "content", "read"); err != nil {
			return err
		}
	}
	out := []pluginhost.Feature{}
	if s.plugins != nil {
		out = s.plugins.Features(p, space)
	}
	return c.JSON(newList(out, false, nil))
}

func (s *Server) requireManagePlugins(c *fiber.Ctx) error {
	return s.authz.Require(principal(c), authz.Global, "plugins", "manage")
}

func (s *Server) listPlugins(c *fiber.Ctx) error {
	if err := s.requireManagePlugins(c); err != nil {
		return err
	}
	out := []pluginhost.Status{}
	if s.plugins != nil {
		var err error
		if out, err = s.plugins.Plugins(c.UserContext()); err != nil {
			return err
		}
	}
	return c.JSON(newList(out, false, nil))
}

func (s *Server) getPlugin(c *fiber.Ctx) error {
	if err := s.requireManagePlugins(c); err != nil {
		return err
	}
	if s.plugins == nil {
		return fault.NotFoundf("no such plugin")
	}
	st, err := s.plugins.Plugin(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// putPluginRequest keeps spaces and roles raw: absent (stay), null (everyone) and a
// list differ.
type putPluginRequest struct {
	Enabled  *bool           `json:"enabled"`
	Spaces   json.RawMessage `json:"spaces"`
	Roles    json.RawMessage `json:"roles"`
	Settings json.RawMessage `json:"settings"`
}

func (s *Server) putPlugin(c *fiber.Ctx) error {
	if err := s.requireManagePlugins(c); err != nil {
		return err
	}
	var req putPluginRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if s.plugins == nil {
		return fault.NotFoundf("no such plugin")
	}
	u := pluginhost.StateUpdate{Enabled: req.Enabled}
	var err error
	if u.Spaces, err = optionalList("spaces", req.Spaces); err != nil {
		return err
	}
	if u.Roles, err = optionalList("roles", req.Roles); err != nil {
		return err
	}
	if u.Spaces != nil {
		for _, id := range *u.Spaces {
			if !s.authz.SpaceExists(id) {
				return fault.Invalidf("spaces", "no space %q", id)
			}
		}
	}
	if len(req.Settings) > 0 && string(req.Settings) != "null" {
		u.Settings = req.Settings
	}
	name := c.Params("name")
	if _, err := s.plugins.SetState(c.UserContext(), name, u); err != nil {
		return err
	}
	st, err := s.plugins.Plugin(c.UserContext(), name)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// optionalList reads a field that is absent (nil: no change), null (a nil list:
// everyone) or a list of strings.
func optionalList(field string, raw json.RawMessage) (*[]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var list []string
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fault.Invalidf(field, "a list of strings, or null for all")
		}
		if list == nil {
			list = []string{}
		}
	}
	return &list, nil
}

func (s *Server) approvePlugin(c *fiber.Ctx) error {
	return s.pluginAction(c, func(h *pluginhost.Host, ctx context.Context, name string) error { return h.Approve(ctx, name) })
}

func (s *Server) resetPlugin(c *fiber.Ctx) error {
	return s.pluginAction(c, func(h *pluginhost.Host, ctx context.Context, name string) error { return h.Reset(ctx, name) })
}

// pluginAction does something to the named plugin for a manager, and answers its new status.
func (s *Server) pluginAction(c *fiber.Ctx, do func(*pluginhost.Host, context.Context, string) error) error {
	if err := s.requireManagePlugins(c); err != nil {
		return err
	}
	if s.plugins == nil {
		return fault.NotFoundf("no such plugin")
	}
	name := c.Params("name")
	if err := do(s.plugins, c.UserContext(), name); err != nil {
		return err
	}
	st, err := s.plugins.Plugin(c.UserContext(), name)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// decorate adds what enabled plugins say about each item to its features, in one
// call per plugin for the whole list; a slow or failing plugin only loses its own.
func (s *Server) decorate(c *fiber.Ctx, items []*content.Item) {
	if s.plugins == nil || len(items) == 0 {
		return
	}
	refs := make([]sdk.ItemRef, len(items))
	for i, it := range items {
		refs[i] = sdk.ItemRef{ID: it.ID, Kind: it.Kind, SpaceID: it.SpaceID, Owner: it.Owner}
	}
	got := s.plugins.Decorate(c.UserContext(), principal(c), requestID(c), refs)
	for _, it := range items {
		for name, raw := range got[it.ID] {
			it.Features[name] = raw
		}
	}
}
