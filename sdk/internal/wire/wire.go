// Package wire is the plugin protocol's fast lane for unary calls: a gRPC service's
// unary methods carried as length-prefixed protobuf frames over a private unix
// socket, one call at a time per connection.
//
// gRPC over go-plugin costs about 200 µs per call between two processes on a small
// machine, most of it goroutine and thread wake-ups across gRPC's reader and writer
// goroutines on both sides. Here the caller's goroutine writes the request and reads
// the answer itself, and the server answers on the goroutine that read the request,
// so a call costs one socket round trip. Streams stay on gRPC: Conn hands NewStream
// to the gRPC connection it was given.
//
// The socket lives in a directory only the host's user can enter, and every
// connection starts with the secret the host handed the plugin over go-plugin's
// mutually authenticated gRPC, so only that plugin process can connect.
//
// Frames, each preceded by its length as a big-endian uint32:
//
//	hello:    "PLW1" | secret (32 bytes); the server answers one byte, 0
//	request:  len(method) as a byte | method ("/pkg.Service/Method") | deadline as
//	          big-endian int64 Unix nanoseconds, 0 for none | protobuf payload
//	response: gRPC status code as a byte | payload if 0, else the status message
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pleinhq/plein/sdk/internal/rpcguard"
)

// SecretSize is the length of the secret that opens a connection.
const SecretSize = 32

// MaxFrame is the largest frame either side sends or accepts: gRPC's message limit
// plus room for the method name and deadline.
const MaxFrame = rpcguard.MaxMessageSize + 1<<10

const magic = "PLW1"

// helloTimeout bounds the hello on both sides.
const helloTimeout = 5 * time.Second

var errFrameTooLarge = errors.New("wire: frame over the size limit")

// readFrame reads one frame into buf (grown as needed) and returns it.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > MaxFrame {
		return nil, errFrameTooLarge
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// beginFrame appends a length placeholder to buf; endFrame fills it in.
func beginFrame(buf []byte) []byte { return append(buf[:0], 0, 0, 0, 0) }

func endFrame(buf []byte) ([]byte, error) {
	if len(buf)-4 > MaxFrame {
		return nil, errFrameTooLarge
	}
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return buf, nil
}

// request is a decoded request frame; its fields alias the frame's buffer.
type request struct {
	method   string
	deadline time.Time
	payload  []byte
}

func parseRequest(frame []byte) (request, error) {
	if len(frame) < 1 {
		return request{}, errors.New("wire: empty request")
	}
	n := int(frame[0])
	if len(frame) < 1+n+8 {
		return request{}, fmt.Errorf("wire: request of %d bytes too short for its header", len(frame))
	}
	req := request{method: string(frame[1 : 1+n]), payload: frame[1+n+8:]}
	if ns := int64(binary.BigEndian.Uint64(frame[1+n:])); ns != 0 {
		req.deadline = time.Unix(0, ns)
	}
	return req, nil
}

func appendRequestHead(buf []byte, method string, deadline time.Time, hasDeadline bool) []byte {
	buf = append(buf, byte(len(method)))
	buf = append(buf, method...)
	var ns int64
	if hasDeadline {
		ns = deadline.UnixNano()
	}
	return binary.BigEndian.AppendUint64(buf, uint64(ns))
}
