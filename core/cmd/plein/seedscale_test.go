package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plein seed scale grows a demo database and writes the manifest; bad sizes and a
// database without the demo are refused with a message, not a panic.
func TestSeedScale(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PLEIN_DATA_DIR": dir, "PLEIN_PLUGIN_DIR": filepath.Join(dir, "plugins"), "PLEIN_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }
	plein := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &out, getenv)
		return code, out.String()
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"seed", "scale", "--users", "-1"}, "users: -1 is out of range"},
		{[]string{"seed", "scale", "--items", "0", "--likes", "5"}, "likes need items"},
		{[]string{"seed", "scale", "--document-kib", "0"}, "--document-kib: 0 is out of range"},
		{[]string{"seed", "scale", "--users", "1", "--items", "1", "--likes", "0", "--documents", "0"}, "run `plein seed demo` first"},
	} {
		if code, out := plein(c.args...); code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", c.args, code, out, c.want)
		}
	}
	if code, out := plein("seed", "demo"); code != 0 {
		t.Fatalf("seed demo: %d %s", code, out)
	}
	manifest := filepath.Join(dir, "manifest.json")
	code, out := plein("seed", "scale", "--users", "5", "--items", "50", "--likes", "100", "--documents", "1", "--document-kib", "4", "--manifest", manifest)
	if code != 0 || !strings.Contains(out, "by 5 users, 50 items") {
		t.Fatalf("seed scale: %d %s", code, out)
	}
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Users []string }
	if err := json.Unmarshal(data, &m); err != nil || len(m.Users) != 5 {
		t.Fatalf("manifest %s: %v", data, err)
	}
	if code, out := plein("seed", "scale", "--users", "5", "--items", "0", "--likes", "0", "--documents", "0"); code != 1 || !strings.Contains(out, "grown already") {
		t.Fatalf("seeding twice: %d %s", code, out)
	}
}
