package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/chunk"
	"github.com/pleinhq/plein/sdk/internal/header"
)

// newRequest builds the *http.Request a plugin's handler sees from the head of a
// HandleHTTP stream; its body reads the stream's following chunks until the end
// marker. It returns an error wrapping ErrInvalid for a malformed head.
func newRequest(ctx context.Context, head *pb.HTTPRequestHead, stream pb.Plugin_HandleHTTPServer) (*http.Request, error) {
	if !validMethod(head.GetMethod()) {
		return nil, fmt.Errorf("%w: method %q", ErrInvalid, head.GetMethod())
	}
	target := head.GetPath()
	if !strings.HasPrefix(target, "/") {
		return nil, fmt.Errorf("%w: path %q must start with /", ErrInvalid, target)
	}
	if head.GetRawQuery() != "" {
		target += "?" + head.GetRawQuery()
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	hdr := header.FromProto(head.GetHeaders(), 1)
	if id := head.GetCall().GetRequestId(); id != "" && hdr.Get("X-Request-Id") == "" {
		hdr.Set("X-Request-Id", id)
	}
	var body io.ReadCloser = http.NoBody
	if head.GetContentLength() != 0 {
		body = io.NopCloser(&chunk.Reader{Next: requestChunks(stream)})
	}
	r := &http.Request{
		Method:        head.GetMethod(),
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		Body:          body,
		ContentLength: head.GetContentLength(),
		Host:          "plugin",
		RequestURI:    target,
	}
	return r.WithContext(ctx), nil
}

// requestChunks returns the chunk source of a request body: body parts until the end
// marker. A stream that ends without the marker was cut off: io.ErrUnexpectedEOF.
func requestChunks(stream pb.Plugin_HandleHTTPServer) func() ([]byte, error) {
	return func() ([]byte, error) {
		part, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		case part.GetEnd() != nil:
			return nil, io.EOF
		case part.GetHead() != nil:
			return nil, fmt.Errorf("%w: a second request head", ErrInvalid)
		}
		return part.GetBody(), nil
	}
}

// validMethod reports whether m is an HTTP token such as GET or PROPFIND.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
