package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
)

// Two replicas on one PostgreSQL database and one Redis, each with the plugin in its
// plugin directory: a plugin enabled through A serves its routes through B within a
// second, and disabled through A is gone from B as fast.
func TestPluginEnabledOnOneReplicaServesOnTheOther(t *testing.T) {
	src, _ := buildBookmarks(t)
	dir := t.TempDir()
	copyFile(t, src, filepath.Join(dir, "bookmarks"))
	env := []string{
		"PLEIN_DATABASE_URL=" + testsvc.PostgresURL(t),
		"PLEIN_REDIS_URL=" + testsvc.RedisURL(t),
		"PLEIN_REDIS_PREFIX=" + testsvc.Name("plugins") + ":",
		"PLEIN_PLUGIN_DIR=" + dir,
	}
	seed := exec.Command(binary, "seed", "demo")
	seed.Env = append(os.Environ(), append(env, "PLEIN_DATA_DIR="+t.TempDir())...)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	a, b := startPlein(t, env...), startPlein(t, env...)
	mgr, emp := a.login("manager@demo.plein"), b.login("employee@demo.plein")
	route := "/api/v1/plugins/bookmarks/bookmarks"
	if code := b.call("GET", route, emp, nil, nil); code != 404 {
		t.Fatalf("before: %d", code)
	}
	if code := a.call("PUT", "/api/v1/admin/plugins/bookmarks", mgr, map[string]any{"enabled": true}, nil); code != 200 {
		t.Fatalf("enable through A: %d", code)
	}
	took := until(t, "enabled through A, served by B", time.Second, func() bool { return b.call("GET", route, emp, nil, nil) == 200 })
	t.Logf("enabled through A: B served the plugin's route after %s", took)

	// A decoration B has read (and keeps) changes through A: B forgets it when A's
	// notice arrives over Redis.
	until(t, "A serves the plugin too", 5*time.Second, func() bool { return a.call("GET", route, emp, nil, nil) == 200 })
	var feed struct {
		Items []struct {
			ID       string                     `json:"id"`
			Features map[string]json.RawMessage `json:"features"`
		} `json:"items"`
	}
	if code := b.call("GET", "/api/v1/feed?limit=1", emp, nil, &feed); code != 200 || len(feed.Items) != 1 {
		t.Fatalf("feed through B: %d, %d items", code, len(feed.Items))
	}
	item := feed.Items[0].ID
	bookmarked := func(p *proc) string {
		var it struct {
			Features map[string]json.RawMessage `json:"features"`
		}
		if code := p.call("GET", "/api/v1/items/"+item, emp, nil, &it); code != 200 {
			t.Fatalf("read the item: %d", code)
		}
		return string(it.Features["bookmarks"])
	}
	if got := bookmarked(b); got != `{"bookmarked":false}` {
		t.Fatalf("through B before: %s", got)
	}
	if code := a.call("PUT", "/api/v1/plugins/bookmarks/items/"+item+"/bookmark", emp, nil, nil); code/100 != 2 {
		t.Fatalf("bookmark through A: %d", code)
	}
	if got := bookmarked(a); got != `{"bookmarked":true}` {
		t.Fatalf("through A after its own write: %s", got)
	}
	took = until(t, "bookmarked through A, seen on B", time.Second, func() bool { return bookmarked(b) == `{"bookmarked":true}` })
	t.Logf("bookmarked through A: B showed it after %s", took)

	if code := a.call("PUT", "/api/v1/admin/plugins/bookmarks", mgr, map[string]any{"enabled": false}, nil); code != 200 {
		t.Fatalf("disable through A: %d", code)
	}
	took = until(t, "disabled through A, gone on B", time.Second, func() bool { return b.call("GET", route, emp, nil, nil) == 404 })
	t.Logf("disabled through A: gone on B after %s", took)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// plein seed demo --enable-plugins (what make run does on a fresh database) turns on
// every plugin in the plugin directory, so a newcomer sees every feature at once.
func TestSeedDemoEnablesEveryPlugin(t *testing.T) {
	src, _ := buildBookmarks(t)
	dir := t.TempDir()
	copyFile(t, src, filepath.Join(dir, "bookmarks"))
	env := append(os.Environ(), "PLEIN_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "plein.db"), "PLEIN_PLUGIN_DIR="+dir,
		"PLEIN_DATA_DIR="+t.TempDir(), "PLEIN_LOG_LEVEL=warn")
	seed := exec.Command(binary, "seed", "demo", "--if-empty", "--enable-plugins")
	seed.Env = env
	out, err := seed.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Enabled for everyone: bookmarks") {
		t.Fatalf("seed demo --enable-plugins: %v\n%s", err, out)
	}
	list := exec.Command(binary, "plugins", "list", "--json")
	list.Env = env
	out, err = list.Output()
	var plugins []struct {
		Name    string
		Enabled bool
	}
	if err != nil || json.Unmarshal(out, &plugins) != nil || len(plugins) != 1 || !plugins[0].Enabled {
		t.Fatalf("plugins after seeding: %v %s", err, out)
	}
}
