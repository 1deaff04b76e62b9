// Package views is a second, smaller example plugin: it counts who viewed an item.
// POST /items/{item_id}/view records a view by the acting user; every item gets
// {"views": n, "viewed": true|false}. Its KV keys have the same shape as the
// bookmarks example's (u/<user>/<item>), which makes the two a test of the host's
// per-plugin namespaces.
package views

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/pleinhq/plein/sdk"
)

// Plugin is the views plugin.
type Plugin struct{ host *sdk.Host }

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{} }

// Manifest describes the plugin's one route and its decoration.
func (p *Plugin) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name:    "views",
		Title:   "Views",
		Version: "1.0.0",
		Routes:  []sdk.Route{{Method: http.MethodPost, Path: "/items/{item_id}/view", Permission: "read"}},
		// The host reads {"views": n, "viewed": bool} itself, from the keys view writes.
		Fields: []sdk.Field{
			{Name: "views", From: sdk.FromCounter, Key: "c/{item}"},
			{Name: "viewed", From: sdk.FromKVExists, Key: "u/{user}/{item}"},
		},
	}
}

// Init keeps the host; views has no settings.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, _ json.RawMessage) error {
	p.host = h
	return nil
}

// Handler serves POST /items/{item_id}/view.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items/{item_id}/view", p.view)
	return mux
}

func userKey(user, item string) string {
	return "u/" + url.PathEscape(user) + "/" + url.PathEscape(item)
}
func countKey(item string) string { return "c/" + url.PathEscape(item) }

// view records a view: a user's first counts, later ones do not.
func (p *Plugin) view(w http.ResponseWriter, r *http.Request) {
	ctx, user, item := r.Context(), sdk.CallFrom(r.Context()).UserID, r.PathValue("item_id")
	if user == "" {
		sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return
	}
	if _, err := p.host.Items().Get(ctx, item); err != nil {
		sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such item")
		return
	}
	_, err := p.host.KV().CAS(ctx, userKey(user, item), []byte(`{"item_id":"`+item+`"}`), 0)
	switch {
	case err == nil:
		if _, err := p.host.Counters().Add(ctx, countKey(item), 1); err != nil {
			sdk.WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
	case !errors.Is(err, sdk.ErrConflict): // a repeat view is not counted
		sdk.WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "try again")
		return
	}
	counts, err := p.host.Counters().BatchGet(ctx, []string{countKey(item)})
	if err != nil {
		sdk.WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "try again")
		return
	}
	sdk.WriteJSON(w, http.StatusOK, map[string]any{"views": counts[countKey(item)], "viewed": true})
}
