package store

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzJSONStrings checks jsonStrings against encoding/json: the same strings come
// back out, whatever they hold.
func FuzzJSONStrings(f *testing.F) {
	for _, s := range []string{"", "l/01jd/ann", `a"b`, `a\b`, "\x00\n", "é\u2028", "\xff", "<&>"} {
		f.Add(s, "n/x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ids := []string{a, b}
		var got, want []string
		if err := json.Unmarshal([]byte(jsonStrings(ids)), &got); err != nil {
			t.Fatalf("%q: %v", jsonStrings(ids), err)
		}
		enc, _ := json.Marshal(ids)
		_ = json.Unmarshal(enc, &want)
		if !slices.Equal(got, want) {
			t.Fatalf("jsonStrings(%q) reads back %q, encoding/json %q", ids, got, want)
		}
	})
}
