package download_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk/download"
)

func TestContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"plan.pdf":       `attachment; filename="plan.pdf"`,
		`say "hi".txt`:   `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`,
		"évènement.odt":  `attachment; filename="_v_nement.odt"; filename*=UTF-8''%C3%A9v%C3%A8nement.odt`,
		`back\slash.txt`: `attachment; filename="back_slash.txt"; filename*=UTF-8''back%5Cslash.txt`,
	} {
		if got := download.ContentDisposition("attachment", name); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
}

// FuzzSafeFilename checks what SafeFilename promises, for any input: a non-empty
// valid UTF-8 name of at most MaxFilename bytes, no path, nothing invisible or
// line-breaking, stable when applied again; and a Content-Disposition that is one
// plain ASCII line.
func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"plan.pdf", "../../etc/passwd", `..\..\x`, "..", "a\x00b", "\u202egnp.exe",
		strings.Repeat("ä", 300) + ".pdf", " . ", "a\r\nContent-Type: text/html", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := download.SafeFilename(in)
		switch {
		case out == "" || len(out) > download.MaxFilename || !utf8.ValidString(out):
			t.Fatalf("SafeFilename(%q) = %q", in, out)
		case strings.ContainsAny(out, "/\\<>:\"|?*"):
			t.Fatalf("SafeFilename(%q) = %q keeps a separator or reserved character", in, out)
		case strings.ContainsFunc(out, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
			t.Fatalf("SafeFilename(%q) = %q keeps an invisible character", in, out)
		case strings.HasPrefix(out, ".") || strings.HasSuffix(out, " "):
			t.Fatalf("SafeFilename(%q) = %q", in, out)
		case download.SafeFilename(out) != out:
			t.Fatalf("SafeFilename is not stable: %q -> %q -> %q", in, out, download.SafeFilename(out))
		}
		cd := download.ContentDisposition("attachment", out)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] > 0x7e {
				t.Fatalf("ContentDisposition(%q) = %q: byte %#x", out, cd, cd[i])
			}
		}
	})
}

func TestInspectorSniffsHashesAndCounts(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 1<<20)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"page.html", []byte("<!DOCTYPE html><script>alert(1)</script>"), "text/html; charset=utf-8"},
		{"looks.pdf", []byte("plain words, not a PDF"), "text/plain; charset=utf-8"},
		{"real.pdf", []byte("%PDF-1.7\n..."), "application/pdf"},
		{"cijfers.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
		{"verslag.docx", append([]byte("PK\x03\x04"), make([]byte, 40)...), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"big.txt", big, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		in := download.Inspect(bytes.NewReader(tt.data))
		if _, err := io.Copy(io.Discard, in); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(tt.data)
		if in.ContentType(tt.name) != tt.want || in.Size() != int64(len(tt.data)) || in.SHA256() != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %s %d %s", tt.name, in.ContentType(tt.name), in.Size(), in.SHA256())
		}
	}
}

// file is a stored file for Serve, counting how often it was opened.
type file struct {
	data  []byte
	opens int
}

func (f *file) serve(t *testing.T, name string, attachment bool, header http.Header) *http.Response {
	t.Helper()
	in := download.Inspect(bytes.NewReader(f.data))
	_, _ = io.Copy(io.Discard, in)
	df := download.File{Name: name, ContentType: in.ContentType(name), Size: in.Size(), SHA256: in.SHA256(),
		ModTime: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Open: func(_ context.Context, offset int64) (io.ReadCloser, error) {
			f.opens++
			return io.NopCloser(bytes.NewReader(f.data[offset:])), nil
		}}
	req := httptest.NewRequest("GET", "/content", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	download.Serve(w, req, df, attachment)
	return w.Result()
}

func TestServeSetsTheSafetyHeaders(t *testing.T) {
	f := &file{data: []byte("<html><script>alert(document.cookie)</script></html>")}
	resp := f.serve(t, "notulen ü.html", false, nil)
	body, _ := io.ReadAll(resp.Body)
	h := resp.Header
	switch {
	case resp.StatusCode != 200 || string(body) != string(f.data):
		t.Fatalf("%d %q", resp.StatusCode, body)
	case h.Get("Content-Type") != "text/html; charset=utf-8",
		h.Get("Content-Disposition") != `attachment; filename="notulen _.html"; filename*=UTF-8''notulen%20%C3%BC.html`,
		h.Get("X-Content-Type-Options") != "nosniff",
		h.Get("Content-Security-Policy") != download.CSP || !strings.Contains(download.CSP, "sandbox"),
		h.Get("Etag") == "", h.Get("Accept-Ranges") != "bytes", h.Get("Content-Length") != "52",
		h.Get("Last-Modified") != "Sun, 01 Mar 2026 09:00:00 GMT":
		t.Fatalf("headers %v", h)
	}
	pdf := &file{data: []byte("%PDF-1.7\n")}
	if cd := pdf.serve(t, "a.pdf", false, nil).Header.Get("Content-Disposition"); cd != `inline; filename="a.pdf"` {
		t.Errorf("a PDF: %s", cd)
	}
	if cd := pdf.serve(t, "a.pdf", true, nil).Header.Get("Content-Disposition"); cd != `attachment; filename="a.pdf"` {
		t.Errorf("a PDF asked as a download: %s", cd)
	}
}

func TestServeAnswersRangesAndConditionals(t *testing.T) {
	f := &file{data: []byte("0123456789abcdef")}
	etag := f.serve(t, "x.txt", false, nil).Header.Get("Etag")
	tests := []struct {
		name   string
		header http.Header
		status int
		body   string
		opens  int
	}{
		{"range", http.Header{"Range": {"bytes=4-7"}}, 206, "4567", 1},
		{"suffix", http.Header{"Range": {"bytes=-3"}}, 206, "def", 1},
		{"unsatisfiable", http.Header{"Range": {"bytes=99-"}}, 416, "", 0},
		{"not modified", http.Header{"If-None-Match": {etag}}, 304, "", 0},
		{"if-range stale", http.Header{"Range": {"bytes=4-7"}, "If-Range": {`"other"`}}, 200, "0123456789abcdef", 1},
		{"if-range current", http.Header{"Range": {"bytes=4-7"}, "If-Range": {etag}}, 206, "4567", 1},
	}
	for _, tt := range tests {
		f.opens = 0
		resp := f.serve(t, "x.txt", false, tt.header)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status || (tt.body != "" && string(body) != tt.body) || f.opens != tt.opens {
			t.Errorf("%s: %d %q, opened %d times", tt.name, resp.StatusCode, body, f.opens)
		}
	}
	if cr := f.serve(t, "x.txt", false, http.Header{"Range": {"bytes=4-7"}}).Header.Get("Content-Range"); cr != "bytes 4-7/16" {
		t.Errorf("Content-Range %q", cr)
	}
}
