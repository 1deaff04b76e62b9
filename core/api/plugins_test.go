package api_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// pluginDir is a fresh plugin directory holding the SDK's example plugins.
func pluginDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"bookmarks", "views"} {
		data, err := os.ReadFile(testsvc.ExamplePlugin(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var eventually = testsvc.Eventually

// A plugin through the API with a real process: a manager enables it and its routes
// answer within a second, it decorates items, disabling hides it and keeps its data,
// and a plugin killed under load comes back by itself while core routes never fail.
func TestPluginLifecycleThroughTheAPI(t *testing.T) {
	testapp.Each(t, testapp.Options{Env: map[string]string{"PLEIN_PLUGIN_DIR": pluginDir(t)}}, func(t *testing.T, e *testapp.Env) {
		mgr, emp := "manager@demo.plein", "employee@demo.plein"
		news := e.SpaceID("Nieuws & mededelingen")
		r := e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+news+"/posts", map[string]any{"body": "Lees dit later"})
		if r.Status != 201 {
			t.Fatalf("post: %d", r.Status)
		}
		item := r.Map(t)["id"].(string)
		bookmark := "/api/v1/plugins/bookmarks/items/" + item + "/bookmark"

		var list struct {
			Items []struct {
				Name, State string
				Enabled     bool
			}
		}
		e.As(mgr, "GET", "/api/v1/admin/plugins", nil).JSON(t, &list)
		if len(list.Items) != 2 || list.Items[0].Name != "bookmarks" || list.Items[0].Enabled || list.Items[1].Name != "views" {
			t.Fatalf("installed plugins: %+v", list.Items)
		}
		if r := e.As(emp, "PUT", bookmark, nil); r.Status != 404 || !strings.Contains(string(r.Body), "feature_disabled") {
			t.Fatalf("before enabling: %d %s", r.Status, r.Body)
		}
		if r := e.As(emp, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"enabled": true}); r.Status != 403 {
			t.Fatalf("an employee enables: %d", r.Status)
		}
		for _, bad := range []map[string]any{{"enabled": "yes"}, {"spaces": 5}, {"spaces": []string{"no-such-space"}},
			{"roles": []int{1}}, {"settings": []int{1}}, {"colour": "red"}} {
			if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/bookmarks", bad); r.Status < 400 || r.Status >= 500 {
				t.Errorf("PUT %v: %d %s, want a 4xx", bad, r.Status, r.Body)
			}
		}

		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"enabled": true}); r.Status != 200 {
			t.Fatalf("enable: %d %s", r.Status, r.Body)
		}
		took := eventually(t, "routes after enabling", 5*time.Second, func() bool { return e.As(emp, "PUT", bookmark, nil).Status == 201 })
		t.Logf("enabled: routes answered after %s", took)
		if r := e.As(emp, "GET", "/api/v1/features", nil); !strings.Contains(string(r.Body), `"name":"bookmarks"`) {
			t.Errorf("features: %s", r.Body)
		}
		features := func(as string) map[string]map[string]any {
			var it struct{ Features map[string]map[string]any }
			e.As(as, "GET", "/api/v1/items/"+item, nil).JSON(t, &it)
			return it.Features
		}
		if f := features(emp); f["bookmarks"]["bookmarked"] != true {
			t.Errorf("decoration for the employee: %v", f)
		}
		if f := features(mgr); f["bookmarks"]["bookmarked"] != false {
			t.Errorf("decoration for the manager: %v", f)
		}
		if r := e.As(emp, "GET", "/api/v1/feed?space="+news, nil); !strings.Contains(string(r.Body), `"bookmarks":{"bookmarked":true}`) {
			t.Errorf("feed without the decoration: %.400s", r.Body)
		}
		// Two plugins, one user, keys of the same shape: each sees only its own namespace.
		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/views", map[string]any{"enabled": true}); r.Status != 200 {
			t.Fatalf("enable views: %d %s", r.Status, r.Body)
		}
		r = e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+news+"/posts", map[string]any{"body": "Ook lezen"})
		other := r.Map(t)["id"].(string)
		eventually(t, "views routes", 5*time.Second, func() bool {
			return e.As(emp, "POST", "/api/v1/plugins/views/items/"+other+"/view", nil).Status == 200
		})
		if r := e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil); !strings.Contains(string(r.Body), item) ||
			strings.Contains(string(r.Body), other) {
			t.Errorf("bookmarks sees another plugin's keys: %s", r.Body)
		}
		if f := features(emp); f["views"]["viewed"] != false || f["views"]["views"] != 0.0 || f["bookmarks"]["bookmarked"] != true {
			t.Errorf("two plugins' decorations of the bookmarked item: %v", f)
		}
		var viewed struct{ Features map[string]map[string]any }
		e.As(mgr, "GET", "/api/v1/items/"+other, nil).JSON(t, &viewed)
		if v := viewed.Features["views"]; v["views"] != 1.0 || v["viewed"] != false {
			t.Errorf("views of the viewed item, for someone else: %v", v)
		}
		// A plugin route for an item the caller may not read is refused by the host.
		mt := e.SpaceID("Managementteam")
		r = e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+mt+"/posts", map[string]any{"body": "Vertrouwelijk"})
		secret := r.Map(t)["id"].(string)
		if r := e.As(emp, "PUT", "/api/v1/plugins/bookmarks/items/"+secret+"/bookmark", nil); r.Status != 404 {
			t.Errorf("bookmark an unreadable item: %d %s", r.Status, r.Body)
		}

		// kill -9 under load: core routes keep answering, the plugin's answer 503 and
		// then recover by themselves.
		var pid int
		for _, p := range processesOf(t, "bookmarks") { // views keeps running
			pid = p
		}
		if pid == 0 {
			t.Fatal("no bookmarks process")
		}
		stop := make(chan struct{})
		var coreErrors, coreCalls int
		var wg sync.WaitGroup
		wg.Go(func() {
			tok := e.Token(emp)
			for {
				select {
				case <-stop:
					return
				default:
				}
				coreCalls++
				if r := e.Do("GET", "/api/v1/feed?space="+news, tok, nil); r.Status != 200 {
					coreErrors++
				}
			}
		})
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, "503 while down", 5*time.Second, func() bool {
			r := e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil)
			return r.Status == 503 && strings.Contains(string(r.Body), "plugin_unavailable")
		})
		took = eventually(t, "back after the crash", 15*time.Second, func() bool {
			return e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil).Status == 200
		})
		close(stop)
		wg.Wait()
		t.Logf("after kill -9: back in %s; core routes: %d calls, %d errors", took, coreCalls, coreErrors)
		if coreErrors != 0 {
			t.Errorf("%d core requests failed while the plugin was down", coreErrors)
		}

		// Disable: routes 404, no decoration, not a feature, the process gone.
		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"enabled": false}); r.Status != 200 {
			t.Fatalf("disable: %d", r.Status)
		}
		eventually(t, "routes after disabling", 5*time.Second, func() bool {
			return e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil).Status == 404
		})
		eventually(t, "process gone", 5*time.Second, func() bool { return len(processesOf(t, "bookmarks")) == 0 })
		if f := features(emp); f["bookmarks"] != nil {
			t.Errorf("decoration while disabled: %v", f)
		}
		if r := e.As(emp, "GET", "/api/v1/features", nil); strings.Contains(string(r.Body), "bookmarks") {
			t.Errorf("features while disabled: %s", r.Body)
		}
		// Enabled again: the data is there.
		e.As(mgr, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"enabled": true})
		eventually(t, "routes after enabling again", 5*time.Second, func() bool {
			r := e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil)
			return r.Status == 200 && strings.Contains(string(r.Body), item)
		})
		// Deleting an item reaches the plugin as an event: its bookmark goes too.
		if r := e.As("admin@demo.plein", "DELETE", "/api/v1/items/"+item, nil); r.Status != 204 {
			t.Fatalf("delete the item: %d", r.Status)
		}
		took = eventually(t, "item.deleted delivered", 10*time.Second, func() bool {
			r := e.As(emp, "GET", "/api/v1/plugins/bookmarks/bookmarks", nil)
			return r.Status == 200 && !strings.Contains(string(r.Body), item)
		})
		t.Logf("item deleted: the plugin dropped its bookmark after %s", took)
		r = e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+news+"/posts", map[string]any{"body": "Nog een"})
		item = r.Map(t)["id"].(string)
		bookmark = "/api/v1/plugins/bookmarks/items/" + item + "/bookmark"
		// Enabled for one space only: items elsewhere carry no decoration.
		hr := e.SpaceID("Kennisbank")
		e.As(mgr, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"spaces": []string{hr}})
		eventually(t, "scope to one space", 5*time.Second, func() bool { return features(emp)["bookmarks"] == nil })
		if r := e.As(emp, "PUT", bookmark, nil); r.Status != 404 {
			t.Errorf("a route for an item outside the plugin's spaces: %d", r.Status)
		}
	})
}

// processesOf lists the pids of running processes whose command is name.
func processesOf(t *testing.T, name string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil || strings.Contains(string(stat), ") Z ") { // a zombie is gone
			continue
		}
		var pid int
		for _, c := range e.Name() {
			pid = pid*10 + int(c-'0')
		}
		pids = append(pids, pid)
	}
	return pids
}

// TestPluginDefaultPoliciesComeOnceAndStayTheManagers checks a manifest's default
// policy lines through a real process: the first run adds them (employees may "use"
// bookmarks, an external party may not), and a manager who removes them keeps them
// removed after the plugin restarts.
func TestPluginDefaultPoliciesComeOnceAndStayTheManagers(t *testing.T) {
	testapp.Each(t, testapp.Options{Env: map[string]string{"PLEIN_PLUGIN_DIR": pluginDir(t)}}, func(t *testing.T, e *testapp.Env) {
		admin, emp, ext := "admin@demo.plein", "employee@demo.plein", "external@demo.plein"
		const limits = "/api/v1/plugins/bookmarks/limits"
		setEnabled := func(on bool) {
			if r := e.As(admin, "PUT", "/api/v1/admin/plugins/bookmarks", map[string]any{"enabled": on}); r.Status != 200 {
				t.Fatalf("enabled=%v: %d %s", on, r.Status, r.Body)
			}
		}
		setEnabled(true)
		eventually(t, "the employee uses bookmarks", 5*time.Second, func() bool { return e.As(emp, "GET", limits, nil).Status == 200 })
		if r := e.As(ext, "GET", limits, nil); r.Status != 403 {
			t.Fatalf("an external party: %d %s", r.Status, r.Body)
		}
		var pol struct {
			Permissions []map[string]string `json:"permissions"`
			Inheritance []map[string]string `json:"inheritance"`
		}
		e.As(admin, "GET", "/api/v1/admin/policies", nil).JSON(t, &pol)
		n := len(pol.Permissions)
		pol.Permissions = slices.DeleteFunc(pol.Permissions, func(p map[string]string) bool { return p["object"] == "plugin-bookmarks" })
		if len(pol.Permissions) != n-1 {
			t.Fatalf("the default line is not in the policy once: %d lines before, %d after", n, len(pol.Permissions))
		}
		if r := e.As(admin, "PUT", "/api/v1/admin/policies", pol); r.Status != 200 {
			t.Fatalf("removing the line: %d %s", r.Status, r.Body)
		}
		eventually(t, "the employee refused", 5*time.Second, func() bool { return e.As(emp, "GET", limits, nil).Status == 403 })
		setEnabled(false)
		eventually(t, "disabled", 5*time.Second, func() bool { return e.As(admin, "GET", limits, nil).Status == 404 })
		setEnabled(true)
		eventually(t, "enabled again", 5*time.Second, func() bool { return e.As(admin, "GET", limits, nil).Status == 200 })
		if r := e.As(emp, "GET", limits, nil); r.Status != 403 {
			t.Fatalf("after a restart the removed line came back: %d", r.Status)
		}
	})
}
