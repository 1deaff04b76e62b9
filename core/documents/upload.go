package documents

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
)

// Staged is a file whose bytes are in the blob store under a key reserved in SQL, waiting
// to become a version. Create or AddVersion commit it; Discard gives it up.
type Staged struct {
	Filename    string
	Size        int64
	ContentType string // sniffed from the first bytes
	SHA256      string // hex

	s         *Service
	key       string
	committed bool
	discarded bool
}

// Stage streams r into the blob store with bounded memory, reserving the key in SQL
// first. It fails with a TooLarge fault past Options.MaxSize (having stored nothing),
// an Invalid fault when r fails (the client went away), and an Unavailable fault when
// the blob store does not answer. A failed stage leaves nothing visible, and its bytes,
// if any reached the store, are deleted now or by the sweeper.
func (s *Service) Stage(ctx context.Context, filename string, r io.Reader) (*Staged, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-s.uploads }()
	f := &Staged{Filename: SafeFilename(filename), s: s, key: blob.NewKey(blobPrefix)}
	now := store.Micros(s.now())
	if _, err := s.db.ExecContext(ctx, `INSERT INTO blob_uploads (blob_key, started_at, touched_at) VALUES ($1, $2, $2)`,
		f.key, now); err != nil {
		return nil, fmt.Errorf("reserve upload: %w", err)
	}
	stop := s.heartbeat(f.key)
	src := &source{r: r, hash: sha256.New()}
	info, err := s.blobs.Put(ctx, f.key, src, -1, blob.PutOptions{MaxSize: s.opts.MaxSize})
	stop()
	if err != nil {
		f.Discard()
		switch {
		case errors.Is(err, blob.ErrTooLarge):
			return nil, &fault.Error{Kind: fault.TooLarge, Code: "payload_too_large",
				Detail: fmt.Sprintf("the file is larger than the limit of %d bytes", s.opts.MaxSize)}
		case src.err != nil:
			return nil, fault.Wrap(fault.Invalid, "upload_interrupted", src.err, "the upload broke off before the file ended")
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		return nil, unavailable(err)
	}
	f.Size = info.Size
	f.SHA256 = hex.EncodeToString(src.hash.Sum(nil))
	f.ContentType = sniff(src.head, f.Filename)
	return f, nil
}

// acquire takes an upload slot, waiting up to a second for one; a server streaming as
// many uploads as it may answers the next with an Unavailable fault and a Retry-After.
func (s *Service) acquire(ctx context.Context) error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return &fault.Error{Kind: fault.Unavailable, Code: "too_many_uploads", RetryAfter: 5 * time.Second,
			Detail: fmt.Sprintf("the server is taking %d uploads at once; try again shortly", s.opts.Concurrency)}
	}
}

// heartbeat keeps the reservation fresh while a long upload runs, so a sweeper on any
// replica can tell it from one a crash left behind. The returned func stops it.
func (s *Service) heartbeat(key string) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.opts.StaleUpload / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := s.db.ExecContext(ctx, `UPDATE blob_uploads SET touched_at = $1 WHERE blob_key = $2`,
					store.Micros(s.now()), key)
				cancel()
				if err != nil {
					s.log.Warn("upload heartbeat", "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// commit records the staged bytes as version n of a document, in the caller's
// transaction, and ends the reservation. A reservation already gone means the sweeper
// took the upload for dead: the bytes are being deleted, so the version must not be.
func (f *Staged) commit(ctx context.Context, tx *sql.Tx, docID string, n int, by string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO document_versions (document_id, number, blob_key, size, sha256, content_type,
		filename, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		docID, n, f.key, f.Size, f.SHA256, f.ContentType, f.Filename, by, store.Micros(f.s.now())); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM blob_uploads WHERE blob_key = $1`, f.key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("upload %s: the sweeper took it for abandoned", f.key)
	}
	return nil
}

// Discard gives up a staged file that was not committed: its bytes go to the trash and
// are deleted now if the blob store answers, else by the sweeper. It is safe to call
// more than once and after a commit.
func (f *Staged) Discard() {
	if f == nil || f.committed || f.discarded {
		return
	}
	f.discarded = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.s.trash(ctx, f.key); err != nil {
		f.s.log.Warn("discard upload; the sweeper will", "key", f.key, "err", err)
		return
	}
	if err := f.s.deleteTrashed(ctx, f.key); err != nil {
		f.s.log.Warn("delete discarded upload; the sweeper will", "key", f.key, "err", err)
	}
}

// source reads the client's bytes, hashing them, keeping the first 512 for sniffing,
// and remembering the first error the client caused.
type source struct {
	r    io.Reader
	hash hash.Hash
	head []byte
	err  error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.hash.Write(p[:n])
		if len(s.head) < 512 {
			s.head = append(s.head, p[:min(n, 512-len(s.head))]...)
		}
	}
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
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

// sniff names the content type from the bytes (the WHATWG algorithm), never from what
// the client claimed; the file name only narrows a zip archive or plain text.
func sniff(head []byte, filename string) string {
	ct := http.DetectContentType(head)
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
