// Package blob stores document bytes on local disk or S3.
//
// Both implementations satisfy Store and pass the same conformance suite (blobtest).
// Keys come from NewKey, never from user input, and every method refuses a key that
// does not look like one.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound     = errors.New("blob: not found")
	ErrInvalidKey   = errors.New("blob: invalid key")
	ErrInvalidRange = errors.New("blob: range not satisfiable")
	ErrSizeMismatch = errors.New("blob: reader size differs from the declared size")
	ErrTooLarge     = errors.New("blob: larger than the allowed maximum")
	ErrNotSupported = errors.New("blob: not supported by this backend")
)

// Info describes a stored blob.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ResponseHeaders are headers a presigned download answers with; empty ones are left out.
type ResponseHeaders struct {
	ContentType        string
	ContentDisposition string
	CacheControl       string
}

// PutOptions tune one Put.
type PutOptions struct {
	// MaxSize caps a Put of unknown size (size < 0): past it Put fails with ErrTooLarge
	// and stores nothing. Zero means no cap.
	MaxSize int64
}

// Store keeps blobs under keys.
type Store interface {
	// Put stores the bytes of r under key, replacing any blob there, and returns its Info.
	// With size >= 0, r must yield exactly size bytes (else ErrSizeMismatch); with size < 0
	// r is read to EOF, with bounded memory either way. A failed Put leaves nothing behind.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Info, error)
	// Get streams length bytes from offset (length < 0: to the end). It returns
	// ErrNotFound if the key is missing and ErrInvalidRange if offset is past the end.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error)
	// Stat returns the blob's Info, or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List yields the blobs whose keys start with prefix, in key order.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
	// PresignGet returns a URL that downloads the blob without credentials until ttl
	// passes, answered with the headers h sets. It returns ErrNotSupported on backends
	// without URLs of their own.
	PresignGet(ctx context.Context, key string, ttl time.Duration, h ResponseHeaders) (string, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Backend names the implementation: "local" or "s3".
	Backend() string
}

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKey returns a fresh key under prefix (such as "documents" or "plugins/likes"):
// prefix/yyyy/mm/<26 random characters>. The month keeps listings and lifecycle rules cheap.
// It panics if prefix is not a valid key prefix, which is a programming error.
func NewKey(prefix string) string {
	if prefix != "" && !validPath(prefix) {
		panic(fmt.Sprintf("blob: invalid key prefix %q", prefix))
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	k := time.Now().UTC().Format("2006/01/") + keyEncoding.EncodeToString(b[:])
	if prefix != "" {
		k = prefix + "/" + k
	}
	return k
}

// ValidKey reports whether key is made of "/"-separated segments of [a-z0-9._-], none
// of them empty or starting with "." (so no "..", and no clash with the local store's
// temporary files), at most 512 bytes in all.
func ValidKey(key string) bool { return validPath(key) }

func validPath(p string) bool {
	if p == "" || len(p) > 512 {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validPrefix accepts "" (everything), a key, or a key followed by "/".
func validPrefix(p string) bool {
	return p == "" || validPath(strings.TrimSuffix(p, "/"))
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}

// exactReader yields the declared number of bytes and fails if the source has more or fewer.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		// Declared size reached: the source must be at its end too.
		var one [1]byte
		n, err := io.ReadFull(e.r, one[:])
		if n > 0 {
			return 0, ErrSizeMismatch
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, ErrSizeMismatch
	}
	if err == io.EOF {
		err = nil // report EOF on the next call, after checking for surplus bytes
	}
	return n, err
}

// capReader fails with ErrTooLarge once more than max bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// limitSource wraps r so that it enforces size or opts.MaxSize.
func limitSource(r io.Reader, size int64, opts PutOptions) (io.Reader, error) {
	switch {
	case size >= 0:
		if opts.MaxSize > 0 && size > opts.MaxSize {
			return nil, ErrTooLarge
		}
		return &exactReader{r: r, left: size}, nil
	case opts.MaxSize > 0:
		return &capReader{r: r, left: opts.MaxSize}, nil
	default:
		return r, nil
	}
}
