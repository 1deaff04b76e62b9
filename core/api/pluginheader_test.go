package api

import (
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestPluginHeadersReplaceTheDefaultsButNeverLoosenTheCSP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		csp     []string
		wantCSP string
	}{
		{"sandboxing CSP replaces", []string{"sandbox; default-src 'none'; img-src 'self'"}, "sandbox; default-src 'none'; img-src 'self'"},
		{"sandbox with tokens", []string{"default-src 'none'; Sandbox allow-downloads"}, "default-src 'none'; Sandbox allow-downloads"},
		{"a loose CSP is dropped", []string{"default-src *; script-src 'unsafe-inline'"}, "default-src 'none'; frame-ancestors 'none'"},
		{"sandbox only in a value is not the directive", []string{"script-src https://sandbox.example"}, "default-src 'none'; frame-ancestors 'none'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dst fasthttp.ResponseHeader
			dst.Set("Cache-Control", "no-store")
			dst.Set("X-Content-Type-Options", "nosniff")
			dst.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			copyPluginHeader(&dst, http.Header{
				"Cache-Control":           {"private, max-age=60"},
				"X-Content-Type-Options":  {"nosniff"},
				"Content-Length":          {"999"},
				"Content-Security-Policy": tc.csp,
				"Etag":                    {`"abc"`},
			})
			if got := string(dst.Peek("Cache-Control")); got != "private, max-age=60" {
				t.Errorf("Cache-Control %q", got)
			}
			if n := len(dst.PeekAll("X-Content-Type-Options")); n != 1 {
				t.Errorf("%d nosniff headers", n)
			}
			if n := len(dst.PeekAll("Content-Security-Policy")); n != 1 || string(dst.Peek("Content-Security-Policy")) != tc.wantCSP {
				t.Errorf("CSP %q (%d headers), want %q", dst.Peek("Content-Security-Policy"), n, tc.wantCSP)
			}
			if dst.ContentLength() == 999 {
				t.Error("the plugin's Content-Length was taken")
			}
			if got := string(dst.Peek("Etag")); got != `"abc"` {
				t.Errorf("ETag %q", got)
			}
		})
	}
}
