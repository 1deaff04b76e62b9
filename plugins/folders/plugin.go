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

// Plugin is the folders plugin. Everything it keeps is in its KV namespace, its
// counters and its blobs (see store.go); no file is an item, so files never reach the
// core's feed or search.
type Plugin struct {
	host     *sdk.Host
	log      *slog.Logger
	settings config
	// now is the clock of share expiries and deletion grace periods.
	now func() time.Time
}

// New returns the plugin, ready for sdk.Serve or plugintest.
func New() *Plugin { return &Plugin{now: time.Now} }

// Settings are what a manager may set in PUT /api/v1/admin/plugins/folders.
type Settings struct {
	// QuotaBytes is each user's quota; 1 GiB when unset.
	QuotaBytes int64 `json:"quota_bytes"`
	// UserQuotas overrides QuotaBytes for some users, by user id.
	UserQuotas map[string]int64 `json:"user_quotas"`
	// MaxFolders caps each user's folders; 1000 when unset.
	MaxFolders int `json:"max_folders"`
	// DeletedUserGrace is how long a deleted user's folder is kept before it is
	// removed, as a Go duration; "720h" when unset, "0s" removes it at the next sweep.
	DeletedUserGrace string `json:"deleted_user_grace"`
	// SweepInterval is how often deleted users' folders are looked for; "1h" when
	// unset, at least "1s".
	SweepInterval string `json:"sweep_interval"`
}

// config is Settings checked, with defaults and durations parsed.
type config struct {
	quota      int64
	userQuotas map[string]int64
	maxFolders int
	grace      time.Duration
	sweepEvery time.Duration
}

// settingsSchema is the JSON schema managers see.
const settingsSchema = `{"type":"object","additionalProperties":false,"properties":{` +
	`"quota_bytes":{"type":"integer","minimum":0,"default":1073741824,"description":"Each user's quota in bytes"},` +
	`"user_quotas":{"type":"object","additionalProperties":{"type":"integer","minimum":0},"description":"Quotas of some users, by user id"},` +
	`"max_folders":{"type":"integer","minimum":1,"maximum":10000,"default":1000,"description":"Most folders per user"},` +
	`"deleted_user_grace":{"type":"string","default":"720h","description":"How long a deleted user's folder is kept, such as 720h"},` +
	`"sweep_interval":{"type":"string","default":"1h","description":"How often deleted users' folders are looked for, such as 1h"}}}`

// route is one route of the plugin: the manifest's and the handler's.
type route struct {
	method, path string
	handle       http.HandlerFunc
}

// routes lists every route. Each lets any signed-in user through the host: every
// folder and file belongs to one user, and the plugin decides per object whether the
// caller is its owner or one of its grantees.
func (p *Plugin) routes() []route {
	rs := []route{
		{"GET", "/me", p.getMe},
		{"GET", "/me/items", p.listRoot},
		{"POST", "/me/files", p.upload},
		{"POST", "/folders", p.createFolder},
		{"GET", "/folders/{id}/items", p.listFolder},
		{"GET", "/files/{id}/content", p.content},
		{"GET", "/shared-with-me", p.sharedWithMe},
		{"GET", "/search", p.search},
	}
	for _, kind := range []string{kindFolder, kindFile} {
		base := "/" + kind + "s/{id}"
		rs = append(rs,
			route{"GET", base, p.getNode(kind)},
			route{"PATCH", base, p.patchNode(kind)},
			route{"DELETE", base, p.deleteNode(kind)},
			route{"GET", base + "/shares", p.getShare(kind)},
			route{"PUT", base + "/shares", p.putShare(kind)},
			route{"DELETE", base + "/shares", p.deleteShare(kind)},
		)
	}
	return rs
}

// Manifest describes the plugin's routes, settings and the event it follows.
func (p *Plugin) Manifest() sdk.Manifest {
	var routes []sdk.Route
	for _, r := range p.routes() {
		routes = append(routes, sdk.Route{Method: r.method, Path: r.path, Permission: sdk.PermissionAuthenticated})
	}
	return sdk.Manifest{
		Name:     "folders",
		Title:    "Personal folders",
		Version:  "1.0.0",
		Routes:   routes,
		Events:   []string{"user.deleted"},
		Settings: json.RawMessage(settingsSchema),
	}
}

// Init keeps the host, checks the settings (unknown or out-of-range ones are
// sdk.ErrInvalid) and starts the sweep of deleted users' folders, which lives as long
// as the process: the host stops the process to disable the plugin or change its
// settings.
func (p *Plugin) Init(_ context.Context, h *sdk.Host, raw json.RawMessage) error {
	c, err := parseSettings(raw)
	if err != nil {
		return fmt.Errorf("%w: settings: %v", sdk.ErrInvalid, err)
	}
	p.host, p.log, p.settings = h, h.Logger(), c
	go p.sweepLoop(context.Background())
	return nil
}

func parseSettings(raw json.RawMessage) (config, error) {
	s := Settings{QuotaBytes: 1 << 30, MaxFolders: 1000, DeletedUserGrace: "720h", SweepInterval: "1h"}
	if err := decodeStrict(raw, &s); err != nil {
		return config{}, err
	}
	c := config{quota: s.QuotaBytes, userQuotas: s.UserQuotas, maxFolders: s.MaxFolders}
	if s.QuotaBytes < 0 {
		return c, fmt.Errorf("quota_bytes must not be negative")
	}
	for user, q := range s.UserQuotas {
		if q < 0 {
			return c, fmt.Errorf("user_quotas: %q: must not be negative", user)
		}
	}
	if s.MaxFolders < 1 || s.MaxFolders > 10000 {
		return c, fmt.Errorf("max_folders must be from 1 to 10000")
	}
	var err error
	if c.grace, err = time.ParseDuration(s.DeletedUserGrace); err != nil || c.grace < 0 {
		return c, fmt.Errorf("deleted_user_grace: want a duration such as 720h, got %q", s.DeletedUserGrace)
	}
	if c.sweepEvery, err = time.ParseDuration(s.SweepInterval); err != nil || c.sweepEvery < time.Second {
		return c, fmt.Errorf("sweep_interval: want a duration of at least 1s such as 1h, got %q", s.SweepInterval)
	}
	return c, nil
}

// quotaOf returns a user's quota in bytes.
func (c config) quotaOf(user string) int64 {
	if q, ok := c.userQuotas[user]; ok {
		return q
	}
	return c.quota
}

// Handler serves the routes of the manifest.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range p.routes() {
		mux.HandleFunc(r.method+" "+r.path, r.handle)
	}
	return mux
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and trailing
// data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}
