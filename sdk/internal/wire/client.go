package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxIdle is how many idle connections a Conn keeps; more calls at once dial more.
const maxIdle = 64

// Conn is a grpc.ClientConnInterface over the fast lane: each call, unary or
// stream, takes a connection of its pool for itself. It is safe for concurrent use.
type Conn struct {
	path   string
	secret []byte

	mu     sync.Mutex
	idle   []*clientConn
	closed bool
}

// clientConn is one connection with its buffers.
type clientConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte
}

// Dial connects to the server on the unix socket path with secret, once, to check
// that it answers.
func Dial(ctx context.Context, path string, secret []byte) (*Conn, error) {
	c := &Conn{path: path, secret: secret}
	cc, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.put(cc)
	return c, nil
}

func (c *Conn) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return nil, fmt.Errorf("wire: dial: %w", err)
	}
	_ = nc.SetDeadline(time.Now().Add(helloTimeout))
	hello := append(beginFrame(make([]byte, 0, 4+len(magic)+SecretSize)), magic...)
	hello, _ = endFrame(append(hello, c.secret...))
	cc := &clientConn{c: nc, r: bufio.NewReaderSize(nc, 32<<10)}
	if _, err := nc.Write(hello); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("wire: hello: %w", err)
	}
	if b, err := cc.r.ReadByte(); err != nil || b != 0 {
		_ = nc.Close()
		return nil, errors.New("wire: the server refused the hello")
	}
	_ = nc.SetDeadline(time.Time{})
	return cc, nil
}

func (c *Conn) get(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "wire: connection closed")
	}
	if n := len(c.idle); n > 0 {
		cc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cc, nil
	}
	c.mu.Unlock()
	cc, err := c.dial(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return cc, nil
}

func (c *Conn) put(cc *clientConn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < maxIdle {
		c.idle = append(c.idle, cc)
		cc = nil
	}
	c.mu.Unlock()
	if cc != nil {
		_ = cc.c.Close()
	}
}

// Invoke makes a unary call: args and reply are protobuf messages; errors are gRPC
// status errors, as from a grpc.ClientConn. Call options are ignored.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	in, ok1 := args.(proto.Message)
	out, ok2 := reply.(proto.Message)
	if !ok1 || !ok2 {
		return status.Error(codes.Internal, "wire: arguments are not protobuf messages")
	}
	if len(method) > 255 {
		return status.Errorf(codes.Internal, "wire: method name %q too long", method)
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	cc, err := c.get(ctx)
	if err != nil {
		return err
	}
	reusable, err := c.roundTrip(ctx, cc, method, in, out)
	if reusable {
		c.put(cc)
		return err
	}
	if err != nil {
		_ = cc.c.Close()
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		// The socket's deadline may fire a moment before the context's.
		var ne net.Error
		if _, has := ctx.Deadline(); has && errors.As(err, &ne) && ne.Timeout() {
			return status.Error(codes.DeadlineExceeded, err.Error())
		}
		if _, ok := status.FromError(err); !ok {
			err = status.Error(codes.Unavailable, err.Error())
		}
		return err
	}
	_ = cc.c.Close()
	return nil
}

// roundTrip sends one request on cc and reads its answer. reusable reports whether cc
// may serve another call: the exchange completed and the context never cut it.
func (c *Conn) roundTrip(ctx context.Context, cc *clientConn, method string, in, out proto.Message) (reusable bool, err error) {
	deadline, hasDeadline := ctx.Deadline()
	_ = cc.c.SetDeadline(deadline)
	if ctx.Done() != nil {
		// Cancelling the context cuts the exchange by moving the deadline to the past.
		stop := context.AfterFunc(ctx, func() { _ = cc.c.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				reusable = false
			}
		}()
	}
	err = c.exchange(cc, method, deadline, hasDeadline, in, out)
	var remote errRemote
	if errors.As(err, &remote) {
		return true, remote.err
	}
	return err == nil, err
}

// errRemote is a status the server answered: the connection stays usable.
type errRemote struct{ err error }

func (e errRemote) Error() string { return e.err.Error() }

func (c *Conn) exchange(cc *clientConn, method string, deadline time.Time, hasDeadline bool, in, out proto.Message) error {
	buf := appendRequestHead(beginFrame(cc.buf), method, deadline, hasDeadline)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, in)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "wire: marshal: %v", err)
	}
	if buf, err = endFrame(buf); err != nil {
		return status.Error(codes.ResourceExhausted, "wire: the request is over the message size limit")
	}
	cc.buf = buf
	if _, err := cc.c.Write(buf); err != nil {
		return err
	}
	frame, err := readFrame(cc.r, cc.buf)
	if err != nil {
		return err
	}
	cc.buf = frame
	if len(frame) == 0 {
		return errors.New("wire: empty response")
	}
	if code := codes.Code(frame[0]); code != codes.OK {
		return errRemote{status.Error(code, string(frame[1:]))}
	}
	if err := (proto.UnmarshalOptions{}).Unmarshal(frame[1:], out); err != nil {
		return errRemote{status.Errorf(codes.Internal, "wire: unmarshal the answer: %v", err)}
	}
	return nil
}

// Close closes the idle connections; calls in progress finish on theirs.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cc := range idle {
		_ = cc.c.Close()
	}
	return nil
}
