package download

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"path"
	"strings"
)

// sniffLen is how many first bytes content sniffing looks at.
const sniffLen = 512

// Inspector reads through to another reader, counting the bytes, hashing them with
// SHA-256 and keeping the first ones to sniff the content type. It holds at most 512
// bytes whatever the size of the stream.
type Inspector struct {
	r    io.Reader
	hash hash.Hash
	head []byte
	n    int64
}

// Inspect returns an Inspector reading from r.
func Inspect(r io.Reader) *Inspector {
	return &Inspector{r: r, hash: sha256.New()}
}

// Read reads from the underlying reader, recording what passes.
func (i *Inspector) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.hash.Write(p[:n])
		i.n += int64(n)
		if len(i.head) < sniffLen {
			i.head = append(i.head, p[:min(n, sniffLen-len(i.head))]...)
		}
	}
	return n, err
}

// Size returns the number of bytes read so far.
func (i *Inspector) Size() int64 { return i.n }

// SHA256 returns the hex SHA-256 of the bytes read so far.
func (i *Inspector) SHA256() string { return hex.EncodeToString(i.hash.Sum(nil)) }

// ContentType names the type of the bytes read (the WHATWG sniffing algorithm), never
// from what the client claimed; the file name only narrows a zip archive (Office and
// OpenDocument files) or plain text (.csv, .md).
func (i *Inspector) ContentType(filename string) string {
	ct := http.DetectContentType(i.head)
	ext := strings.ToLower(path.Ext(filename))
	switch {
	case ct == "application/zip" && officeTypes[ext] != "":
		return officeTypes[ext]
	case strings.HasPrefix(ct, "text/plain") && ext == ".csv":
		return "text/csv; charset=utf-8"
	case strings.HasPrefix(ct, "text/plain") && ext == ".md":
		return "text/markdown; charset=utf-8"
	}
	return ct
}

// officeTypes refine what sniffing calls a zip archive by the file's extension: Office
// and OpenDocument files are zip archives inside. Only types a browser never runs.
var officeTypes = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odp":  "application/vnd.oasis.opendocument.presentation",
}
