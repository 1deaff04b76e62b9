package sdk

import (
	"fmt"
	"net/http"
	"strconv"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/chunk"
	"github.com/pleinhq/plein/sdk/internal/header"
)

// responseWriter is the http.ResponseWriter of a HandleHTTP stream. Like net/http's,
// it fixes the header at WriteHeader (or the first Write) and buffers the body; the
// head goes out with the first flush (a full chunk, Flush, or the handler's return),
// followed by body chunks of at most chunk.Size bytes.
type responseWriter struct {
	stream   pb.Plugin_HandleHTTPServer
	header   http.Header
	status   int         // 0 until WriteHeader
	fixed    http.Header // the header as of WriteHeader
	sentHead bool
	discard  bool // HEAD: the handler's body is not sent
	buf      []byte
	err      error // the first send error; every later write returns it
}

func newResponseWriter(stream pb.Plugin_HandleHTTPServer, method string) *responseWriter {
	return &responseWriter{stream: stream, header: make(http.Header), discard: method == http.MethodHead}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 || code < 200 {
		return // a repeated call, or an informational status the host does not relay
	}
	w.status = code
	w.fixed = w.header.Clone()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.discard {
		return len(p), nil
	}
	n := 0
	for len(p) > 0 {
		take := min(chunk.Size-len(w.buf), len(p))
		w.buf = append(w.buf, p[:take]...)
		p, n = p[take:], n+take
		if len(w.buf) == chunk.Size {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Flush sends what the handler wrote so far, as http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush returning the send error, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.flush()
}

// finish completes the response after the handler returned.
func (w *responseWriter) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	// The whole answer is here: say how long it is, so the host can take it at once.
	if !w.sentHead && !w.discard && bodyAllowed(w.status) && w.fixed.Get("Content-Length") == "" {
		w.fixed.Set("Content-Length", strconv.Itoa(len(w.buf)))
	}
	return w.flush()
}

// reset forgets an unsent response, so a panicking handler's half-written answer can
// be replaced by a problem. It reports false if the head is already out.
func (w *responseWriter) reset() bool {
	if w.sentHead {
		return false
	}
	w.header, w.status, w.fixed, w.buf = make(http.Header), 0, nil, w.buf[:0]
	return true
}

func (w *responseWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	if !w.sentHead {
		if _, set := w.fixed["Content-Type"]; !set && len(w.buf) > 0 {
			w.fixed.Set("Content-Type", http.DetectContentType(w.buf))
		}
		// The first bytes travel with the head.
		head := &pb.HTTPResponseHead{Status: int32(w.status), Headers: header.ToProto(w.fixed), Body: w.buf}
		w.err = w.stream.Send(&pb.HTTPResponsePart{Part: &pb.HTTPResponsePart_Head{Head: head}})
		w.sentHead, w.buf = true, w.buf[:0]
		return w.err
	}
	if len(w.buf) > 0 {
		w.err = w.stream.Send(&pb.HTTPResponsePart{Part: &pb.HTTPResponsePart_Body{Body: w.buf}})
		w.buf = w.buf[:0]
	}
	return w.err
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}
