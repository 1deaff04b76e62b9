package sdk

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func validManifest() Manifest {
	return Manifest{
		Name: "likes", Title: "Likes", Version: "1.0.0",
		Routes: []Route{
			{Method: "PUT", Path: "/items/{item_id}/like", Permission: "read"},
			{Method: "GET", Path: "/items/{item_id}", Permission: "read"},
		},
		Events:      []string{"item.deleted"},
		Decorations: []string{"likes"},
		Settings:    json.RawMessage(`{"type":"object"}`),
	}
}

func TestManifestValidateAcceptsAValidManifest(t *testing.T) {
	if err := validManifest().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestManifestValidateRefusesWhatTheHostCannotInstall(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
	}{
		{"empty name", func(m *Manifest) { m.Name = "" }},
		{"upper-case name", func(m *Manifest) { m.Name = "Likes" }},
		{"name with a slash", func(m *Manifest) { m.Name = "a/b" }},
		{"name starting with a digit", func(m *Manifest) { m.Name = "1likes" }},
		{"name over 40 characters", func(m *Manifest) { m.Name = "a234567890123456789012345678901234567890x" }},
		{"no title", func(m *Manifest) { m.Title = " " }},
		{"no version", func(m *Manifest) { m.Version = "" }},
		{"other api version", func(m *Manifest) { m.APIVersion = 2 }},
		{"unknown method", func(m *Manifest) { m.Routes[0].Method = "TRACE" }},
		{"relative path", func(m *Manifest) { m.Routes[0].Path = "items" }},
		{"no permission", func(m *Manifest) { m.Routes[0].Permission = "" }},
		{"bad wildcard", func(m *Manifest) { m.Routes[0].Path = "/items/{item id}" }},
		{"duplicate route", func(m *Manifest) { m.Routes[1] = m.Routes[0] }},
		{"empty event", func(m *Manifest) { m.Events = []string{""} }},
		{"settings not an object", func(m *Manifest) { m.Settings = json.RawMessage(`[1]`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validManifest()
			tt.change(&m)
			if err := m.Validate(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRoutePatternIsAServeMuxPattern(t *testing.T) {
	r := Route{Method: "PUT", Path: "/items/{item_id}/like"}
	if got, want := r.Pattern(), "PUT /items/{item_id}/like"; got != want {
		t.Fatalf("Pattern() = %q, want %q", got, want)
	}
}

func TestWithAPIVersionFillsOnlyZero(t *testing.T) {
	if got := (Manifest{}).withAPIVersion().APIVersion; got != APIVersion {
		t.Fatalf("zero became %d, want %d", got, APIVersion)
	}
	if got := (Manifest{APIVersion: 7}).withAPIVersion().APIVersion; got != 7 {
		t.Fatalf("7 became %d", got)
	}
}

// FuzzFieldKeyFor checks KeyFor against the obvious replacement, for any key and ids.
func FuzzFieldKeyFor(f *testing.F) {
	for _, k := range []string{"n/{item}", "l/{item}/{user}", "{user}{item}{", "{{item}}", "plain", "{ite{item}m}", "", "{user"} {
		f.Add(k, "01jd3", "u/1 x")
	}
	f.Fuzz(func(t *testing.T, key, item, user string) {
		want := strings.NewReplacer("{item}", url.PathEscape(item), "{user}", url.PathEscape(user)).Replace(key)
		if got := (Field{Key: key}).KeyFor(item, user); got != want {
			t.Fatalf("KeyFor(%q, %q, %q) = %q, want %q", key, item, user, got, want)
		}
	})
}
