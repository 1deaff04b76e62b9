package pluginrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/chunk"
	"github.com/pleinhq/plein/sdk/internal/errcode"
	"github.com/pleinhq/plein/sdk/internal/header"
)

// HTTPRequest is a request the host forwards to a plugin, after authenticating the
// user, checking the route's permission, stripping credentials and capping the body.
// Strings must be UTF-8: HandleHTTP refuses others with sdk.ErrInvalid (answer 400).
type HTTPRequest struct {
	// Call is the acting user and deadline; the host issues Call.Handle and resolves
	// it on the plugin's host calls.
	Call   sdk.Call
	Method string
	// Path is the escaped path after /api/v1/plugins/<name>, starting with "/".
	Path     string
	RawQuery string
	Header   http.Header
	// ContentLength is the body's length, or -1 if unknown.
	ContentLength int64
	// Body is read in chunks of up to 64 KiB while the response streams back; nil
	// means no body.
	Body io.Reader
}

// HTTPResponse is a plugin's answer. Body streams from the plugin; close it.
type HTTPResponse struct {
	Status int
	Header http.Header
	// ContentLength is the body's length, or -1 if unknown.
	ContentLength int64
	Body          io.ReadCloser
}

// HandleHTTP sends req to the plugin and returns its response as soon as the status
// and header arrive; the request body keeps streaming in the background while the
// response body is read, so neither sits in memory. Closing the response body ends
// the exchange and waits for the background send to stop (it stops at the next
// chunk: a Body blocked in Read delays it). An error means the plugin gave no
// response: answer 502 or 503 and never treat it as allowed.
func (c *Client) HandleHTTP(ctx context.Context, req *HTTPRequest) (*HTTPResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.HandleHTTP(ctx)
	if err != nil {
		cancel()
		return nil, errcode.FromStatus("plugin http", err)
	}
	head := &pb.HTTPRequestHead{
		Call: callToProto(req.Call), Method: req.Method, Path: req.Path, RawQuery: req.RawQuery,
		Headers: header.ToProto(req.Header), ContentLength: req.ContentLength,
	}
	if req.Body == nil {
		head.ContentLength = 0
	}
	// The head goes first and synchronously, so a head the client refuses (a
	// header that is not UTF-8: sdk.ErrInvalid) fails here, not in the background.
	if err := stream.Send(&pb.HTTPRequestPart{Part: &pb.HTTPRequestPart_Head{Head: head}}); err != nil {
		cancel()
		return nil, errcode.FromStatus("plugin http", err)
	}
	sent := make(chan struct{})
	if req.Body == nil {
		// Nothing to stream: the end marker goes now, with no goroutine to wait for.
		sendBody(stream, nil)
		close(sent)
	} else {
		go func() {
			defer close(sent)
			sendBody(stream, req.Body)
		}()
	}
	stop := func() {
		cancel()
		<-sent
	}
	first, err := stream.Recv()
	if err != nil {
		stop()
		return nil, errcode.FromStatus("plugin http", err)
	}
	rh := first.GetHead()
	if rh == nil || rh.GetStatus() < 100 || rh.GetStatus() > 999 {
		stop()
		return nil, errors.New("plugin http: the plugin's first message is not a valid response head")
	}
	initial := rh.GetBody() // the body's first bytes came with the head
	body := &chunk.Reader{Next: func() ([]byte, error) {
		if initial != nil {
			p := initial
			initial = nil
			return p, nil
		}
		msg, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		case err != nil:
			return nil, errcode.FromStatus("plugin http body", err)
		case msg.GetHead() != nil:
			return nil, errors.New("plugin http: a second response head")
		}
		return msg.GetBody(), nil
	}}
	hdr := header.FromProto(rh.GetHeaders(), 0)
	return &HTTPResponse{
		Status:        int(rh.GetStatus()),
		Header:        hdr,
		ContentLength: contentLength(hdr),
		Body:          &responseBody{Reader: body, left: contentLength(hdr), stream: stream, stop: stop},
	}, nil
}

// sendBody sends the body in chunks and the end marker. It stops quietly when the
// stream ends first: the plugin answered without reading the whole body, or the
// exchange was cancelled; the response side reports what matters.
func sendBody(stream pb.Plugin_HandleHTTPClient, body io.Reader) {
	if body != nil {
		msg := &pb.HTTPRequestPart_Body{}
		_, err := chunk.Send(body, func(p []byte) error {
			msg.Body = p
			return stream.Send(&pb.HTTPRequestPart{Part: msg})
		})
		if err != nil {
			// A failed read leaves the plugin without an end marker: its body
			// reader fails instead of taking a short body for complete.
			_ = stream.CloseSend()
			return
		}
	}
	if err := stream.Send(&pb.HTTPRequestPart{Part: &pb.HTTPRequestPart_End{End: &pb.HTTPEnd{}}}); err != nil {
		return
	}
	_ = stream.CloseSend()
}

// responseBody is a response's streaming body; Close ends the exchange.
type responseBody struct {
	io.Reader
	left   int64 // declared bytes not read yet; -1 if no length was declared
	stream pb.Plugin_HandleHTTPClient
	stop   func()
}

func (b *responseBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	return n, err
}

// Close ends the exchange. When the declared length was read, the plugin has
// finished: reading its end first keeps the fast lane's connection for the next call.
func (b *responseBody) Close() error {
	if b.left == 0 {
		for range 2 {
			if _, err := b.stream.Recv(); err != nil {
				break
			}
		}
	}
	b.stop()
	return nil
}

// contentLength reads a response's declared length; -1 if it declares none or
// something that is not a length.
func contentLength(h http.Header) int64 {
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
