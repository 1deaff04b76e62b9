package bundled_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// BenchmarkLikes measures likes per second through the whole HTTP path (the core's
// authentication and route check, the plugin process, its one host transaction) with
// 50 clients at once, each a demo employee liking and unliking 10 posts in turn: on
// SQLite, and on PostgreSQL with Redis in front of the counters.
//
// Run: go test -run '^$' -bench Likes -benchtime 5000x ./core/bundled/
func BenchmarkLikes(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchLikes(b, testapp.Options{}) })
	b.Run("postgres+redis", func(b *testing.B) {
		benchLikes(b, testapp.Options{Postgres: true, RedisURL: testsvc.RedisURL(b)})
	})
}

func benchLikes(b *testing.B, opts testapp.Options) {
	opts = withPlugins(b, opts, "likes")
	opts.Env["PLEIN_LOG_LEVEL"] = "error"
	e := testapp.Start(b, opts)
	enable(b, e, "likes")
	coffee := e.SpaceID("Koffiehoek")
	items := make([]string, 10)
	for i := range items {
		r := e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+coffee+"/posts", map[string]any{"body": fmt.Sprint("Post ", i)})
		if r.Status != 201 {
			b.Fatalf("post: %d %s", r.Status, r.Body)
		}
		items[i] = r.Map(b)["id"].(string)
	}
	const clients = 50
	users := employees(b, e, clients)
	tokens := make([]string, clients)
	for i, u := range users {
		tokens[i] = e.Token(u)
	}
	crowd := newCrowd(b, e, clients)
	// send likes (or unlikes) an item as client c and reports whether it answered 200.
	send := func(c, n int) bool {
		method := http.MethodPut
		if n/len(items)%2 == 1 {
			method = http.MethodDelete
		}
		status, _, err := crowd.do(tokens[c], method, likesAPI+"/items/"+items[n%len(items)]+"/like", nil)
		return err == nil && status == http.StatusOK
	}
	for c := range clients { // warm connections, caches and the plugin
		for n := range 2 * len(items) {
			if !send(c, n) {
				b.Fatal("warm-up request failed")
			}
		}
	}
	var next, failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; next.Add(1) <= int64(b.N); n++ {
				if !send(c, n) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "likes/s")
}
