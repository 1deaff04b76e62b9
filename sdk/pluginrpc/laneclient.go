package pluginrpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// laneClient is a synchronous HTTP/1.1 client for the plugin's http.sock: the
// calling goroutine writes the request and reads the response itself, with no
// reader or writer goroutines to hand off to (net/http's Transport has two per
// connection, and their wake-ups cost as much as the round trip here). It keeps idle
// keep-alive connections for reuse.
type laneClient struct {
	path string

	mu     sync.Mutex
	idle   []*laneConn
	closed bool
}

// laneMaxIdle is how many idle connections a laneClient keeps.
const laneMaxIdle = 64

type laneConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (lc *laneClient) get(ctx context.Context) (*laneConn, error) {
	lc.mu.Lock()
	if n := len(lc.idle); n > 0 {
		c := lc.idle[n-1]
		lc.idle = lc.idle[:n-1]
		lc.mu.Unlock()
		return c, nil
	}
	closed := lc.closed
	lc.mu.Unlock()
	if closed {
		return nil, errors.New("the plugin's lane is closed")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", lc.path)
	if err != nil {
		return nil, err
	}
	return &laneConn{c: c, r: bufio.NewReaderSize(c, 16<<10), w: bufio.NewWriterSize(c, 16<<10)}, nil
}

func (lc *laneClient) put(c *laneConn) {
	lc.mu.Lock()
	if !lc.closed && len(lc.idle) < laneMaxIdle {
		lc.idle = append(lc.idle, c)
		c = nil
	}
	lc.mu.Unlock()
	if c != nil {
		_ = c.c.Close()
	}
}

func (lc *laneClient) close() {
	lc.mu.Lock()
	idle := lc.idle
	lc.idle, lc.closed = nil, true
	lc.mu.Unlock()
	for _, c := range idle {
		_ = c.c.Close()
	}
}

// roundTrip sends req and returns the response once its head arrived. The request's
// context cuts the exchange at any point, the body's reading included. A plugin that
// answers before reading the whole body (a refusal) is heard: the response is read
// even when writing the rest of the body failed.
func (lc *laneClient) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c, err := lc.get(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = c.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	werr := req.Write(c.w)
	if werr == nil {
		werr = c.w.Flush()
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		if werr != nil {
			err = werr
		}
		return fail(err)
	}
	reusable := werr == nil && !resp.Close
	empty := resp.ContentLength == 0 || resp.Body == http.NoBody
	resp.Body = &laneBody{ReadCloser: resp.Body, empty: empty, done: func(complete bool) {
		if stop() && complete && reusable {
			lc.put(c)
			return
		}
		_ = c.c.Close()
	}}
	return resp, nil
}

// laneBody hands its connection back once the body was read to its end, or closes it
// when the body is closed early.
type laneBody struct {
	io.ReadCloser
	once  sync.Once
	empty bool // nothing to read: closing it is reading it to the end
	done  func(complete bool)
}

func (b *laneBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(func() { b.done(true) })
	}
	return n, err
}

func (b *laneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.empty) })
	return err
}
