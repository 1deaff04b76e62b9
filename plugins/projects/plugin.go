package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Item kinds the plugin registers.
const (
	kindProject  = "project"
	kindActivity = "activity"
)

// Plugin is the projects plugin.
type Plugin struct {
	host *sdk.Host
	log  *slog.Logger
	now  func() time.Time
}

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{now: time.Now} }

// Manifest describes the plugin's routes and events. Every route lets signed-in
// users through: the plugin decides per project from its members and, for readers
// who are no members, from whether the host lets them read the project's item.
// Linking a document also needs the host's "read" on it.
func (p *Plugin) Manifest() sdk.Manifest {
	anyone := sdk.PermissionAuthenticated
	route := func(method, path, perm string) sdk.Route {
		return sdk.Route{Method: method, Path: path, Permission: perm}
	}
	return sdk.Manifest{
		Name:    "projects",
		Title:   "Projects",
		Version: "1.0.0",
		Routes: []sdk.Route{
			route(http.MethodPost, "/projects", anyone),
			route(http.MethodGet, "/projects", anyone),
			route(http.MethodGet, "/projects/{id}", anyone),
			route(http.MethodPatch, "/projects/{id}", anyone),
			route(http.MethodDelete, "/projects/{id}", anyone),
			route(http.MethodPut, "/projects/{id}/members/{user_id}", anyone),
			route(http.MethodDelete, "/projects/{id}/members/{user_id}", anyone),
			route(http.MethodPost, "/projects/{id}/tasks", anyone),
			route(http.MethodGet, "/projects/{id}/tasks", anyone),
			route(http.MethodGet, "/projects/{id}/tasks/{task_id}", anyone),
			route(http.MethodPatch, "/projects/{id}/tasks/{task_id}", anyone),
			route(http.MethodDelete, "/projects/{id}/tasks/{task_id}", anyone),
			route(http.MethodPut, "/projects/{id}/documents/{item_id}", "read"),
			route(http.MethodDelete, "/projects/{id}/documents/{document_id}", anyone),
			route(http.MethodGet, "/tasks", anyone),
		},
		Events: []string{"item.deleted", "user.deleted", "space.deleted"},
	}
}

// Init keeps the host. The plugin has no settings: anything but an empty object is
// sdk.ErrInvalid.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, raw json.RawMessage) error {
	var none struct{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&none); err != nil {
		return fmt.Errorf("%w: settings: the plugin has none: %v", sdk.ErrInvalid, err)
	}
	p.host, p.log = h, h.Logger()
	return nil
}

// Handler serves the routes of the manifest.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /projects", p.serve(p.createProject))
	mux.HandleFunc("GET /projects", p.serve(p.listProjects))
	mux.HandleFunc("GET /projects/{id}", p.serve(p.getProject))
	mux.HandleFunc("PATCH /projects/{id}", p.serve(p.patchProject))
	mux.HandleFunc("DELETE /projects/{id}", p.serve(p.deleteProject))
	mux.HandleFunc("PUT /projects/{id}/members/{user_id}", p.serve(p.putMember))
	mux.HandleFunc("DELETE /projects/{id}/members/{user_id}", p.serve(p.deleteMember))
	mux.HandleFunc("POST /projects/{id}/tasks", p.serve(p.createTask))
	mux.HandleFunc("GET /projects/{id}/tasks", p.serve(p.listTasks))
	mux.HandleFunc("GET /projects/{id}/tasks/{task_id}", p.serve(p.getTask))
	mux.HandleFunc("PATCH /projects/{id}/tasks/{task_id}", p.serve(p.patchTask))
	mux.HandleFunc("DELETE /projects/{id}/tasks/{task_id}", p.serve(p.deleteTask))
	mux.HandleFunc("PUT /projects/{id}/documents/{item_id}", p.serve(p.linkDocument))
	mux.HandleFunc("DELETE /projects/{id}/documents/{document_id}", p.serve(p.unlinkDocument))
	mux.HandleFunc("GET /tasks", p.serve(p.myTasks))
	return mux
}

// newID returns a task id: 12 hex digits of milliseconds, then 8 random bytes, so
// ids made later sort later.
func (p *Plugin) newID() string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(p.now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// asPlugin returns ctx acting as the plugin itself: for changes to its own items
// that the plugin has decided the user may make, which the host would otherwise
// allow only their author.
func asPlugin(ctx context.Context) context.Context {
	return sdk.WithCall(ctx, sdk.Call{})
}
