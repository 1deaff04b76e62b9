package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Plugin is the votes plugin.
type Plugin struct {
	host *sdk.Host
	log  *slog.Logger
	now  func() time.Time
}

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{now: time.Now} }

// Manifest describes the routes, the events and the declared decoration.
func (p *Plugin) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name:    "votes",
		Title:   "Votes, ideas and polls",
		Version: "1.0.0",
		// The core checks each route's permission on its {item_id} or {space_id}
		// (and that the feature is on there) before forwarding.
		Routes: []sdk.Route{
			{Method: http.MethodPut, Path: "/items/{item_id}/vote", Permission: "read"},
			{Method: http.MethodDelete, Path: "/items/{item_id}/vote", Permission: "read"},
			{Method: http.MethodGet, Path: "/items/{item_id}", Permission: "read"},
			{Method: http.MethodPut, Path: "/items/{item_id}/status", Permission: "moderate"},
			{Method: http.MethodGet, Path: "/top", Permission: sdk.PermissionAuthenticated},
			{Method: http.MethodPost, Path: "/spaces/{space_id}/ideas", Permission: "create"},
			{Method: http.MethodGet, Path: "/spaces/{space_id}/settings", Permission: "read"},
			{Method: http.MethodPut, Path: "/spaces/{space_id}/settings", Permission: "moderate"},
			{Method: http.MethodGet, Path: "/spaces/{space_id}/budget", Permission: "read"},
			{Method: http.MethodPost, Path: "/spaces/{space_id}/polls", Permission: "create"},
			{Method: http.MethodGet, Path: "/polls/{item_id}", Permission: "read"},
			{Method: http.MethodPut, Path: "/polls/{item_id}/ballot", Permission: "read"},
			{Method: http.MethodDelete, Path: "/polls/{item_id}/ballot", Permission: "read"},
		},
		Events: []string{"item.deleted", "user.deleted"},
		// The host reads {"score","up","down","my_vote"} itself, in its one query per
		// feed page; my_vote is null without a vote.
		Fields: []sdk.Field{
			{Name: "score", From: sdk.FromCounter, Key: "s/{item}"},
			{Name: "up", From: sdk.FromCounter, Key: "up/{item}"},
			{Name: "down", From: sdk.FromCounter, Key: "dn/{item}"},
			{Name: "my_vote", From: sdk.FromKVValue, Key: "v/{item}/{user}"},
		},
		Settings: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{}}`),
	}
}

// Init keeps the host. Settings are per space (PUT /spaces/{space_id}/settings):
// anything but {} here is sdk.ErrInvalid.
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
	mux.HandleFunc("PUT /items/{item_id}/vote", p.vote)
	mux.HandleFunc("DELETE /items/{item_id}/vote", p.unvote)
	mux.HandleFunc("GET /items/{item_id}", p.summary)
	mux.HandleFunc("PUT /items/{item_id}/status", p.setStatus)
	mux.HandleFunc("GET /top", p.top)
	mux.HandleFunc("POST /spaces/{space_id}/ideas", p.createIdea)
	mux.HandleFunc("GET /spaces/{space_id}/settings", p.settings)
	mux.HandleFunc("PUT /spaces/{space_id}/settings", p.setSettings)
	mux.HandleFunc("GET /spaces/{space_id}/budget", p.budget)
	mux.HandleFunc("POST /spaces/{space_id}/polls", p.createPoll)
	mux.HandleFunc("GET /polls/{item_id}", p.poll)
	mux.HandleFunc("PUT /polls/{item_id}/ballot", p.cast)
	mux.HandleFunc("DELETE /polls/{item_id}/ballot", p.retract)
	return mux
}

// esc escapes an id for a key.
func esc(id string) string { return url.PathEscape(id) }

func voteKey(item, user string) string     { return "v/" + esc(item) + "/" + esc(user) }
func votePrefix(item string) string        { return "v/" + esc(item) + "/" }
func chargeKey(item, user string) string   { return "c/" + esc(item) + "/" + esc(user) }
func chargePrefix(item string) string      { return "c/" + esc(item) + "/" }
func budgetKey(space, user string) string  { return "b/" + esc(space) + "/" + esc(user) }
func userVoteKey(user, item string) string { return userVotePrefix(user) + esc(item) }
func userVotePrefix(user string) string    { return "uv/" + esc(user) + "/" }
func statusKey(item string) string         { return "st/" + esc(item) }
func rankKey(space, item string) string    { return rankPrefix(space) + esc(item) }
func rankPrefix(space string) string       { return "ix/" + esc(space) + "/" }
func settingsKey(space string) string      { return "cfg/" + esc(space) }
func scoreName(item string) string         { return "s/" + esc(item) }
func upName(item string) string            { return "up/" + esc(item) }
func downName(item string) string          { return "dn/" + esc(item) }

// cond is the condition that key is still as entry e (found or not) was read.
func cond(key string, e sdk.Entry, found bool) sdk.Cond {
	if !found {
		return sdk.IfAbsent(key)
	}
	return sdk.IfVersion(key, e.Version)
}

// number decodes a JSON number entry; a missing entry is 0.
func number(e sdk.Entry, found bool) (int64, error) {
	if !found {
		return 0, nil
	}
	var n int64
	err := json.Unmarshal(e.Value, &n)
	return n, err
}

func jsonValue(v any) []byte {
	data, _ := json.Marshal(v) // numbers, strings and plain structs always encode
	return data
}
