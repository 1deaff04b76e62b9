package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/pleinhq/plein/sdk"
)

// Plugin is the likes plugin.
type Plugin struct {
	host *sdk.Host
	log  *slog.Logger
}

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{} }

// Manifest describes the routes, the events and the declared decoration.
func (p *Plugin) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name:    "likes",
		Title:   "Likes",
		Version: "1.0.0",
		// Every route names the item and needs "read" on it, which the core checks
		// (and that the feature is on in the item's space) before forwarding.
		Routes: []sdk.Route{
			{Method: http.MethodPut, Path: "/items/{item_id}/like", Permission: "read"},
			{Method: http.MethodDelete, Path: "/items/{item_id}/like", Permission: "read"},
			{Method: http.MethodGet, Path: "/items/{item_id}", Permission: "read"},
			{Method: http.MethodGet, Path: "/items/{item_id}/likers", Permission: "read"},
		},
		Events: []string{"item.deleted", "user.deleted"},
		// The host reads {"count","liked"} itself, in its one query per feed page.
		Fields: []sdk.Field{
			{Name: "count", From: sdk.FromCounter, Key: "n/{item}"},
			{Name: "liked", From: sdk.FromKVExists, Key: "l/{item}/{user}"},
		},
		Settings: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{}}`),
	}
}

// Init keeps the host. The plugin has no settings: anything but {} is sdk.ErrInvalid.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&struct{}{}); err != nil {
			return fmt.Errorf("%w: settings: %v", sdk.ErrInvalid, err)
		}
	}
	p.host, p.log = h, h.Logger()
	return nil
}

// Handler serves the routes of the manifest.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /items/{item_id}/like", p.like)
	mux.HandleFunc("DELETE /items/{item_id}/like", p.unlike)
	mux.HandleFunc("GET /items/{item_id}", p.state)
	mux.HandleFunc("GET /items/{item_id}/likers", p.likers)
	return mux
}

func likePrefix(item string) string    { return "l/" + url.PathEscape(item) + "/" }
func likeKey(item, user string) string { return likePrefix(item) + url.PathEscape(user) }
func userPrefix(user string) string    { return "u/" + url.PathEscape(user) + "/" }
func userKey(user, item string) string { return userPrefix(user) + url.PathEscape(item) }
func countName(item string) string     { return "n/" + url.PathEscape(item) }
