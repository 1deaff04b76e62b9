package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Streams. A stream opens with a request frame without payload; then each frame
// starts with its kind: a message (its payload follows), the client's close-send, or
// the server's status (code byte and message), which ends the server's side. The
// client reads up to the status and the server up to the close-send, so the
// connection is in step for the next call; a side that gives up closes it instead.
const (
	kindMessage   byte = 1
	kindCloseSend byte = 2
	kindStatus    byte = 3
)

// drainLimit is how much of a request stream the server reads away after its handler
// returned before the close-send, rather than closing the connection.
const drainLimit = 1 << 20

// serveStream runs a stream handler on the connection and reports whether the
// connection is still in step.
func (s *Server) serveStream(r *bufio.Reader, w *bufio.Writer, h grpc.StreamHandler, req request) bool {
	ctx := s.ctx
	if !req.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, req.deadline)
		defer cancel()
	}
	ss := &serverStream{ctx: ctx, r: r, w: w}
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic in rpc", "method", req.method, "panic", v, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return h(s.impl, ss)
	}()
	if ss.broken {
		return false
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Internal, "internal error")
	}
	frame := append(beginFrame(ss.buf), kindStatus)
	if st.Code() == codes.OK {
		frame = append(frame, byte(codes.OK))
	} else {
		frame = appendStatus(frame, st)
	}
	frame, _ = endFrame(frame)
	if _, err := w.Write(frame); err != nil || w.Flush() != nil {
		return false
	}
	// Read away the rest of what the client sends, up to its close-send.
	for read := 0; !ss.closed; {
		f, err := readFrame(r, ss.in)
		if err != nil || len(f) == 0 {
			return false
		}
		ss.in = f
		read += len(f)
		switch {
		case f[0] == kindCloseSend:
			ss.closed = true
		case f[0] != kindMessage || read > drainLimit:
			return false
		}
	}
	return true
}

// serverStream is a grpc.ServerStream over one connection.
type serverStream struct {
	ctx    context.Context
	r      *bufio.Reader
	w      *bufio.Writer
	buf    []byte
	in     []byte
	closed bool // the client's close-send arrived
	broken bool // the connection is out of step
}

func (s *serverStream) SetHeader(metadata.MD) error  { return nil }
func (s *serverStream) SendHeader(metadata.MD) error { return nil }
func (s *serverStream) SetTrailer(metadata.MD)       {}
func (s *serverStream) Context() context.Context     { return s.ctx }

func (s *serverStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "not a protobuf message")
	}
	buf, err := proto.MarshalOptions{}.MarshalAppend(append(beginFrame(s.buf), kindMessage), msg)
	if err != nil {
		return status.Errorf(codes.Internal, "marshal: %v", err)
	}
	if buf, err = endFrame(buf); err != nil {
		return status.Error(codes.ResourceExhausted, "a message over the size limit")
	}
	s.buf = buf
	if _, err := s.w.Write(buf); err != nil {
		s.broken = true
		return err
	}
	if err := s.w.Flush(); err != nil {
		s.broken = true
		return err
	}
	return nil
}

func (s *serverStream) RecvMsg(m any) error {
	if s.closed {
		return io.EOF
	}
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "not a protobuf message")
	}
	f, err := readFrame(s.r, s.in)
	if err != nil {
		s.broken = true
		return status.Errorf(codes.Canceled, "the client went away: %v", err)
	}
	s.in = f
	switch {
	case len(f) > 0 && f[0] == kindCloseSend:
		s.closed = true
		return io.EOF
	case len(f) == 0 || f[0] != kindMessage:
		s.broken = true
		return status.Error(codes.Internal, "wire: malformed stream frame")
	}
	if err := proto.Unmarshal(f[1:], msg); err != nil {
		return status.Errorf(codes.InvalidArgument, "decode: %v", err)
	}
	return nil
}

// clientStream is a grpc.ClientStream over one pooled connection. One goroutine may
// send while another receives, as with gRPC.
type clientStream struct {
	ctx  context.Context
	conn *Conn
	cc   *clientConn
	stop func() bool

	wmu       sync.Mutex
	wbuf      []byte // frames not written yet
	receiving bool   // RecvMsg is waiting: writes go out at once

	mu         sync.Mutex
	sentClose  bool
	gotStatus  bool
	broken     bool
	released   bool
	recvFailed error
}

// NewStream opens a stream on a connection of its own; desc and the call options
// are not needed: both directions may carry any number of messages.
func (c *Conn) NewStream(ctx context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	if len(method) > 255 {
		return nil, status.Errorf(codes.Internal, "wire: method name %q too long", method)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	cc, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	deadline, has := ctx.Deadline()
	_ = cc.c.SetDeadline(deadline)
	s := &clientStream{ctx: ctx, conn: c, cc: cc}
	// Cancelling the context closes the connection, which ends both directions.
	s.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.broken = true
		s.mu.Unlock()
		_ = cc.c.Close()
	})
	open, err := endFrame(appendRequestHead(beginFrame(nil), method, deadline, has))
	if err != nil {
		s.fail()
		return nil, status.Errorf(codes.Internal, "wire: open stream: %v", err)
	}
	s.wbuf = open // it goes with the first messages
	return s, nil
}

func (s *clientStream) Header() (metadata.MD, error) { return nil, nil }
func (s *clientStream) Trailer() metadata.MD         { return nil }
func (s *clientStream) Context() context.Context     { return s.ctx }

// write queues a frame. Queued frames go out together: with the close-send, when
// RecvMsg is about to wait for the plugin (and at once while it waits), or once
// sendBatch bytes have gathered. A request without a body (open, head, end,
// close-send) is then one write, and the plugin wakes up once for it, not four times.
func (s *clientStream) write(kind byte, m proto.Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	start := len(s.wbuf)
	buf := append(s.wbuf, 0, 0, 0, 0, kind)
	if m != nil {
		var err error
		if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf, m); err != nil {
			s.wbuf = buf[:start]
			return status.Errorf(codes.InvalidArgument, "wire: marshal: %v", err)
		}
	}
	if _, err := endFrame(buf[start:]); err != nil {
		s.wbuf = buf[:start]
		return status.Error(codes.ResourceExhausted, "wire: a message over the size limit")
	}
	s.wbuf = buf
	if kind == kindCloseSend || s.receiving || len(s.wbuf) >= sendBatch {
		return s.flush()
	}
	return nil
}

// sendBatch is how many queued bytes are written without waiting for more.
const sendBatch = 32 << 10

// flush writes the queued frames; wmu is held.
func (s *clientStream) flush() error {
	if len(s.wbuf) == 0 {
		return nil
	}
	_, err := s.cc.c.Write(s.wbuf)
	s.wbuf = s.wbuf[:0]
	if err != nil {
		s.fail()
		return io.EOF // as gRPC: the stream ended; RecvMsg tells why
	}
	return nil
}

func (s *clientStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "wire: not a protobuf message")
	}
	return s.write(kindMessage, msg)
}

func (s *clientStream) CloseSend() error {
	s.mu.Lock()
	if s.sentClose {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if err := s.write(kindCloseSend, nil); err != nil {
		return nil
	}
	s.mu.Lock()
	s.sentClose = true
	s.mu.Unlock()
	s.release()
	return nil
}

func (s *clientStream) RecvMsg(m any) error {
	if err := s.recvFailed; err != nil {
		return err
	}
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "wire: not a protobuf message")
	}
	s.wmu.Lock()
	_ = s.flush() // a failure closes the connection, and the read below says so
	s.receiving = true
	s.wmu.Unlock()
	f, err := readFrame(s.cc.r, s.cc.buf)
	s.wmu.Lock()
	s.receiving = false
	s.wmu.Unlock()
	if err != nil {
		s.fail()
		s.recvFailed = s.cause(err)
		return s.recvFailed
	}
	s.cc.buf = f
	switch {
	case len(f) >= 2 && f[0] == kindStatus:
		// The frame is the connection's buffer: read it before the connection
		// goes back to the pool.
		if code := codes.Code(f[1]); code != codes.OK {
			s.recvFailed = status.Error(code, string(f[2:]))
		} else {
			s.recvFailed = io.EOF
		}
		s.mu.Lock()
		s.gotStatus = true
		s.mu.Unlock()
		s.release()
		return s.recvFailed
	case len(f) == 0 || f[0] != kindMessage:
		s.fail()
		s.recvFailed = status.Error(codes.Internal, "wire: malformed stream frame")
		return s.recvFailed
	}
	if err := proto.Unmarshal(f[1:], msg); err != nil {
		s.fail()
		s.recvFailed = status.Errorf(codes.Internal, "wire: unmarshal: %v", err)
		return s.recvFailed
	}
	return nil
}

// cause is the status for a failed read: the context's if it ended.
func (s *clientStream) cause(err error) error {
	if s.ctx.Err() != nil {
		return status.FromContextError(s.ctx.Err()).Err()
	}
	var ne net.Error
	if _, has := s.ctx.Deadline(); has && errors.As(err, &ne) && ne.Timeout() {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("wire: %v", err))
}

// fail marks the connection out of step and closes it.
func (s *clientStream) fail() {
	s.mu.Lock()
	s.broken = true
	done := s.released
	s.released = true
	s.mu.Unlock()
	if !done {
		s.stop()
		_ = s.cc.c.Close()
	}
}

// release returns the connection to the pool once both sides ended in step.
func (s *clientStream) release() {
	s.mu.Lock()
	if s.released || !s.sentClose || !s.gotStatus {
		s.mu.Unlock()
		return
	}
	s.released = true
	broken := s.broken
	s.mu.Unlock()
	if !s.stop() || broken {
		_ = s.cc.c.Close()
		return
	}
	_ = s.cc.c.SetDeadline(time.Time{})
	s.conn.put(s.cc)
}
