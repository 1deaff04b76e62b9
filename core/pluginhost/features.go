package pluginhost

import (
	"context"
	"encoding/json"
	"github.com/pleinhq/plein/sdk"
	"slices"

	"github.com/pleinhq/plein/core/authz"
)

// Feature is an enabled plugin as a user sees it (GET /api/v1/features).
type Feature struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Version string `json:"version"`
	// Spaces are the spaces it is on that the user may read; null means everywhere.
	Spaces []string `json:"spaces"`
}

// Features returns the features on for p, sorted by name: the enabled plugins whose
// roles include one of p's and whose spaces include one p may read (or, with
// spaceID, that space). A plugin that never described itself is left out until it
// has run. None is an empty slice.
func (h *Host) Features(p *authz.Principal, spaceID string) []Feature {
	out := []Feature{}
	if p == nil {
		return out
	}
	var readable *authz.SpaceSet
	for _, in := range h.instancesList() {
		rec, _, ok := h.lookup(in.name)
		if !ok || !rec.Enabled || !rolesAllow(rec.Roles, p) {
			continue
		}
		m := in.manifestOr(rec.Manifest)
		if m == nil {
			continue
		}
		f := Feature{Name: rec.Name, Title: m.Title, Version: m.Version}
		if rec.Spaces != nil {
			if readable == nil {
				r := h.cfg.Authz.Readable(p)
				readable = &r
			}
			f.Spaces = []string{}
			for _, s := range rec.Spaces {
				if readable.Has(s) {
					f.Spaces = append(f.Spaces, s)
				}
			}
			if len(f.Spaces) == 0 || (spaceID != "" && !slices.Contains(f.Spaces, spaceID)) {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// manifestOr returns what the running binary says of itself, which is newer than a
// record read before it started, or else rec; nil if neither knows.
func (in *instance) manifestOr(rec *sdk.Manifest) *sdk.Manifest {
	if pr, release, running := in.acquire(); running {
		m := pr.manifest
		release()
		return &m
	}
	return rec
}

// Scope is where and for whom a plugin is on; null means everywhere (everyone).
type Scope struct {
	Spaces []string `json:"spaces"`
	Roles  []string `json:"roles"`
}

// Status is a plugin as managers see it (GET /api/v1/admin/plugins).
type Status struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Version string `json:"version"`
	Enabled bool   `json:"enabled"`
	// State is this replica's state of the plugin; Error says why it is down or
	// restarting.
	State    State           `json:"state"`
	Error    string          `json:"error,omitempty"`
	Failures int             `json:"failures"`
	Scope    Scope           `json:"scope"`
	Settings json.RawMessage `json:"settings"`
	// SettingsSchema is the JSON schema of Settings from the manifest, or null.
	SettingsSchema json.RawMessage `json:"settings_schema"`
	SHA256         string          `json:"sha256"`
}

// Plugins returns every installed plugin with its desired state and its state on this
// replica, sorted by name; it records the checksum of binaries seen for the first
// time. It returns an error if the state table or the plugin directory cannot be
// read.
func (h *Host) Plugins(ctx context.Context) ([]Status, error) {
	recs, err := h.reg.Scan(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(recs))
	for i, rec := range recs {
		out[i] = h.status(rec)
	}
	return out, nil
}

// Plugin returns one plugin as Plugins does, or a NotFound fault.
func (h *Host) Plugin(ctx context.Context, name string) (Status, error) {
	rec, err := h.reg.Get(ctx, name)
	if err != nil {
		return Status{}, err
	}
	return h.status(rec), nil
}

func (h *Host) status(rec Record) Status {
	st := Status{Name: rec.Name, Enabled: rec.Enabled, State: rec.State, Error: rec.LastError, Failures: rec.Failures,
		Scope: Scope{Spaces: rec.Spaces, Roles: rec.Roles}, Settings: rec.Settings, SHA256: rec.SHA256}
	if rec.Manifest != nil {
		st.Title, st.Version, st.SettingsSchema = rec.Manifest.Title, rec.Manifest.Version, rec.Manifest.Settings
	}
	if len(st.Settings) == 0 {
		st.Settings = json.RawMessage(`{}`)
	}
	if rec.Refused != "" {
		st.State, st.Error = StateRefused, rec.Refused
	}
	if _, in, ok := h.lookup(rec.Name); ok && in != nil {
		st.State, st.Error, st.Failures = in.snapshot()
		if rec.Refused != "" && st.State != StateRunning {
			st.State, st.Error = StateRefused, rec.Refused
		}
	}
	if st.State == "" {
		st.State = StateStopped
	}
	return st
}
