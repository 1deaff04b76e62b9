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
//   - feed: GET /api/v1/feed?limit=20 with no plugin on, then with bookmarks and views
//     both decorating every item.
//
// Run: go test -run '^$' -bench PluginHop ./core/api/
func BenchmarkPluginHop(b *testing.B) {
	e := testapp.Start(b, testapp.Options{Env: map[string]string{"PLEIN_PLUGIN_DIR": pluginDir(b), "PLEIN_LOG_LEVEL": "error"}})
	emp := e.Token("employee@demo.plein")
	client := &http.Client{}
	get := func(path string) time.Duration {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+emp)
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
	run("route/core", "/api/v1/me")
	run("route/plugin", "/api/v1/plugins/bookmarks/limits")
	run("route/plugin-host-call", "/api/v1/plugins/bookmarks/bookmarks")
}
