// Package download lets a plugin store and serve users' files as safely as the core
// serves documents: file names safe to keep and to put in a header, content types
// sniffed from the bytes (never taken from the client), a SHA-256 for the ETag, and
// responses that a browser cannot be tricked into running.
//
// On upload, wrap the bytes in Inspect on their way to Host.Blobs().Put; keep the
// name from SafeFilename, the Size, SHA256 and ContentType. On download, hand those
// to Serve with a function that opens the blob.
package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of a served file: a file shown in the browser
// runs nothing and loads nothing, even if sniffing got its type wrong.
const CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

// inlineTypes are the content types a browser may show inline: they run no script.
// Everything else is offered as a download.
var inlineTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf",
	"text/plain", "text/csv", "audio/", "video/"}

// Inline reports whether a file of contentType may be shown in the browser rather
// than downloaded: images, PDF, plain text, audio and video.
func Inline(contentType string) bool {
	for _, t := range inlineTypes {
		if strings.HasPrefix(contentType, t) {
			return true
		}
	}
	return false
}

// File is a stored file as Serve sends it.
type File struct {
	// Name is the file's name, as SafeFilename made it.
	Name string
	// ContentType is the sniffed type (Inspector.ContentType).
	ContentType string
	Size        int64
	// SHA256 is the hex digest of the bytes; it is the ETag.
	SHA256  string
	ModTime time.Time
	// Open returns a reader of the bytes from offset to the end; Serve closes it.
	Open func(ctx context.Context, offset int64) (io.ReadCloser, error)
}

// Serve answers r with f: the safety headers (Content-Disposition with the name in
// RFC 8187 form, inline only for the types Inline allows and never when attachment
// is set; X-Content-Type-Options: nosniff; CSP; Cache-Control: private, no-cache),
// the ETag and Last-Modified, and the bytes through http.ServeContent, which answers
// 304 for a matching If-None-Match, 206 for a satisfiable Range (416 otherwise) and
// honours If-Range. Bytes stream from Open; a file never sits in memory.
func Serve(w http.ResponseWriter, r *http.Request, f File, attachment bool) {
	disposition := "attachment"
	if !attachment && Inline(f.ContentType) {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", ContentDisposition(disposition, f.Name))
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache") // may be kept, but asked about each time
	if f.SHA256 != "" {
		h.Set("Etag", `"`+f.SHA256+`"`)
	}
	content := &seeker{ctx: r.Context(), size: f.Size, open: f.Open}
	defer content.Close()
	http.ServeContent(w, r, "", f.ModTime, content)
}

// seeker is an io.ReadSeeker over a stored file for http.ServeContent: Seek only
// moves the position, and the first Read after it opens the file there.
type seeker struct {
	ctx  context.Context
	size int64
	open func(ctx context.Context, offset int64) (io.ReadCloser, error)
	pos  int64
	rc   io.ReadCloser
}

func (s *seeker) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if s.rc == nil {
		rc, err := s.open(s.ctx, s.pos)
		if err != nil {
			return 0, fmt.Errorf("open at %d: %w", s.pos, err)
		}
		s.rc = rc
	}
	n, err := s.rc.Read(p)
	s.pos += int64(n)
	if errors.Is(err, io.EOF) && s.pos < s.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *seeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	if offset != s.pos {
		s.Close()
		s.pos = offset
	}
	return offset, nil
}

// Close closes the open reader, if any.
func (s *seeker) Close() {
	if s.rc != nil {
		_ = s.rc.Close()
		s.rc = nil
	}
}
