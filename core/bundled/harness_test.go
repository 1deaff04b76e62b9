package bundled_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// pluginDir is a fresh plugin directory holding the named bundled plugins.
func pluginDir(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		data, err := os.ReadFile(testsvc.BundledPlugin(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withPlugins returns options serving the named bundled plugins (installed, not yet
// enabled: enable them as a manager with enable).
func withPlugins(t testing.TB, opts testapp.Options, names ...string) testapp.Options {
	t.Helper()
	env := map[string]string{}
	for k, v := range opts.Env {
		env[k] = v
	}
	env["PLEIN_PLUGIN_DIR"] = pluginDir(t, names...)
	opts.Env = env
	return opts
}

// enable switches a plugin on for everyone as the demo manager and waits until its
// process answers.
func enable(t testing.TB, e *testapp.Env, name string) {
	t.Helper()
	if r := e.As("manager@demo.plein", "PUT", "/api/v1/admin/plugins/"+name, map[string]any{"enabled": true}); r.Status != 200 {
		t.Fatalf("enable %s: %d %s", name, r.Status, r.Body)
	}
	testsvc.Eventually(t, name+" running", 10e9, func() bool {
		var st struct{ State string }
		e.As("manager@demo.plein", "GET", "/api/v1/admin/plugins/"+name, nil).JSON(t, &st)
		return st.State == "running"
	})
}
