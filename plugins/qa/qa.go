package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Item kinds the plugin registers.
const (
	kindQuestion = "question"
	kindAnswer   = "answer"
)

// Plugin is the Q&A plugin.
type Plugin struct {
	host     *sdk.Host
	log      *slog.Logger
	settings Settings
	now      func() time.Time
}

// Settings are what a manager may set.
type Settings struct {
	// HelpdeskSpaces puts spaces in helpdesk mode, by space id.
	HelpdeskSpaces map[string]Helpdesk `json:"helpdesk_spaces"`
}

// Helpdesk is one space's helpdesk mode.
type Helpdesk struct {
	// Role is the global role whose holders staff the helpdesk: they are assigned
	// questions, set their status and read and write internal notes.
	Role string `json:"role"`
}

// maxHelpdeskSpaces bounds the settings.
const maxHelpdeskSpaces = 200

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{now: time.Now} }

// Manifest describes the plugin's routes, events, decoration and settings.
func (p *Plugin) Manifest() sdk.Manifest {
	read, anyone := "read", sdk.PermissionAuthenticated
	route := func(method, path, perm string) sdk.Route {
		return sdk.Route{Method: method, Path: path, Permission: perm}
	}
	return sdk.Manifest{
		Name:    "qa",
		Title:   "Q&A",
		Version: "1.0.0",
		// The host checks "read" on {item_id} (the question) and {space_id}; the
		// routes without either check the user's rights on what they name.
		Routes: []sdk.Route{
			route(http.MethodPost, "/questions", anyone),
			route(http.MethodGet, "/questions", anyone),
			route(http.MethodGet, "/questions/similar", anyone),
			route(http.MethodGet, "/questions/{item_id}", read),
			route(http.MethodGet, "/questions/{item_id}/answers", read),
			route(http.MethodPost, "/questions/{item_id}/answers", read),
			route(http.MethodPut, "/questions/{item_id}/accepted", read),
			route(http.MethodDelete, "/questions/{item_id}/accepted", read),
			route(http.MethodPut, "/questions/{item_id}/answers/{answer_id}/vote", read),
			route(http.MethodDelete, "/questions/{item_id}/answers/{answer_id}/vote", read),
			route(http.MethodPut, "/questions/{item_id}/status", read),
			route(http.MethodPut, "/questions/{item_id}/assignee", read),
			route(http.MethodDelete, "/questions/{item_id}/assignee", read),
			route(http.MethodGet, "/questions/{item_id}/notes", read),
			route(http.MethodPost, "/questions/{item_id}/notes", read),
			route(http.MethodGet, "/stats", anyone),
			route(http.MethodGet, "/spaces/{space_id}/helpdesk", read),
			route(http.MethodGet, "/spaces/{space_id}/staff", read),
		},
		Events: []string{"item.deleted", "user.deleted"},
		// Feeds and search show a question's record and an answer's question.
		Fields: []sdk.Field{
			{Name: "question", From: sdk.FromKVValue, Key: "q/{item}"},
			{Name: "answer", From: sdk.FromKVValue, Key: "aq/{item}"},
		},
		Settings: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{` +
			`"helpdesk_spaces":{"type":"object","description":"Spaces in helpdesk mode, by space id",` +
			`"additionalProperties":{"type":"object","additionalProperties":false,"required":["role"],` +
			`"properties":{"role":{"type":"string","description":"The role that staffs the helpdesk"}}}}}}`),
		// Readers ask and answer as they comment (policies/default.csv holds the same).
		Policies: []string{
			"p, reader, space:*, item-question, create",
			"p, reader, space:*, item-answer, create",
		},
	}
}

// Init keeps the host and reads the settings; unknown fields, bad space ids and
// bad role names are sdk.ErrInvalid.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, raw json.RawMessage) error {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("%w: settings: %v", sdk.ErrInvalid, err)
	}
	if len(s.HelpdeskSpaces) > maxHelpdeskSpaces {
		return fmt.Errorf("%w: settings: at most %d helpdesk spaces", sdk.ErrInvalid, maxHelpdeskSpaces)
	}
	for space, hd := range s.HelpdeskSpaces {
		if !validID(space) {
			return fmt.Errorf("%w: settings: helpdesk_spaces: %q is not a space id", sdk.ErrInvalid, space)
		}
		if !validRole(hd.Role) {
			return fmt.Errorf("%w: settings: helpdesk_spaces[%s].role: %q is not a role name", sdk.ErrInvalid, space, hd.Role)
		}
	}
	p.host, p.log, p.settings = h, h.Logger(), s
	return nil
}

// Handler serves the routes of the manifest.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /questions", p.ask)
	mux.HandleFunc("GET /questions", p.listQuestions)
	mux.HandleFunc("GET /questions/similar", p.similar)
	mux.HandleFunc("GET /questions/{item_id}", p.getQuestion)
	mux.HandleFunc("GET /questions/{item_id}/answers", p.listAnswers)
	mux.HandleFunc("POST /questions/{item_id}/answers", p.answer)
	mux.HandleFunc("PUT /questions/{item_id}/accepted", p.accept)
	mux.HandleFunc("DELETE /questions/{item_id}/accepted", p.unaccept)
	mux.HandleFunc("PUT /questions/{item_id}/answers/{answer_id}/vote", p.vote)
	mux.HandleFunc("DELETE /questions/{item_id}/answers/{answer_id}/vote", p.unvote)
	mux.HandleFunc("PUT /questions/{item_id}/status", p.setStatus)
	mux.HandleFunc("PUT /questions/{item_id}/assignee", p.assign)
	mux.HandleFunc("DELETE /questions/{item_id}/assignee", p.unassign)
	mux.HandleFunc("GET /questions/{item_id}/notes", p.listNotes)
	mux.HandleFunc("POST /questions/{item_id}/notes", p.addNote)
	mux.HandleFunc("GET /stats", p.stats)
	mux.HandleFunc("GET /spaces/{space_id}/helpdesk", p.helpdeskInfo)
	mux.HandleFunc("GET /spaces/{space_id}/staff", p.listStaff)
	return mux
}

// helpdeskRole returns the role that staffs the space's helpdesk, and false if the
// space is not in helpdesk mode.
func (p *Plugin) helpdeskRole(space string) (string, bool) {
	hd, ok := p.settings.HelpdeskSpaces[space]
	return hd.Role, ok
}

// isStaff reports whether the acting user staffs the space's helpdesk.
func (p *Plugin) isStaff(ctx context.Context, space string) bool {
	role, ok := p.helpdeskRole(space)
	return ok && sdk.CallFrom(ctx).HasRole(role)
}
