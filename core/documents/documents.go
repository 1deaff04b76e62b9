// Package documents keeps files: document items with numbered versions whose bytes live
// in the blob store. Writes never leave metadata without bytes or bytes without
// metadata: a key is reserved in SQL before the bytes go out, the version commits with
// the item, and a sweeper deletes whatever a failure or crash left on either side.
package documents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
)

// Defaults of Options.
const (
	DefaultMaxSize     = 100 << 20
	DefaultRetention   = 30 * 24 * time.Hour
	DefaultStaleUpload = 10 * time.Minute
	DefaultConcurrency = 16
)

// PurgeAtOnce is a Retention that purges deleted documents at the next sweep.
const PurgeAtOnce time.Duration = -1

// blobPrefix is where document bytes live in the blob store.
const blobPrefix = "documents"

// Options tune the service.
type Options struct {
	MaxSize     int64         // bytes one upload may have
	Retention   time.Duration // how long deleted documents stay in the trash before purge; PurgeAtOnce: none
	StaleUpload time.Duration // an upload whose heartbeat is older is taken as dead
	// Concurrency is how many uploads one server streams at once (each holds up to 24 MiB
	// on S3); one more waits up to a second, then gets an Unavailable fault.
	Concurrency int
}

// Version is one upload of a document.
type Version struct {
	Number      int             `json:"number"`
	Filename    string          `json:"filename"`
	Size        int64           `json:"size"`
	ContentType string          `json:"content_type"`
	SHA256      string          `json:"sha256"`
	UploadedBy  *content.Person `json:"uploaded_by"` // null once the account is deleted
	CreatedAt   time.Time       `json:"created_at"`
	key         string
}

// Document is a document item with its versions, newest first.
type Document struct {
	content.Item
	Versions []Version `json:"versions"`
}

// Service keeps documents on the SQL store and the blob store.
type Service struct {
	db      *store.DB
	blobs   blob.Store
	content *content.Service
	log     *slog.Logger
	opts    Options
	now     func() time.Time
	uploads chan struct{} // a slot per upload streaming now
}

// New returns the service. Zero options take the defaults.
func New(db *store.DB, blobs blob.Store, cs *content.Service, log *slog.Logger, opts Options) *Service {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	switch {
	case opts.Retention == 0:
		opts.Retention = DefaultRetention
	case opts.Retention < 0:
		opts.Retention = 0
	}
	if opts.StaleUpload <= 0 {
		opts.StaleUpload = DefaultStaleUpload
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Service{db: db, blobs: blobs, content: cs, log: log, opts: opts, now: time.Now,
		uploads: make(chan struct{}, opts.Concurrency)}
}

// MaxSize is the most bytes one upload may have.
func (s *Service) MaxSize() int64 { return s.opts.MaxSize }

// Create makes a document in a space from a staged file, written by author, who the
// caller has checked may add items there. An empty title takes the file's name. The
// staged file is committed or, on error, discarded.
func (s *Service) Create(ctx context.Context, author, spaceID, title, description string, f *Staged) (Document, error) {
	defer f.Discard()
	if title == "" {
		title = f.Filename
	}
	var id string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.content.CreateTx(ctx, tx, author, spaceID, content.NewItem{Kind: content.KindDocument, Title: title,
			Body: description, SearchExtra: searchWords(f.Filename)})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO documents (item_id, current_version) VALUES ($1, 1)`, id); err != nil {
			return err
		}
		return f.commit(ctx, tx, id, 1, author)
	})
	if err != nil {
		return Document{}, wrap("create document", err)
	}
	f.committed = true
	return s.read(ctx, id)
}

// AddVersion makes a staged file the newest version of doc, uploaded by editor, who the
// caller has checked may edit it. The staged file is committed or, on error, discarded.
func (s *Service) AddVersion(ctx context.Context, editor string, doc Document, f *Staged) (Document, error) {
	defer f.Discard()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The update takes the row's lock first, so two uploads at once get 2 and 3, not 2 twice.
		var n int
		err := tx.QueryRowContext(ctx, `UPDATE documents SET current_version = current_version + 1 WHERE item_id = $1
			RETURNING current_version`, doc.ID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.NotFoundf("no such document")
		}
		if err != nil {
			return err
		}
		if err := f.commit(ctx, tx, doc.ID, n, editor); err != nil {
			return err
		}
		return s.content.RecordEditTx(ctx, tx, doc.ID, editor, searchWords(f.Filename))
	})
	if err != nil {
		return Document{}, wrap("add version", err)
	}
	f.committed = true
	return s.read(ctx, doc.ID)
}

// Get returns a document the scope may read, with its versions, or a NotFound fault.
func (s *Service) Get(ctx context.Context, sc content.Scope, id string) (Document, error) {
	it, err := s.content.Get(ctx, sc, id)
	if err != nil {
		return Document{}, err
	}
	if it.Kind != content.KindDocument {
		return Document{}, fault.NotFoundf("no such document")
	}
	return s.withVersions(ctx, it)
}

// read returns a document whoever reads, for writers that have checked already.
func (s *Service) read(ctx context.Context, id string) (Document, error) {
	it, err := s.content.Load(ctx, id)
	if err != nil {
		return Document{}, err
	}
	return s.withVersions(ctx, it)
}

func (s *Service) withVersions(ctx context.Context, it content.Item) (Document, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT v.number, v.filename, v.size, v.content_type, v.sha256, v.uploaded_by,
		COALESCE(u.name, ''), v.created_at, v.blob_key FROM document_versions v LEFT JOIN users u ON u.id = v.uploaded_by
		WHERE v.document_id = $1 ORDER BY v.number DESC`, it.ID)
	if err != nil {
		return Document{}, wrap("document versions", err)
	}
	defer rows.Close()
	d := Document{Item: it, Versions: []Version{}}
	for rows.Next() {
		var v Version
		var by sql.NullString
		var byName string
		var created int64
		if err := rows.Scan(&v.Number, &v.Filename, &v.Size, &v.ContentType, &v.SHA256, &by, &byName, &created, &v.key); err != nil {
			return Document{}, wrap("document versions", err)
		}
		if by.Valid {
			v.UploadedBy = &content.Person{ID: by.String, Name: byName}
		}
		v.CreatedAt = store.FromMicros(created)
		d.Versions = append(d.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return Document{}, wrap("document versions", err)
	}
	if len(d.Versions) == 0 {
		return Document{}, fault.NotFoundf("no such document")
	}
	return d, nil
}

// Version returns version n of the document (0: the current one), or a NotFound fault.
func (d Document) Version(n int) (Version, error) {
	if n == 0 && len(d.Versions) > 0 {
		return d.Versions[0], nil
	}
	for _, v := range d.Versions {
		if v.Number == n {
			return v, nil
		}
	}
	return Version{}, fault.NotFoundf("no version %d of this document", n)
}

// Open streams length bytes of a version from offset (length < 0: to the end). It returns
// an Unavailable fault when the blob store does not answer.
func (s *Service) Open(ctx context.Context, v Version, offset, length int64) (io.ReadCloser, error) {
	rc, _, err := s.blobs.Get(ctx, v.key, offset, length)
	switch {
	case errors.Is(err, blob.ErrInvalidRange):
		return nil, fault.New(fault.Invalid, "range_not_satisfiable", "the range is outside the file")
	case errors.Is(err, blob.ErrNotFound):
		// Metadata without bytes must not happen; say so loudly rather than serve nothing.
		return nil, fmt.Errorf("document version %s: bytes missing: %w", v.key, err)
	case err != nil:
		return nil, unavailable(err)
	}
	return rc, nil
}

// PresignURL returns a short-lived URL that downloads a version straight from the blob
// store, answered with headers h, or blob.ErrNotSupported when the store has no URLs.
func (s *Service) PresignURL(ctx context.Context, v Version, ttl time.Duration, h blob.ResponseHeaders) (string, error) {
	u, err := s.blobs.PresignGet(ctx, v.key, ttl, h)
	if err != nil && !errors.Is(err, blob.ErrNotSupported) {
		return "", unavailable(err)
	}
	return u, err
}

// Delete moves a document to the trash: it is gone from every read at once, and its
// bytes are purged after the retention period unless Restore brings it back.
func (s *Service) Delete(ctx context.Context, by, id string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.content.SetTrashedTx(ctx, tx, id, s.now()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE documents SET deleted_by = $1 WHERE item_id = $2`, by, id)
		return err
	})
	s.content.ForgetHead(id) // a route check must not see it before the commit
	return wrap("delete document", err)
}

// Trashed returns a document in the trash of a space the scope may read, or a NotFound
// fault.
func (s *Service) Trashed(ctx context.Context, sc content.Scope, id string) (content.Item, error) {
	it, err := s.content.GetTrashed(ctx, sc, id)
	if err != nil {
		return content.Item{}, err
	}
	if it.Kind != content.KindDocument {
		return content.Item{}, fault.NotFoundf("no such document")
	}
	return it, nil
}

// Restore takes a document out of the trash.
func (s *Service) Restore(ctx context.Context, id string) (Document, error) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.content.SetTrashedTx(ctx, tx, id, time.Time{}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE documents SET deleted_by = NULL WHERE item_id = $1`, id)
		return err
	})
	if err != nil {
		return Document{}, wrap("restore document", err)
	}
	return s.read(ctx, id)
}

// wrap adds context to unexpected errors and leaves faults, and nil, as they are.
func wrap(what string, err error) error {
	if err == nil || fault.As(err) != nil {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func unavailable(err error) error {
	return fault.Wrap(fault.Unavailable, "storage_unavailable", err, "the document store is not answering; try again shortly")
}
