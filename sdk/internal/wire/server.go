package wire

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Server serves the methods of one gRPC service implementation, unary and streams.
type Server struct {
	impl    any
	methods map[string]grpc.MethodHandler // by full method name
	streams map[string]grpc.StreamHandler
	secret  []byte
	log     *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer returns a server for impl, which must implement desc's handler type
// (as for grpc.Server.RegisterService), accepting connections that present secret.
// Panics in impl are logged to log (nil discards) and answer Internal.
func NewServer(desc *grpc.ServiceDesc, impl any, secret []byte, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	methods := make(map[string]grpc.MethodHandler, len(desc.Methods))
	for _, m := range desc.Methods {
		methods["/"+desc.ServiceName+"/"+m.MethodName] = m.Handler
	}
	streams := make(map[string]grpc.StreamHandler, len(desc.Streams))
	for _, st := range desc.Streams {
		streams["/"+desc.ServiceName+"/"+st.StreamName] = st.Handler
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{impl: impl, methods: methods, streams: streams, secret: secret, log: log,
		conns: map[net.Conn]struct{}{}, ctx: ctx, cancel: cancel}
}

// Serve accepts connections on ln until Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c) {
			_ = c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// Close stops accepting, closes every connection and waits for calls in progress.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	_ = c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// serveConn checks the hello, then answers requests in order until the peer hangs up
// or sends something malformed.
func (s *Server) serveConn(c net.Conn) {
	r, w := bufio.NewReaderSize(c, 32<<10), bufio.NewWriterSize(c, 32<<10)
	if !s.hello(c, r, w) {
		return
	}
	var in, out []byte
	for {
		frame, err := readFrame(r, in)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("wire: connection ended", "err", err)
			}
			return
		}
		in = frame
		req, err := parseRequest(frame)
		if err != nil {
			s.log.Warn("wire: malformed request, closing the connection", "err", err)
			return
		}
		if h, ok := s.streams[req.method]; ok {
			if w.Buffered() > 0 && w.Flush() != nil {
				return
			}
			if !s.serveStream(r, w, h, req) {
				return
			}
			continue
		}
		out = s.call(req, beginFrame(out))
		if out, err = endFrame(out); err != nil {
			out = appendStatus(beginFrame(out), status.New(codes.ResourceExhausted, "the answer is over the message size limit"))
			out, _ = endFrame(out)
		}
		if _, err := w.Write(out); err != nil {
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

func (s *Server) hello(c net.Conn, r *bufio.Reader, w *bufio.Writer) bool {
	_ = c.SetDeadline(time.Now().Add(helloTimeout))
	frame, err := readFrame(r, nil)
	if err != nil || len(frame) != len(magic)+SecretSize || string(frame[:len(magic)]) != magic ||
		subtle.ConstantTimeCompare(frame[len(magic):], s.secret) != 1 {
		s.log.Warn("wire: refused a connection without the secret")
		return false
	}
	if err := w.WriteByte(0); err != nil || w.Flush() != nil {
		return false
	}
	_ = c.SetDeadline(time.Time{})
	return true
}

// call runs one request and appends its response (without the length) to out.
func (s *Server) call(req request, out []byte) []byte {
	h, ok := s.methods[req.method]
	if !ok {
		return appendStatus(out, status.Newf(codes.Unimplemented, "unknown method %q", req.method))
	}
	ctx := s.ctx
	if !req.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, req.deadline)
		defer cancel()
	}
	resp, err := s.invoke(ctx, h, req)
	if err != nil {
		st, ok := status.FromError(err)
		if !ok {
			st = status.New(codes.Internal, "internal error")
		}
		return appendStatus(out, st)
	}
	msg, ok := resp.(proto.Message)
	if !ok {
		return appendStatus(out, status.New(codes.Internal, "internal error"))
	}
	out = append(out, byte(codes.OK))
	out, err = proto.MarshalOptions{}.MarshalAppend(out, msg)
	if err != nil {
		return appendStatus(out[:4], status.New(codes.Internal, "marshal the answer"))
	}
	return out
}

// invoke calls the method handler, turning a panic into Internal.
func (s *Server) invoke(ctx context.Context, h grpc.MethodHandler, req request) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in rpc", "method", req.method, "panic", v, "stack", string(debug.Stack()))
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	dec := func(m any) error {
		msg, ok := m.(proto.Message)
		if !ok {
			return status.Error(codes.Internal, "not a protobuf message")
		}
		if err := proto.Unmarshal(req.payload, msg); err != nil {
			return status.Errorf(codes.InvalidArgument, "decode the request: %v", err)
		}
		return nil
	}
	return h(s.impl, ctx, dec, nil)
}

func appendStatus(out []byte, st *status.Status) []byte {
	code := st.Code()
	if code == codes.OK {
		code = codes.Unknown
	}
	out = append(out, byte(code))
	return append(out, st.Message()...)
}
