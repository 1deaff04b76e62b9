package pluginrpc_test

import (
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// BenchmarkPluginCalls times the transport to a real plugin process with the
// in-memory host: Health (one unary call), a request the plugin answers without a
// host call (a route it does not have), one with a host call (GET /bookmarks lists
// KV), and Decorate of 20 items (one KV batch read). It reports p50 per call.
func BenchmarkPluginCalls(b *testing.B) {
	bin := buildBookmarks(b)
	host := plugintest.NewHost("bookmarks")
	p := launch(b, bin, []string{"PLEIN_LOG_LEVEL=error"}, host)
	c := p.Client()
	ann := host.BeginCall(plugintest.User{ID: "ann"})
	refs := make([]sdk.ItemRef, 20)
	for i := range refs {
		refs[i] = sdk.ItemRef{ID: host.AddItem(plugintest.Item{Item: sdk.Item{Kind: "post", SpaceID: "s1", Title: "x"}}), Kind: "post"}
	}
	for name, call := range map[string]func(){
		"health":        func() { _ = c.Health(b.Context()) },
		"http-no-host":  func() { do(b, c, ann, "GET", "/nothing", nil) },
		"http-one-host": func() { do(b, c, ann, "GET", "/bookmarks", nil) },
		"decorate-20":   func() { _, _ = c.Decorate(b.Context(), ann, refs) },
	} {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				start := time.Now()
				call()
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		})
	}
}
