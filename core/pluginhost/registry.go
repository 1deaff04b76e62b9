package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
)

// State is a plugin's state on one replica.
type State string

// The states of a plugin.
const (
	// StateStarting: enabled and being launched, or waiting to be launched again
	// after a crash. Its routes answer 503 plugin_unavailable.
	StateStarting State = "starting"
	// StateRunning: launched, configured and answering.
	StateRunning State = "running"
	// StateStopped: disabled (or never enabled); no process.
	StateStopped State = "stopped"
	// StateFailed: it crashed too often, or refused its settings; it stays down until
	// Reset or another change of its state.
	StateFailed State = "failed"
	// StateRefused: its binary is missing or differs from the approved one; it stays
	// down until Approve.
	StateRefused State = "refused"
)

// ChangeKind is the kind of the changes.Change the registry publishes when a plugin's
// desired state changes; its ID is the plugin's name.
const ChangeKind changes.Kind = "plugin"

// Record is an installed plugin as the registry knows it: its desired state from SQL
// and its binary on this replica.
type Record struct {
	Name    string
	Enabled bool
	// Spaces and Roles narrow where the feature is on and for whom; nil means every
	// space and every role, an empty list none.
	Spaces []string
	Roles  []string
	// Settings is the JSON object the plugin's Init receives.
	Settings json.RawMessage
	// SHA256 is the hex checksum of the approved binary.
	SHA256 string
	// Manifest is what the binary last said it is; nil until it has run or been
	// installed.
	Manifest *sdk.Manifest
	// State, Failures and LastError are what a replica last reported.
	State     State
	Failures  int
	LastError string
	// Generation grows with every change of the desired state.
	Generation int64
	UpdatedAt  time.Time

	// Path is the binary on this replica, "" if there is none.
	Path string
	// Refused says why this replica will not launch the binary ("" if it will): it
	// is missing, or its checksum is not the approved one.
	Refused string
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	DB *store.DB
	// Dir is the plugin directory: every executable in it whose file name is a
	// plugin name is a plugin.
	Dir string
	// Changes carries desired-state changes to every replica. Nil (a command-line
	// tool without a bus) publishes nothing; replicas catch up on their next resync.
	Changes *changes.Notifier
	Log     *slog.Logger
	// ManifestTimeout bounds "<binary> manifest" in Install; 0 means 10 seconds.
	ManifestTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Policies receives each plugin's default policy lines once, when it first
	// runs; nil loads none.
	Policies PolicyAdder
}

// PolicyAdder adds policy lines the policy does not hold yet (authz.Authorizer).
type PolicyAdder interface {
	AddPermissions(ctx context.Context, add []authz.Permission) (int, error)
}

// Registry keeps the installed plugins: the binaries in the plugin directory, their
// approved checksums and their desired state in plugin_state. It is safe for
// concurrent use.
type Registry struct {
	cfg RegistryConfig

	mu     sync.Mutex
	hashes map[string]fileHash // by path, valid while size and mtime stay
	warned map[string]bool     // file names already reported as not plugins
}

type fileHash struct {
	size int64
	mod  time.Time
	sum  string
}

// NewRegistry returns a registry over cfg.Dir and cfg.DB; it touches neither until
// called.
func NewRegistry(cfg RegistryConfig) *Registry {
	if cfg.ManifestTimeout == 0 {
		cfg.ManifestTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Registry{cfg: cfg, hashes: map[string]fileHash{}, warned: map[string]bool{}}
}

// Dir returns the plugin directory.
func (r *Registry) Dir() string { return r.cfg.Dir }

// ValidName reports whether s can name a plugin (sdk.ValidName).
func ValidName(s string) bool { return sdk.ValidName(s) }

const stateColumns = `name, enabled, spaces, roles, settings, sha256, manifest, state, failures, last_error, generation, updated_at`

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var rec Record
	var spaces, roles, manifest sql.NullString
	var settings, state string
	var updated int64
	err := row.Scan(&rec.Name, &rec.Enabled, &spaces, &roles, &settings, &rec.SHA256, &manifest, &state,
		&rec.Failures, &rec.LastError, &rec.Generation, &updated)
	if err != nil {
		return Record{}, err
	}
	rec.State, rec.UpdatedAt, rec.Settings = State(state), store.FromMicros(updated), json.RawMessage(settings)
	if rec.Spaces, err = decodeList(spaces); err != nil {
		return Record{}, fmt.Errorf("plugin %s spaces: %w", rec.Name, err)
	}
	if rec.Roles, err = decodeList(roles); err != nil {
		return Record{}, fmt.Errorf("plugin %s roles: %w", rec.Name, err)
	}
	if manifest.Valid {
		var m sdk.Manifest
		if err := json.Unmarshal([]byte(manifest.String), &m); err != nil {
			return Record{}, fmt.Errorf("plugin %s manifest: %w", rec.Name, err)
		}
		rec.Manifest = &m
	}
	return rec, nil
}

// decodeList reads a JSON array column; NULL is nil (everything).
func decodeList(s sql.NullString) ([]string, error) {
	if !s.Valid {
		return nil, nil
	}
	out := []string{}
	return out, json.Unmarshal([]byte(s.String), &out)
}

// encodeList writes a list column: nil is NULL.
func encodeList(l []string) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// Scan lists every plugin: each executable in the directory whose name is a plugin
// name, and each plugin the state table knows. A binary seen for the first time has
// its checksum recorded (and logged) and starts disabled. It returns the records
// sorted by name, Refused set where a binary is missing or not the approved one; an
// unreadable directory is an error, a missing one lists the table only.
func (r *Registry) Scan(ctx context.Context) ([]Record, error) {
	binaries, err := r.binaries()
	if err != nil {
		return nil, err
	}
	rows, err := r.cfg.DB.QueryContext(ctx, `SELECT `+stateColumns+` FROM plugin_state ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("plugin state: %w", err)
	}
	byName := map[string]Record{}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("plugin state: %w", err)
		}
		byName[rec.Name] = rec
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("plugin state: %w", err)
	}
	for name := range binaries {
		if _, ok := byName[name]; !ok {
			byName[name] = Record{Name: name}
		}
	}
	out := make([]Record, 0, len(byName))
	for name, rec := range byName {
		rec, err := r.complete(ctx, rec, binaries[name])
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get returns the plugin's record, recording the checksum of a binary seen for the
// first time. It returns a NotFound fault if there is neither a binary nor a row.
func (r *Registry) Get(ctx context.Context, name string) (Record, error) {
	if !ValidName(name) {
		return Record{}, fault.NotFoundf("no such plugin")
	}
	rec, err := scanRecord(r.cfg.DB.QueryRowContext(ctx, `SELECT `+stateColumns+` FROM plugin_state WHERE name = $1`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		rec = Record{Name: name}
	case err != nil:
		return Record{}, fmt.Errorf("plugin %s: %w", name, err)
	}
	path := filepath.Join(r.cfg.Dir, name)
	if !isExecutable(path) {
		path = ""
	}
	if rec.SHA256 == "" && path == "" {
		return Record{}, fault.NotFoundf("no such plugin")
	}
	return r.complete(ctx, rec, path)
}

// complete fills in a record's binary: it records the checksum of a binary without
// a row, and says why the binary is refused, if it is.
func (r *Registry) complete(ctx context.Context, rec Record, path string) (Record, error) {
	rec.Path = path
	if path == "" {
		rec.Refused = fmt.Sprintf("no plugin binary %s", filepath.Join(r.cfg.Dir, rec.Name))
		return rec, nil
	}
	sum, err := r.hash(path)
	if err != nil {
		rec.Refused = fmt.Sprintf("read %s: %v", path, err)
		return rec, nil
	}
	if rec.SHA256 == "" { // first seen
		_, err := r.cfg.DB.ExecContext(ctx, `INSERT INTO plugin_state (name, sha256, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, rec.Name, sum, store.Micros(r.cfg.Now()))
		if err != nil {
			return Record{}, fmt.Errorf("record plugin %s: %w", rec.Name, err)
		}
		// Another replica may have recorded another binary first: its checksum wins.
		stored, err := scanRecord(r.cfg.DB.QueryRowContext(ctx, `SELECT `+stateColumns+` FROM plugin_state WHERE name = $1`, rec.Name))
		if err != nil {
			return Record{}, fmt.Errorf("record plugin %s: %w", rec.Name, err)
		}
		if stored.SHA256 == sum {
			r.cfg.Log.Info("new plugin binary: recorded its checksum; it stays disabled until enabled",
				"plugin", rec.Name, "path", path, "sha256", sum)
		}
		rec = stored
		rec.Path = path
	}
	if rec.SHA256 != sum {
		rec.Refused = fmt.Sprintf("binary %s has SHA-256 %s but %s was approved: it changed since; approve it to run it", path, sum, rec.SHA256)
	}
	return rec, nil
}

// binaries returns the plugin binaries in the directory by name.
func (r *Registry) binaries() (map[string]string, error) {
	entries, err := os.ReadDir(r.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugin directory: %w", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(r.cfg.Dir, name)
		if strings.HasPrefix(name, ".") || !isExecutable(path) {
			continue
		}
		if !ValidName(name) {
			r.mu.Lock()
			warn := !r.warned[name]
			r.warned[name] = true
			r.mu.Unlock()
			if warn {
				r.cfg.Log.Warn("ignoring an executable in the plugin directory: its name is not a plugin name", "path", path)
			}
			continue
		}
		out[name] = path
	}
	return out, nil
}

// isExecutable reports whether path is a regular file (or a link to one) someone may
// execute.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// hash returns the hex SHA-256 of the file, from cache while its size and
// modification time stay. Launch checks the bytes again, so the cache only saves work.
func (r *Registry) hash(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	c, ok := r.hashes[path]
	r.mu.Unlock()
	if ok && c.size == st.Size() && c.mod.Equal(st.ModTime()) {
		return c.sum, nil
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.hashes[path] = fileHash{size: st.Size(), mod: st.ModTime(), sum: sum}
	r.mu.Unlock()
	return sum, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// maxManifest bounds what "<binary> manifest" may print.
const maxManifest = 1 << 20

// Install copies the binary at src into the plugin directory under the name its
// manifest gives, approves its checksum (installing is approving) and returns the
// manifest. The copy is atomic: a temporary file renamed into place, so a running
// replica never sees half a binary. A new plugin starts disabled; a plugin that was
// installed before keeps its desired state and restarts on the new binary. It
// returns an Invalid fault if the binary prints no valid manifest in time.
func (r *Registry) Install(ctx context.Context, src string) (sdk.Manifest, error) {
	in, err := os.Open(src)
	if err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(r.cfg.Dir, 0o750); err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: plugin directory: %w", src, err)
	}
	tmp, err := os.CreateTemp(r.cfg.Dir, ".install-*")
	if err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: %w", src, err)
	}
	installed := false
	defer func() {
		if !installed {
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: copy: %w", src, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	m, err := r.readManifest(ctx, tmp.Name())
	if err != nil {
		return sdk.Manifest{}, fault.Wrap(fault.Invalid, "invalid_plugin", err, fmt.Sprintf("%s is not a Plein plugin: %v", src, err))
	}
	dst := filepath.Join(r.cfg.Dir, m.Name)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: %w", src, err)
	}
	installed = true
	mj, _ := json.Marshal(m)
	_, err = r.cfg.DB.ExecContext(ctx, `INSERT INTO plugin_state (name, sha256, manifest, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, manifest = excluded.manifest,
		state = CASE WHEN plugin_state.state = 'refused' THEN 'stopped' ELSE plugin_state.state END,
		failures = 0, last_error = '', generation = plugin_state.generation + 1, updated_at = excluded.updated_at`,
		m.Name, sum, string(mj), store.Micros(r.cfg.Now()))
	if err != nil {
		return sdk.Manifest{}, fmt.Errorf("install %s: record: %w", m.Name, err)
	}
	r.cfg.Log.Info("installed plugin", "plugin", m.Name, "version", m.Version, "path", dst, "sha256", sum)
	r.announce(ctx, m.Name)
	return m, nil
}

// readManifest runs "<path> manifest" with an empty environment and returns the
// validated manifest it prints.
func (r *Registry) readManifest(ctx context.Context, path string) (sdk.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ManifestTimeout)
	defer cancel()
	var out []byte
	var err error
	var stderr bytes.Buffer
	// A binary written a moment ago can still be open in a child forked meanwhile by
	// another goroutine (golang/go#22315): "text file busy" passes in a moment.
	for attempt := 0; ; attempt++ {
		stdout := &limitedBuffer{max: maxManifest}
		stderr.Reset()
		cmd := exec.CommandContext(ctx, path, "manifest")
		cmd.Env = []string{}
		cmd.Stdout, cmd.Stderr = stdout, &stderr
		cmd.WaitDelay = time.Second // a child that keeps stdout open must not hold us
		err = cmd.Run()
		out = stdout.Bytes()
		if !errors.Is(err, syscall.ETXTBSY) || attempt >= 20 || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return sdk.Manifest{}, fmt.Errorf("%s manifest: %w: %s", filepath.Base(path), err, firstLine(msg))
		}
		return sdk.Manifest{}, fmt.Errorf("%s manifest: %w", filepath.Base(path), err)
	}
	var m sdk.Manifest
	if err := json.Unmarshal(out, &m); err != nil {
		return sdk.Manifest{}, fmt.Errorf("manifest is not JSON: %w", err)
	}
	if err := m.Validate(); err != nil {
		return sdk.Manifest{}, err
	}
	return m, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// limitedBuffer keeps up to max bytes and fails writes past them.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("more than %d bytes of manifest", b.max)
	}
	return b.Buffer.Write(p)
}

// Approve records the checksum of the plugin's binary as it is now, so a binary that
// changed since it was approved runs again, and clears a refusal or failure. It
// returns a NotFound fault if there is no binary of that name.
func (r *Registry) Approve(ctx context.Context, name string) error {
	path := filepath.Join(r.cfg.Dir, name)
	if !ValidName(name) || !isExecutable(path) {
		return fault.NotFoundf("no plugin binary named %q", name)
	}
	sum, err := fileSHA256(path) // not the cache: approve exactly these bytes
	if err != nil {
		return fmt.Errorf("approve %s: %w", name, err)
	}
	_, err = r.cfg.DB.ExecContext(ctx, `INSERT INTO plugin_state (name, sha256, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256,
		state = CASE WHEN plugin_state.state IN ('refused', 'failed') THEN 'stopped' ELSE plugin_state.state END,
		failures = 0, last_error = '', generation = plugin_state.generation + 1, updated_at = excluded.updated_at`,
		name, sum, store.Micros(r.cfg.Now()))
	if err != nil {
		return fmt.Errorf("approve %s: %w", name, err)
	}
	r.cfg.Log.Info("approved plugin binary", "plugin", name, "path", path, "sha256", sum)
	r.announce(ctx, name)
	return nil
}

// StateUpdate changes a plugin's desired state; nil fields stay as they are.
type StateUpdate struct {
	Enabled *bool
	// Spaces and Roles, when set, replace the scope; pointing at a nil slice means
	// every space (every role).
	Spaces *[]string
	Roles  *[]string
	// Settings, when not nil, replaces the settings: a JSON object, at most 64 KiB.
	// Changed settings restart a running plugin.
	Settings json.RawMessage
}

// maxSettings bounds a plugin's settings object.
const maxSettings = 64 << 10

// SetState applies u to the plugin's desired state, tells every replica, and returns
// the new record. This replica applies it at once, the others within a second. A
// change also clears a failure: the plugin is tried again. It returns a NotFound
// fault for an unknown plugin and Invalid faults for bad input.
func (r *Registry) SetState(ctx context.Context, name string, u StateUpdate) (Record, error) {
	if !ValidName(name) {
		return Record{}, fault.NotFoundf("no such plugin")
	}
	sets := []string{"generation = generation + 1", "updated_at = $1", "failures = 0",
		"state = CASE WHEN state = 'failed' THEN 'stopped' ELSE state END"}
	args := []any{store.Micros(r.cfg.Now())}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.Enabled != nil {
		set("enabled", *u.Enabled)
	}
	for _, l := range []struct {
		col  string
		list *[]string
	}{{"spaces", u.Spaces}, {"roles", u.Roles}} {
		if l.list == nil {
			continue
		}
		clean, err := cleanList(l.col, *l.list)
		if err != nil {
			return Record{}, err
		}
		set(l.col, encodeList(clean))
	}
	if u.Settings != nil {
		s, err := cleanSettings(u.Settings)
		if err != nil {
			return Record{}, err
		}
		set("settings", s)
	}
	args = append(args, name)
	res, err := r.cfg.DB.ExecContext(ctx, `UPDATE plugin_state SET `+strings.Join(sets, ", ")+
		fmt.Sprintf(` WHERE name = $%d`, len(args)), args...)
	if err != nil {
		return Record{}, fmt.Errorf("plugin %s: set state: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Record{}, fault.NotFoundf("no such plugin")
	}
	r.announce(ctx, name)
	return r.Get(ctx, name)
}

// cleanList checks a scope list and returns it sorted without duplicates; nil stays nil.
func cleanList(field string, l []string) ([]string, error) {
	if l == nil {
		return nil, nil
	}
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s == "" || len(s) > 200 || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
			return nil, fault.Invalidf(field, "holds an empty or malformed entry")
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// cleanSettings checks settings are one JSON object and returns them compacted.
func cleanSettings(raw json.RawMessage) (string, error) {
	if len(raw) > maxSettings {
		return "", fault.Invalidf("settings", "at most %d bytes", maxSettings)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return "", fault.Invalidf("settings", "must be a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", fault.Invalidf("settings", "must be a JSON object")
	}
	return b.String(), nil
}

// Reset clears a plugin's failure, so the replicas where it failed launch it again if
// it is enabled. It returns a NotFound fault for an unknown plugin.
func (r *Registry) Reset(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fault.NotFoundf("no such plugin")
	}
	res, err := r.cfg.DB.ExecContext(ctx, `UPDATE plugin_state SET failures = 0, last_error = '',
		state = CASE WHEN state = 'failed' THEN 'stopped' ELSE state END, generation = generation + 1 WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("reset plugin %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFoundf("no such plugin")
	}
	r.announce(ctx, name)
	return nil
}

// announce tells every replica that the plugin's desired state changed.
func (r *Registry) announce(ctx context.Context, name string) {
	if r.cfg.Changes != nil {
		r.cfg.Changes.Publish(ctx, changes.Change{Kind: ChangeKind, ID: name})
	}
}

// report records the state this replica sees, for the admin view; best effort.
func (r *Registry) report(ctx context.Context, name string, st State, failures int, lastErr string) {
	_, err := r.cfg.DB.ExecContext(ctx, `UPDATE plugin_state SET state = $1, failures = $2, last_error = $3 WHERE name = $4`,
		string(st), failures, lastErr, name)
	if err != nil && ctx.Err() == nil {
		r.cfg.Log.Warn("record plugin state", "plugin", name, "state", st, "err", err)
	}
}

// saveManifest records what the binary said it is, and adds its default policies
// the first time; best effort.
func (r *Registry) saveManifest(ctx context.Context, m sdk.Manifest) {
	b, _ := json.Marshal(m)
	if _, err := r.cfg.DB.ExecContext(ctx, `UPDATE plugin_state SET manifest = $1 WHERE name = $2`, string(b), m.Name); err != nil && ctx.Err() == nil {
		r.cfg.Log.Warn("record plugin manifest", "plugin", m.Name, "err", err)
	}
	r.loadPolicies(ctx, m)
}

// loadPolicies adds a plugin's default policy lines to the policy once: after that,
// the lines are the managers' to change, and a restart does not bring back a line
// they removed. A line may only grant actions on the plugin itself
// ("plugin-<name>" in the global domain) or on items of a kind it owns
// ("item-<kind>"); other lines are left out with a warning, as are "g" lines: a
// plugin does not change who inherits what.
func (r *Registry) loadPolicies(ctx context.Context, m sdk.Manifest) {
	if r.cfg.Policies == nil || len(m.Policies) == 0 {
		return
	}
	var loaded bool
	err := r.cfg.DB.QueryRowContext(ctx, `SELECT policies_loaded FROM plugin_state WHERE name = $1`, m.Name).Scan(&loaded)
	if err != nil || loaded {
		return
	}
	lines := DefaultPolicies(m, r.cfg.Log)
	n, err := r.cfg.Policies.AddPermissions(ctx, lines)
	if err != nil {
		r.cfg.Log.Warn("plugin default policies not added", "plugin", m.Name, "err", err)
		return
	}
	if _, err := r.cfg.DB.ExecContext(ctx, `UPDATE plugin_state SET policies_loaded = TRUE WHERE name = $1`, m.Name); err != nil {
		r.cfg.Log.Warn("record plugin policies", "plugin", m.Name, "err", err)
		return
	}
	r.cfg.Log.Info("added the plugin's default policies", "plugin", m.Name, "lines", len(lines), "new", n)
}

// DefaultPolicies returns the manifest's policy lines that a plugin may bring: "p"
// lines on "plugin-<name>" in the global domain, or on "item-<kind>" for a kind that
// is not the core's, in the global or "space:*" domain, with a named action. It logs
// what it leaves out.
func DefaultPolicies(m sdk.Manifest, log *slog.Logger) []authz.Permission {
	pl, err := authz.ParsePolicyCSV(strings.Join(m.Policies, "\n"))
	if err != nil {
		log.Warn("plugin default policies unreadable", "plugin", m.Name, "err", err)
		return nil
	}
	if len(pl.Inheritance) > 0 {
		log.Warn("plugin default policies: role inheritance lines left out", "plugin", m.Name, "lines", len(pl.Inheritance))
	}
	var out []authz.Permission
	for _, p := range pl.Permissions {
		kind, isItem := strings.CutPrefix(p.Object, "item-")
		ok := p.Action != "*" && p.Role != "" && p.Role != "*"
		switch {
		case p.Object == PluginObject(m.Name):
			ok = ok && p.Domain == authz.Global
		case isItem:
			ok = ok && kind != "" && kind != "*" && !slices.Contains(coreKinds, kind) && (p.Domain == authz.Global || p.Domain == "space:*")
		default:
			ok = false
		}
		if !ok {
			log.Warn("plugin default policy line left out: a plugin may grant actions on itself or its own kinds of item only",
				"plugin", m.Name, "line", fmt.Sprintf("p, %s, %s, %s, %s", p.Role, p.Domain, p.Object, p.Action))
			continue
		}
		out = append(out, p)
	}
	return out
}

// PluginObject is the policy object of a plugin's routes that name neither an item
// nor a space: "plugin-<name>".
func PluginObject(name string) string { return "plugin-" + name }
