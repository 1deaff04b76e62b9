package sdk

import (
	"net/http"
	"runtime/debug"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// HandleHTTP serves one request with the plugin's handler: the first message is the
// head, the body streams from the rest, the response streams back.
func (s *pluginService) HandleHTTP(stream pb.Plugin_HandleHTTPServer) error {
	h, err := s.handler()
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	head := first.GetHead()
	if head == nil {
		return status.Error(codes.InvalidArgument, "the first message must be the request head")
	}
	ctx, cancel := callContext(stream.Context(), head.GetCall())
	defer cancel()
	r, err := newRequest(ctx, head, stream)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	w := newResponseWriter(stream, r.Method)
	return s.serveHTTP(h, w, r)
}

// serveHTTP runs the handler. A panic before the response started becomes a 500
// problem; after, the stream fails with Internal so the host cuts the response. The
// process lives on either way.
func (s *pluginService) serveHTTP(h http.Handler, w *responseWriter, r *http.Request) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			err = status.Error(codes.Aborted, "handler aborted the response")
			return
		}
		s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "request_id", CallFrom(r.Context()).RequestID,
			"panic", v, "stack", string(debug.Stack()))
		if !w.reset() {
			err = status.Error(codes.Internal, "handler panicked after the response started")
			return
		}
		_ = WriteProblem(w, http.StatusInternalServerError, "internal", "")
		err = w.finish()
	}()
	h.ServeHTTP(w, r)
	return w.finish()
}
