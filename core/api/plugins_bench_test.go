package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
)

// BenchmarkPluginHop measures what a plugin adds, with real plugin processes, over
// HTTP on loopback, one request at a time, on SQLite:
//
//   - route/core: GET /api/v1/me, authentication and the caller's profile;
//     route/plugin: GET /api/v1/plugins/bookmarks/limits, authentication, the
//     route's checks and the hop to the plugin, which answers from its settings. The
//     p50 difference is the cost of a plugin hop.
//   - route/plugin-host-call: GET /api/v1/plugins/bookmarks/bookmarks, which lists
//     the caller's bookmarks from the plugin's KV: the difference to route/plugin is
//     one call back to the host, with its SQL query.
//   - feed/interleaved: GET /api/v1/feed?limit=20 by two readers whose feeds hold the
//     same items, one request each in turn, with bookmarks and views on only for
//     a role the second one has: its feed is decorated by both, the first one's is
//     plain. Taking turns keeps the machine's drift out of the ratio (p50 decorated
//     / p50 plain, reported as ratio-x100). feed/plain and feed/decorated-by-2 are
//     the same two, one after the other, as earlier runs measured them.
//
// Run: go test -run '^$' -bench PluginHop ./core/api/
func BenchmarkPluginHop(b *testing.B) {
	e := testapp.Start(b, testapp.Options{Env: map[string]string{"PLEIN_PLUGIN_DIR": pluginDir(b), "PLEIN_LOG_LEVEL": "error"}})
	emp := e.Token("employee@demo.plein")
	client := &http.Client{}
	getAs := func(token, path string) time.Duration {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return time.Since(start)
	}
	get := func(path string) time.Duration { return getAs(emp, path) }
	run := func(name, path string) {
		b.Run(name, func(b *testing.B) {
			for range 50 {
				get(path) // warm caches and connections
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				lat = append(lat, get(path))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}

	run("feed/plain", "/api/v1/feed?limit=20")
	// A second reader with the employee's roles and memberships, so the same feed,
	// and a role only the employee gets, which the plugins are on for.
	mgr, admin := e.Token("manager@demo.plein"), e.Token("admin@demo.plein")
	var me struct {
		ID     string   `json:"id"`
		Roles  []string `json:"roles"`
		Spaces []struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"spaces"`
	}
	e.Do("GET", "/api/v1/me", emp, nil).JSON(b, &me)
	created := e.Do("POST", "/api/v1/users", admin, map[string]any{"email": "plain-reader@bench.plein", "name": "Plain Reader",
		"password": "plein-bench-pw", "roles": me.Roles})
	if created.Status != 201 {
		b.Fatalf("second reader: %d %s", created.Status, created.Body)
	}
	twin := created.Map(b)
	for _, sp := range me.Spaces {
		if r := e.Do("PUT", "/api/v1/spaces/"+sp.ID+"/members/"+twin["id"].(string), admin, map[string]any{"role": sp.Role}); r.Status/100 != 2 {
			b.Fatalf("membership: %d %s", r.Status, r.Body)
		}
	}
	if r := e.Do("POST", "/api/v1/roles", admin, map[string]any{"name": "bench-decorated"}); r.Status != 201 {
		b.Fatalf("role: %d %s", r.Status, r.Body)
	}
	if r := e.Do("PUT", "/api/v1/users/"+me.ID+"/roles", admin, map[string]any{"roles": append(slices.Clone(me.Roles), "bench-decorated")}); r.Status/100 != 2 {
		b.Fatalf("roles: %d %s", r.Status, r.Body)
	}
	plainToken := e.Token("plain-reader@bench.plein")
	for _, name := range []string{"bookmarks", "views"} {
		if r := e.As("manager@demo.plein", "PUT", "/api/v1/admin/plugins/"+name, map[string]any{"enabled": true}); r.Status != 200 {
			b.Fatalf("enable %s: %d", name, r.Status)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.Do("GET", "/api/v1/plugins/bookmarks/bookmarks", emp, nil).Status != 200 ||
		e.Do("POST", "/api/v1/plugins/views/items/x/view", emp, nil).Status == 503 {
		if time.Now().After(deadline) {
			b.Fatal("plugins did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	run("feed/decorated-by-2", "/api/v1/feed?limit=20")
	for _, name := range []string{"bookmarks", "views"} {
		if r := e.Do("PUT", "/api/v1/admin/plugins/"+name, mgr, map[string]any{"enabled": true, "roles": []string{"bench-decorated"}}); r.Status != 200 {
			b.Fatalf("scope %s: %d %s", name, r.Status, r.Body)
		}
	}
	feedOf := func(token string) (ids []string, decorated int) {
		var page struct {
			Items []struct {
				ID       string         `json:"id"`
				Features map[string]any `json:"features"`
			} `json:"items"`
		}
		e.Do("GET", "/api/v1/feed?limit=20", token, nil).JSON(b, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
			if len(it.Features) == 2 {
				decorated++
			}
		}
		return ids, decorated
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		plainIDs, plainDecorated := feedOf(plainToken)
		decIDs, decDecorated := feedOf(emp)
		if slices.Equal(plainIDs, decIDs) && len(decIDs) > 0 && plainDecorated == 0 && decDecorated == len(decIDs) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("feeds differ or are not decorated as meant: %d and %d items, %d and %d decorated", len(plainIDs), len(decIDs), plainDecorated, decDecorated)
		}
	}
	b.Run("feed/interleaved", func(b *testing.B) {
		tokens := [2]string{plainToken, emp}
		for range 50 {
			for _, tok := range tokens {
				getAs(tok, "/api/v1/feed?limit=20")
			}
		}
		var lat [2][]time.Duration
		b.ResetTimer()
		for i := range b.N {
			k := i % 2
			lat[k] = append(lat[k], getAs(tokens[k], "/api/v1/feed?limit=20"))
		}
		b.StopTimer()
		if len(lat[1]) == 0 {
			return // the one-request calibration run
		}
		for k := range lat {
			slices.Sort(lat[k])
		}
		plain, dec := lat[0][len(lat[0])/2], lat[1][len(lat[1])/2]
		b.ReportMetric(float64(plain.Microseconds()), "plain-p50-µs")
		b.ReportMetric(float64(dec.Microseconds()), "decorated-p50-µs")
		b.ReportMetric(float64(dec)*100/float64(plain), "ratio-x100")
	})
	for _, name := range []string{"bookmarks", "views"} {
		if r := e.Do("PUT", "/api/v1/admin/plugins/"+name, mgr, map[string]any{"enabled": true, "roles": nil}); r.Status != 200 {
			b.Fatalf("unscope %s: %d %s", name, r.Status, r.Body)
		}
	}
	run("route/core", "/api/v1/me")
	run("route/plugin", "/api/v1/plugins/bookmarks/limits")
	run("route/plugin-host-call", "/api/v1/plugins/bookmarks/bookmarks")
}
