package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/fault"
)

// Limits of an upload form's other parts.
const (
	maxFormField = content.MaxPostBody // bytes of a title or description
	maxFormParts = 8
	// formOverhead is what a form may carry besides the file: boundaries, part headers
	// and the small fields. A declared length over MaxSize plus this is refused unread.
	formOverhead = maxFormParts*(maxFormField+4<<10) + 64<<10
	// uploadIdle is how long an upload may go without a byte before the server gives up.
	uploadIdle = 60 * time.Second
)

// uploadForm is an upload form read up to its end, the file staged in the blob store.
type uploadForm struct {
	title, description string
	file               *documents.Staged
}

// readUploadForm streams a multipart/form-data body: the "file" part goes to the blob
// store as it arrives, never whole in memory; "title" and "description" (where allowed)
// may come before or after it. Any other part, or a second file, is refused.
func (s *Server) readUploadForm(c *fiber.Ctx, fields ...string) (form uploadForm, err error) {
	mt, params, perr := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if perr != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return form, fiber.NewError(fiber.StatusUnsupportedMediaType, "send the file as multipart/form-data with a \"file\" part")
	}
	max := s.documents.MaxSize()
	if n := c.Request().Header.ContentLength(); n > 0 && int64(n) > max+formOverhead {
		return form, &fault.Error{Kind: fault.TooLarge, Code: "payload_too_large",
			Detail: fmt.Sprintf("the file is larger than the limit of %d bytes", max)}
	}
	defer func() {
		if err != nil {
			form.file.Discard()
			form.file = nil
		}
	}()
	body := c.Context().RequestBodyStream()
	if body == nil {
		body = strings.NewReader("")
	}
	mr := multipart.NewReader(&idleReader{r: body, conn: c.Context().Conn()}, params["boundary"])
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return form, fault.Wrap(fault.Invalid, "bad_request", err, "the multipart body could not be read")
		}
		if parts == maxFormParts {
			return form, fault.Invalidf("body", "at most %d form parts", maxFormParts)
		}
		name := part.FormName()
		switch {
		case name == "file":
			if form.file != nil {
				return form, fault.Invalidf("file", "one file per upload")
			}
			if form.file, err = s.documents.Stage(c.UserContext(), part.FileName(), part); err != nil {
				return form, err
			}
		case name == "title" || (name == "description" && len(fields) > 0):
			v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return form, fault.Wrap(fault.Invalid, "bad_request", err, "the multipart body could not be read")
			}
			if len(v) > maxFormField {
				return form, fault.Invalidf(name, "at most %d bytes", maxFormField)
			}
			if strings.ContainsRune(string(v), 0) {
				return form, fault.Invalidf(name, "must not contain NUL")
			}
			if name == "title" {
				form.title = strings.TrimSpace(string(v))
			} else {
				form.description = string(v)
			}
		default:
			return form, fault.Invalidf(name, `unknown form field; send "file"%s`, fieldList(fields))
		}
	}
	if form.file == nil {
		return form, fault.Invalidf("file", "required: the file to upload")
	}
	return form, nil
}

func fieldList(fields []string) string {
	if len(fields) == 0 {
		return ""
	}
	return `, "title" and "` + strings.Join(fields, `", "`) + `"`
}

// idleReader pushes the connection's read deadline forward as bytes arrive, so a long
// upload runs as long as it keeps moving and a stalled one ends after uploadIdle.
type idleReader struct {
	r     io.Reader
	conn  net.Conn
	until time.Time
}

func (ir *idleReader) Read(p []byte) (int, error) {
	if now := time.Now(); ir.conn != nil && ir.until.Sub(now) < uploadIdle/2 {
		ir.until = now.Add(uploadIdle)
		_ = ir.conn.SetReadDeadline(ir.until)
	}
	return ir.r.Read(p)
}

func (s *Server) uploadDocument(c *fiber.Ctx) error {
	p, spaceID := principal(c), c.Params("id")
	// Decide before reading a byte: a refused upload costs the server nothing.
	if err := s.authz.CheckCreateItem(p, spaceID, content.KindDocument); err != nil {
		return err
	}
	form, err := s.readUploadForm(c, "description")
	if err != nil {
		return err
	}
	doc, err := s.documents.Create(c.UserContext(), p.UserID, spaceID, form.title, form.description, form.file)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(doc)
}

func (s *Server) getDocument(c *fiber.Ctx) error {
	doc, err := s.documents.Get(c.UserContext(), s.scope(principal(c)), c.Params("id"))
	if err != nil {
		return err
	}
	s.decorate(c, []*content.Item{&doc.Item})
	return c.JSON(doc)
}

func (s *Server) addVersion(c *fiber.Ctx) error {
	p := principal(c)
	doc, err := s.editableDocument(c, p)
	if err != nil {
		return err
	}
	form, err := s.readUploadForm(c)
	if err != nil {
		return err
	}
	if form.title != "" {
		form.file.Discard()
		return fault.Invalidf("title", "a new version keeps the title; change it with PATCH /api/v1/items/{id}")
	}
	doc, err = s.documents.AddVersion(c.UserContext(), p.UserID, doc, form.file)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(doc)
}

// editableDocument returns the document the request names if the caller may read and
// change it: its author or a moderator of its space.
func (s *Server) editableDocument(c *fiber.Ctx, p *authz.Principal) (documents.Document, error) {
	doc, err := s.documents.Get(c.UserContext(), s.scope(p), c.Params("id"))
	if err != nil {
		return doc, err
	}
	return doc, s.authz.CheckEditContent(p, doc.SpaceID, authorID(doc.Author))
}

func (s *Server) deleteDocument(c *fiber.Ctx) error {
	p := principal(c)
	doc, err := s.editableDocument(c, p)
	if err != nil {
		return err
	}
	if err := s.documents.Delete(c.UserContext(), p.UserID, doc.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) restoreDocument(c *fiber.Ctx) error {
	p := principal(c)
	it, err := s.documents.Trashed(c.UserContext(), s.scope(p), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.authz.CheckEditContent(p, it.SpaceID, authorID(it.Author)); err != nil {
		return err
	}
	doc, err := s.documents.Restore(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	return c.JSON(doc)
}

func (s *Server) listTrash(c *fiber.Ctx) error {
	p, spaceID := principal(c), c.Params("id")
	pg, err := pageOf(queryOf(c), 2)
	if err != nil {
		return err
	}
	if err := s.authz.RequireSpace(p, spaceID, "content", "moderate"); err != nil {
		return err
	}
	tq := content.TrashQuery{Space: spaceID, Limit: pg.limit}
	if pg.cursor != nil {
		if tq.BeforeDeleted, err = strconv.ParseInt(pg.cursor[0], 10, 64); err != nil {
			return fault.Invalidf("cursor", "not a cursor this list gave out")
		}
		tq.BeforeID = pg.cursor[1]
	}
	items, more, err := s.content.Trash(c.UserContext(), tq)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, more, func(it content.Item) []string {
		return []string{strconv.FormatInt(it.DeletedAt.UnixMicro(), 10), it.ID}
	}))
}

// Content types a browser may show inline: they run no script. Everything else is
// offered as a download.
var inlineTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf",
	"text/plain", "text/csv", "audio/", "video/"}

func inline(contentType string) bool {
	for _, t := range inlineTypes {
		if strings.HasPrefix(contentType, t) {
			return true
		}
	}
	return false
}

// downloadCSP keeps a document shown in the browser from running anything or loading
// anything, even if sniffing got its type wrong.
const downloadCSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

func (s *Server) documentContent(c *fiber.Ctx) error {
	q := queryOf(c)
	n := 0
	if v, ok := q["version"]; ok {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fault.Invalidf("version", "a version number: 1, 2, ...")
		}
	}
	download := false
	switch q["download"] {
	case "", "0", "false":
	case "1", "true":
		download = true
	default:
		return fault.Invalidf("download", `"true" or "false"`)
	}
	doc, err := s.documents.Get(c.UserContext(), s.scope(principal(c)), c.Params("id"))
	if err != nil {
		return err
	}
	v, err := doc.Version(n)
	if err != nil {
		return err
	}
	disposition := "attachment"
	if !download && inline(v.ContentType) {
		disposition = "inline"
	}
	etag := `"` + v.SHA256 + `"`
	c.Set(fiber.HeaderContentType, v.ContentType)
	c.Set(fiber.HeaderContentDisposition, documents.ContentDisposition(disposition, v.Filename))
	c.Set(fiber.HeaderContentSecurityPolicy, downloadCSP)
	c.Set(fiber.HeaderCacheControl, "private, no-cache") // may be kept, but asked about each time
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderLastModified, v.CreatedAt.Format(time.RFC1123))
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	if etagMatch(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if s.presignTTL > 0 {
		u, err := s.documents.PresignURL(c.UserContext(), v, s.presignTTL, blob.ResponseHeaders{ContentType: v.ContentType,
			ContentDisposition: documents.ContentDisposition("attachment", v.Filename), CacheControl: "private, no-cache"})
		switch {
		case err == nil:
			c.Set(fiber.HeaderCacheControl, "no-store") // the URL expires; never reuse the redirect
			return c.Redirect(u, fiber.StatusFound)
		case !errors.Is(err, blob.ErrNotSupported):
			return err
		}
	}
	r, result := byteRange{0, v.Size}, rangeWhole
	if h := c.Get(fiber.HeaderRange); h != "" {
		if ir := c.Get(fiber.HeaderIfRange); ir == "" || ir == etag {
			r, result = parseRange(h, v.Size)
		}
	}
	switch result {
	case rangeUnsatisfiable:
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", v.Size))
		return fiber.NewError(fiber.StatusRequestedRangeNotSatisfiable, "the range is outside the file")
	case rangeWhole:
		r = byteRange{0, v.Size}
	case rangePart:
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", r.start, r.start+r.length-1, v.Size))
	}
	if r.length == 0 {
		return c.Send(nil)
	}
	rc, err := s.documents.Open(c.UserContext(), v, r.start, r.length)
	if err != nil {
		return err
	}
	// fasthttp copies the stream to the client after the handler returns, and closes it.
	c.Context().SetBodyStream(rc, int(r.length))
	return nil
}

// etagMatch reports whether an If-None-Match header names etag (weakly, as RFC 9110
// asks for GET).
func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
