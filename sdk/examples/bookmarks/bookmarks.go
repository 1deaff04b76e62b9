// Package bookmarks is an example Plein plugin: users bookmark items they may read,
// list their bookmarks, and see {"bookmarked": true|false} on items in feeds. When an
// item is deleted, its bookmarks go too.
//
// Storage, all in the plugin's KV namespace (ids are path-escaped):
//
//	u/<user>/<item>  the bookmark, JSON {"item_id","created_at"}
//	i/<item>/<user>  reverse index, for cleanup when the item is deleted
//	n/<user>         counter: the user's number of bookmarks, for the limit
package bookmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/pleinhq/plein/sdk"
)

// Plugin is the bookmarks plugin.
type Plugin struct {
	host     *sdk.Host
	log      *slog.Logger
	settings Settings
}

// Settings are what a manager may set.
type Settings struct {
	// MaxPerUser caps each user's bookmarks; 500 when unset.
	MaxPerUser int `json:"max_per_user"`
}

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{} }

// Manifest describes the plugin's routes, events and decoration.
func (p *Plugin) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name:    "bookmarks",
		Title:   "Bookmarks",
		Version: "1.0.0",
		Routes: []sdk.Route{
			{Method: http.MethodPut, Path: "/items/{item_id}/bookmark", Permission: "read"},
			// Removing a bookmark stays possible after losing access to the item.
			{Method: http.MethodDelete, Path: "/items/{item_id}/bookmark", Permission: sdk.PermissionAuthenticated},
			{Method: http.MethodGet, Path: "/bookmarks", Permission: sdk.PermissionAuthenticated},
			// "use" on plugin-bookmarks, which the default policy below grants employees.
			{Method: http.MethodGet, Path: "/limits", Permission: "use"},
		},
		Events: []string{"item.deleted"},
		// The host reads {"bookmarked": bool} itself, from the key put writes.
		Fields: []sdk.Field{{Name: "bookmarked", From: sdk.FromKVExists, Key: "u/{user}/{item}"}},
		Settings: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{` +
			`"max_per_user":{"type":"integer","minimum":1,"default":500,"description":"Most bookmarks per user"}}}`),
		Policies: []string{"p, employee, global, plugin-bookmarks, use"},
	}
}

// Init keeps the host and reads the settings; unknown or out-of-range settings are
// sdk.ErrInvalid.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, raw json.RawMessage) error {
	s := Settings{MaxPerUser: 500}
	if err := decodeStrict(raw, &s); err != nil {
		return fmt.Errorf("%w: settings: %v", sdk.ErrInvalid, err)
	}
	if s.MaxPerUser < 1 {
		return fmt.Errorf("%w: settings: max_per_user must be at least 1", sdk.ErrInvalid)
	}
	p.host, p.log, p.settings = h, h.Logger(), s
	return nil
}

// Handler serves the routes of the manifest.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /items/{item_id}/bookmark", p.put)
	mux.HandleFunc("DELETE /items/{item_id}/bookmark", p.delete)
	mux.HandleFunc("GET /bookmarks", p.list)
	mux.HandleFunc("GET /limits", p.limits)
	return mux
}

func userKey(user, item string) string { return userPrefix(user) + url.PathEscape(item) }
func userPrefix(user string) string    { return "u/" + url.PathEscape(user) + "/" }
func itemKey(item, user string) string { return itemPrefix(item) + url.PathEscape(user) }
func itemPrefix(item string) string    { return "i/" + url.PathEscape(item) + "/" }
func countName(user string) string     { return "n/" + url.PathEscape(user) }
