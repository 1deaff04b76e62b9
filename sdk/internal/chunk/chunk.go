// Package chunk turns a stream of byte chunks into an io.Reader, and an io.Reader into
// a stream of chunks, for the plugin protocol's streamed bodies and blobs.
package chunk

import (
	"errors"
	"io"
)

// Size is the largest chunk a sender puts in one message.
const Size = 64 << 10

// Reader reads bytes from successive chunks. Next returns the next chunk, io.EOF at a
// clean end, or any other error, which Read returns from then on.
type Reader struct {
	Next func() ([]byte, error)
	buf  []byte
	err  error
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.err = r.Next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Send reads r to its end and hands what each Read returns, at most Size bytes, to
// send, reusing one buffer (send must not keep the slice). It returns the number of
// bytes sent and the first error from reading r (other than io.EOF) or from send.
func Send(r io.Reader, send func([]byte) error) (int64, error) {
	buf := make([]byte, Size)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := send(buf[:n]); serr != nil {
				return total, serr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
