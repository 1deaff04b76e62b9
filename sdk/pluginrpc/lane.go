package pluginrpc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/proto"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/wire"
)

// The fast lane beside go-plugin's gRPC (see sdk/internal/wire): the host serves the
// Host service's unary calls on <dir>/host.sock and the plugin serves its routes as
// HTTP/1.1 on <dir>/http.sock. The directory is private to the host's user and both
// sockets take only the secret the host hands the plugin in Configure, over
// go-plugin's mutually authenticated gRPC. Streams (blobs) stay on gRPC, and a
// plugin built with an older SDK simply answers Configure without the lane.
//
// Header names for the HTTP lane; sdk.Serve's side reads them.
const (
	laneSecretHeader = "Plein-Lane-Secret"
	laneCallHeader   = "Plein-Lane-Call"
)

// lane is the host's end of the fast lane for one plugin process.
type lane struct {
	dir    string
	secret []byte
	server *wire.Server

	mu   sync.Mutex
	http *laneClient // set once the plugin serves http.sock
}

// openLane makes the private directory and serves svc on host.sock.
func openLane(svc HostService, log *slog.Logger) (*lane, error) {
	dir, err := os.MkdirTemp("", "plein-lane-")
	if err != nil {
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	secret := make([]byte, wire.SecretSize)
	if _, err := rand.Read(secret); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "host.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	l := &lane{dir: dir, secret: secret, server: wire.NewServer(&pb.Host_ServiceDesc, &hostServer{svc: svc}, secret, log)}
	go func() {
		if err := l.server.Serve(ln); err != nil {
			log.Warn("fast lane: host socket stopped", "err", err)
		}
	}()
	return l, nil
}

// useHTTP starts sending routes to the plugin's http.sock.
func (l *lane) useHTTP() {
	c := &laneClient{path: filepath.Join(l.dir, "http.sock")}
	l.mu.Lock()
	l.http = c
	l.mu.Unlock()
}

func (l *lane) client() *laneClient {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.http
}

// close stops serving and removes the directory.
func (l *lane) close() {
	if l == nil {
		return
	}
	_ = l.server.Close()
	if c := l.client(); c != nil {
		c.close()
	}
	_ = os.RemoveAll(l.dir)
}

// handleHTTPLane sends req over the HTTP lane. The call travels in a header; the
// plugin's SDK checks the secret, takes the call from it and removes both.
func (c *Client) handleHTTPLane(ctx context.Context, lc *laneClient, req *HTTPRequest) (*HTTPResponse, error) {
	call, err := proto.Marshal(callToProto(req.Call))
	if err != nil {
		return nil, fmt.Errorf("plugin http: %w", err)
	}
	u := "http://plugin" + req.Path
	if req.RawQuery != "" {
		u += "?" + req.RawQuery
	}
	var body io.Reader
	if req.Body != nil && req.ContentLength != 0 {
		body = req.Body
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, body)
	if err != nil {
		return nil, fmt.Errorf("plugin http: %w: %v", sdk.ErrInvalid, err)
	}
	hr.Header = req.Header.Clone()
	if hr.Header == nil {
		hr.Header = http.Header{}
	}
	hr.Header.Set(laneSecretHeader, base64.RawStdEncoding.EncodeToString(c.lane.secret))
	hr.Header.Set(laneCallHeader, base64.RawStdEncoding.EncodeToString(call))
	if body != nil {
		hr.ContentLength = req.ContentLength
		if hr.ContentLength < 0 {
			hr.ContentLength = -1
		}
	}
	resp, err := lc.roundTrip(hr)
	if err != nil {
		return nil, fmt.Errorf("plugin http: %w", err)
	}
	return &HTTPResponse{Status: resp.StatusCode, Header: resp.Header, ContentLength: resp.ContentLength, Body: resp.Body}, nil
}

// checkHeader refuses, with sdk.ErrInvalid, a header the plugin could not take as
// the gRPC path would: names and values must be UTF-8 and valid HTTP.
func checkHeader(h http.Header) error {
	for k, vs := range h {
		if !utf8.ValidString(k) || !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("plugin http: %w: header name %q", sdk.ErrInvalid, k)
		}
		for _, v := range vs {
			if !utf8.ValidString(v) || !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("plugin http: %w: the value of header %s", sdk.ErrInvalid, k)
			}
		}
	}
	return nil
}
