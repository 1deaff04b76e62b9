package api

import (
	"bufio"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// A request's body length as plugins get it: a request with neither header has no
// body; a chunked one has a length nobody knows yet.
func TestRequestLengthFollowsRFC9112(t *testing.T) {
	for _, tc := range []struct {
		head string
		want int64
	}{
		{"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 5},
		{"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", -1},
	} {
		var fctx fasthttp.RequestCtx
		if err := fctx.Request.Read(bufio.NewReader(strings.NewReader(tc.head))); err != nil {
			t.Fatal(err)
		}
		app := fiber.New()
		c := app.AcquireCtx(&fctx)
		if got := requestLength(c); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.head, got, tc.want)
		}
		app.ReleaseCtx(c)
	}
}
