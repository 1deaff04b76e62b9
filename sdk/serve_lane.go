package sdk

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/wire"
)

// The plugin's end of the fast lane (sdk/pluginrpc/lane.go has the host's): host
// calls go to <dir>/host.sock, routes arrive as HTTP/1.1 on <dir>/http.sock. The
// header names must match pluginrpc's.
const (
	laneSecretHeader = "Plein-Lane-Secret"
	laneCallHeader   = "Plein-Lane-Call"
)

// laneHost returns a host connection whose unary calls take the fast lane and whose
// streams take conn; conn itself when the request offers no lane or it fails.
func laneHost(ctx context.Context, req *pb.ConfigureRequest, conn grpc.ClientConnInterface, log *slog.Logger) grpc.ClientConnInterface {
	dir, secret := req.GetLaneDir(), req.GetLaneSecret()
	if dir == "" {
		return conn
	}
	if !filepath.IsAbs(dir) || len(secret) != wire.SecretSize {
		log.Warn("fast lane offered without an absolute directory and a secret; using gRPC only")
		return conn
	}
	wc, err := wire.Dial(ctx, filepath.Join(dir, "host.sock"), secret, conn)
	if err != nil {
		log.Warn("fast lane to the host unavailable; using gRPC only", "err", err)
		return conn
	}
	return wc
}

// serveLaneHTTP serves h on <dir>/http.sock for requests that carry the secret and
// reports whether it does.
func (s *pluginService) serveLaneHTTP(req *pb.ConfigureRequest, h http.Handler) bool {
	dir, secret := req.GetLaneDir(), req.GetLaneSecret()
	if dir == "" || !filepath.IsAbs(dir) || len(secret) != wire.SecretSize {
		return false
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "http.sock"))
	if err != nil {
		s.log.Warn("fast lane for routes unavailable; using gRPC only", "err", err)
		return false
	}
	srv := &http.Server{
		Handler:           &laneHandler{h: h, secret: secret, log: s.log},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("fast lane for routes stopped", "err", err)
		}
	}()
	return true
}

// laneHandler checks the secret, takes the call from its header and serves the
// plugin's handler with it, as HandleHTTP does for the gRPC path.
type laneHandler struct {
	h      http.Handler
	secret []byte
	log    *slog.Logger
}

func (l *laneHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got, err := base64.RawStdEncoding.DecodeString(r.Header.Get(laneSecretHeader))
	if err != nil || subtle.ConstantTimeCompare(got, l.secret) != 1 {
		l.log.Warn("fast lane: refused a request without the secret")
		_ = WriteProblem(w, http.StatusForbidden, "forbidden", "")
		return
	}
	call, err := laneCall(r.Header.Get(laneCallHeader))
	if err != nil {
		_ = WriteProblem(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	r.Header.Del(laneSecretHeader)
	r.Header.Del(laneCallHeader)
	if call.GetRequestId() != "" && r.Header.Get("X-Request-Id") == "" {
		r.Header.Set("X-Request-Id", call.GetRequestId())
	}
	ctx, cancel := callContext(r.Context(), call)
	defer cancel()
	r = r.WithContext(ctx)
	rw := &laneWriter{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil || v == http.ErrAbortHandler {
			if v != nil {
				panic(v)
			}
			return
		}
		l.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "request_id", call.GetRequestId(),
			"panic", v, "stack", string(debug.Stack()))
		if rw.wrote {
			// The host cuts the response it already started.
			panic(http.ErrAbortHandler)
		}
		_ = WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}()
	l.h.ServeHTTP(rw, r)
}

func laneCall(v string) (*pb.Call, error) {
	raw, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: call header: %v", ErrInvalid, err)
	}
	call := &pb.Call{}
	if err := proto.Unmarshal(raw, call); err != nil {
		return nil, fmt.Errorf("%w: call header: %v", ErrInvalid, err)
	}
	return call, nil
}

// laneWriter notes whether the response has started, so a panic after it cuts the
// response instead of appending a problem to it.
type laneWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *laneWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *laneWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *laneWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends what the handler wrote so far.
func (w *laneWriter) Flush() {
	w.wrote = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
