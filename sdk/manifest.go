package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// APIVersion is the version of the plugin protocol this SDK speaks. The host refuses
// a plugin whose manifest names a version it does not serve.
const APIVersion = 1

// PermissionAuthenticated is the route permission that lets every signed-in user call
// the route; the plugin then decides per object.
const PermissionAuthenticated = "public-authenticated"

// Manifest describes a plugin to the host: what it is called, which routes it serves
// and who may call them, which events it wants and which item fields it adds.
type Manifest struct {
	// Name is the plugin's unique name: lower-case letters, digits and dashes,
	// starting with a letter, at most 40 characters. Its routes live under
	// /api/v1/plugins/<name>.
	Name string `json:"name"`
	// Title is the human name shown to managers.
	Title string `json:"title"`
	// Version is the plugin's own version, e.g. "1.2.0".
	Version string `json:"version"`
	// APIVersion is the protocol version the plugin was built for; zero means this
	// SDK's APIVersion.
	APIVersion int `json:"api_version"`
	// Routes are the only requests the host forwards to the plugin.
	Routes []Route `json:"routes"`
	// Events are the event types the host delivers to the plugin's EventHandler.
	Events []string `json:"events,omitempty"`
	// Decorations name the fields the plugin's Decorator adds to items.
	Decorations []string `json:"decorations,omitempty"`
	// Fields are decoration fields the host fills itself from the plugin's KV and
	// counters, without calling the plugin: the fast way to decorate a feed. A plugin
	// with Fields is not asked to Decorate.
	Fields []Field `json:"fields,omitempty"`
	// Settings is a JSON schema of the settings object managers may set; Init gets
	// the object.
	Settings json.RawMessage `json:"settings,omitempty"`
	// Policies are default Casbin policy lines ("p, role, domain, object, action")
	// the host adds once, when the plugin first runs. They may grant actions on
	// "plugin-<name>" in the global domain (routes without an item or a space) and on
	// "item-<kind>" for the plugin's own kinds; the host leaves out anything else.
	Policies []string `json:"policies,omitempty"`
}

// The sources of a Field.
const (
	FromCounter  = "counter"   // the counter's value, 0 when missing
	FromKVExists = "kv-exists" // whether the key holds a value
	FromKVValue  = "kv-value"  // the key's value, which must be JSON; null when missing
)

// Field is one member of a plugin's decoration that the host reads itself. Key is a
// template in which {item} is the item's id and {user} the reader's, each escaped
// with url.PathEscape, e.g. "likes/{item}" or "u/{user}/{item}".
type Field struct {
	Name string `json:"name"`
	From string `json:"from"`
	Key  string `json:"key"`
}

// KeyFor returns the field's key for an item and a reader: Key with each "{item}"
// and "{user}" replaced by the path-escaped id. The host calls it for every field
// of every item of a feed page, so it builds the key in one pass.
func (f Field) KeyFor(itemID, userID string) string {
	key := f.Key
	if strings.IndexByte(key, '{') < 0 {
		return key
	}
	var b strings.Builder
	b.Grow(len(key) + len(itemID) + len(userID))
	for {
		i := strings.IndexByte(key, '{')
		if i < 0 {
			b.WriteString(key)
			return b.String()
		}
		b.WriteString(key[:i])
		switch rest := key[i:]; {
		case strings.HasPrefix(rest, "{item}"):
			b.WriteString(url.PathEscape(itemID))
			key = rest[len("{item}"):]
		case strings.HasPrefix(rest, "{user}"):
			b.WriteString(url.PathEscape(userID))
			key = rest[len("{user}"):]
		default:
			b.WriteByte('{')
			key = rest[1:]
		}
	}
}

// Route is one HTTP route of a plugin.
type Route struct {
	// Method is an HTTP method: GET, HEAD, POST, PUT, PATCH or DELETE.
	Method string `json:"method"`
	// Path is a net/http ServeMux path pattern relative to the plugin's base path,
	// e.g. "/items/{item_id}/like".
	Path string `json:"path"`
	// Permission is what the host checks before it forwards a request: an action
	// such as "read", "create" or "moderate" (on the item named by {item_id} when
	// the path has one), or PermissionAuthenticated.
	Permission string `json:"permission"`
}

// Pattern returns the route as a net/http ServeMux pattern, e.g.
// "PUT /items/{item_id}/like".
func (r Route) Pattern() string {
	return r.Method + " " + r.Path
}

var routeMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
}

// Validate reports the first thing wrong with m as an error wrapping ErrInvalid, or
// nil if m is a manifest the host can install.
func (m Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: manifest: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !ValidName(m.Name) {
		return bad("name %q: want lower-case letters, digits and dashes, starting with a letter, at most 40 characters", m.Name)
	}
	if strings.TrimSpace(m.Title) == "" || strings.TrimSpace(m.Version) == "" {
		return bad("title and version are required")
	}
	if m.APIVersion != 0 && m.APIVersion != APIVersion {
		return bad("api_version %d: this SDK speaks %d", m.APIVersion, APIVersion)
	}
	mux := http.NewServeMux()
	for i, r := range m.Routes {
		if !routeMethods[r.Method] {
			return bad("route %d: method %q", i, r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			return bad("route %d: path %q must start with /", i, r.Path)
		}
		if strings.TrimSpace(r.Permission) == "" {
			return bad("route %d: permission is required", i)
		}
		if err := register(mux, r.Pattern()); err != nil {
			return bad("route %d: %v", i, err)
		}
	}
	for _, list := range [][]string{m.Events, m.Decorations, m.Policies} {
		for _, s := range list {
			if strings.TrimSpace(s) == "" {
				return bad("events, decorations and policies must not hold empty strings")
			}
		}
	}
	seen := map[string]bool{}
	for i, f := range m.Fields {
		switch {
		case f.Name == "" || seen[f.Name]:
			return bad("field %d: a name, once", i)
		case f.From != FromCounter && f.From != FromKVExists && f.From != FromKVValue:
			return bad("field %s: from %q: want %q, %q or %q", f.Name, f.From, FromCounter, FromKVExists, FromKVValue)
		case !strings.Contains(f.Key, "{item}") || strings.Count(strings.NewReplacer("{item}", "", "{user}", "").Replace(f.Key), "{") > 0:
			return bad("field %s: key %q must hold {item}, and no placeholder but {item} and {user}", f.Name, f.Key)
		case len(f.Key) > MaxKeySize/2:
			return bad("field %s: key template too long", f.Name)
		}
		seen[f.Name] = true
	}
	if len(m.Settings) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(m.Settings, &schema); err != nil {
			return bad("settings must be a JSON object: %v", err)
		}
	}
	return nil
}

// withAPIVersion returns m with a zero APIVersion set to APIVersion.
func (m Manifest) withAPIVersion() Manifest {
	if m.APIVersion == 0 {
		m.APIVersion = APIVersion
	}
	return m
}

// register adds pattern to mux, returning ServeMux's panic (a bad or conflicting
// pattern) as an error.
func register(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// ValidName reports whether s can name a plugin: lower-case letters, digits and
// dashes, starting with a letter, at most 40 characters.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
