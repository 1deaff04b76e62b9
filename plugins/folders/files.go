package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/download"
)

// Limits of an upload form besides the file.
const (
	maxFormParts = 4
	maxFormField = 1 << 10
	// formOverhead is what a form may carry besides the file: boundaries, part
	// headers, the small fields. A declared length over the quota left plus this is
	// refused unread.
	formOverhead = 64 << 10
	// maxSuffix is how many "name (n).ext" an upload tries when its name is taken.
	maxSuffix = 100
)

// errOverQuota is an upload that would take its owner over their quota.
var errOverQuota = errors.New("over quota")

// errTooLarge is a file over the host's limit for one blob.
var errTooLarge = errors.New("file too large")

// upload stores a file in one of the caller's folders (the root without parent_id)
// from a multipart/form-data body: a "file" part and optional "parent_id" and "name"
// parts, in any order. The file streams to the blob store as it arrives; one over the
// caller's quota is refused with 413 and nothing is kept. A name already taken in the
// folder gets a " (2)" (and so on) before its extension.
func (p *Plugin) upload(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r)
	if !ok {
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		_ = sdk.WriteProblem(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			`send the file as multipart/form-data with a "file" part`)
		return
	}
	ctx := r.Context()
	used, err := p.used(ctx, call.UserID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	left := p.settings.quotaOf(call.UserID) - used
	if left < 0 || r.ContentLength-formOverhead > left {
		p.overQuota(w, call.UserID)
		return
	}
	form, err := p.readForm(ctx, call.UserID, multipart.NewReader(r.Body, params["boundary"]), left)
	var bad badForm
	switch {
	case errors.Is(err, errNoNode):
		notFound(w, "parent folder")
		return
	case errors.Is(err, errOverQuota):
		p.overQuota(w, call.UserID)
		return
	case errors.Is(err, errTooLarge):
		_ = sdk.WriteProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "the file is larger than Plein stores")
		return
	case errors.As(err, &bad):
		invalid(w, string(bad))
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	n, err := p.addFile(ctx, call.UserID, form)
	switch {
	case errors.Is(err, errOverQuota):
		p.overQuota(w, call.UserID)
	case errors.Is(err, errNameTaken):
		nameTaken(w)
	case errors.Is(err, errNoNode):
		notFound(w, "parent folder")
	case err != nil:
		p.fail(w, r, err)
	default:
		_ = sdk.WriteJSON(w, http.StatusCreated, viewOf(n, call.UserID))
	}
}

func (p *Plugin) overQuota(w http.ResponseWriter, user string) {
	_ = sdk.WriteProblem(w, http.StatusRequestEntityTooLarge, "quota_exceeded",
		"the file does not fit in your quota of "+strconv.FormatInt(p.settings.quotaOf(user), 10)+" bytes")
}

// badForm is what is wrong with an upload form, for a 400.
type badForm string

func (b badForm) Error() string { return string(b) }

// uploadForm is an upload read to its end, the file in the blob store.
type uploadForm struct {
	parent string
	name   string
	blob   string
	size   int64
	sha256 string
	ctype  string
}

// readForm reads the form's parts, streaming the file into a blob of at most left
// bytes. A parent_id before the file is checked before the file is read (errNoNode
// if it is not one of owner's folders). On an error the blob, if stored, is deleted.
func (p *Plugin) readForm(ctx context.Context, owner string, mr *multipart.Reader, left int64) (f uploadForm, err error) {
	defer func() {
		if err != nil && f.blob != "" {
			p.dropBlob(ctx, f.blob)
		}
	}()
	filename := ""
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, badForm("the multipart body could not be read")
		}
		if parts == maxFormParts {
			return f, badForm(fmt.Sprintf("at most %d form parts", maxFormParts))
		}
		switch part.FormName() {
		case "file":
			if f.blob != "" {
				return f, badForm("one file per upload")
			}
			filename = part.FileName()
			src := &quotaReader{r: part, left: left}
			in := download.Inspect(src)
			if f.blob, err = p.host.Blobs().Put(ctx, fullReader{in}, -1); err != nil {
				switch {
				case errors.Is(err, errOverQuota):
					return f, errOverQuota
				case src.err != nil:
					return f, badForm("the upload broke off before the file ended")
				case errors.Is(err, sdk.ErrInvalid): // over the host's blob size limit
					return f, errTooLarge
				}
				return f, err
			}
			f.size, f.sha256 = in.Size(), in.SHA256()
			f.ctype = in.ContentType(filename)
		case "parent_id", "name":
			v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return f, badForm("the multipart body could not be read")
			}
			if len(v) > maxFormField {
				return f, badForm(part.FormName() + ": at most 1 KiB")
			}
			if part.FormName() == "name" {
				f.name = string(v)
				continue
			}
			f.parent = strings.TrimSpace(string(v))
			if f.blob == "" && f.parent != "" {
				if err := p.ownFolder(ctx, owner, f.parent); err != nil {
					return f, err
				}
			}
		default:
			return f, badForm(`unknown form field ` + strconv.Quote(part.FormName()) + `; send "file", "parent_id" and "name"`)
		}
	}
	if f.blob == "" {
		return f, badForm(`"file" is required: the file to upload`)
	}
	if f.name == "" {
		f.name = filename
	}
	name, why := validName(f.name)
	if why != "" {
		return f, badForm("name: " + why)
	}
	f.name = download.SafeFilename(name)
	return f, nil
}

// dropBlob deletes a blob nobody will use, if any, logging a failure.
func (p *Plugin) dropBlob(ctx context.Context, key string) {
	if key == "" {
		return
	}
	if err := p.host.Blobs().Delete(context.WithoutCancel(ctx), key); err != nil {
		p.log.Warn("delete an unused blob", "key", key, "err", err)
	}
}

// addFile records an uploaded file in owner's folder, counting it against the quota.
// It returns errOverQuota if uploads that finished first took the room, errNoNode if
// the folder is not the owner's (or went away meanwhile) and errNameTaken if every
// name it tried was taken. On an error the blob is deleted.
func (p *Plugin) addFile(ctx context.Context, owner string, f uploadForm) (n node, err error) {
	bg := context.WithoutCancel(ctx)
	counted := false
	defer func() {
		if err == nil {
			return
		}
		if counted {
			_, _ = p.host.Counters().Add(bg, usedCounter(owner), -f.size)
		}
		p.dropBlob(ctx, f.blob)
	}()
	if f.parent != "" {
		if err := p.ownFolder(ctx, owner, f.parent); err != nil {
			return n, err
		}
	}
	total, err := p.host.Counters().Add(ctx, usedCounter(owner), f.size)
	if err != nil {
		return n, err
	}
	counted = true
	if total > p.settings.quotaOf(owner) {
		return n, errOverQuota
	}
	now := p.now().UTC()
	n = node{ID: newID(), Kind: kindFile, Owner: owner, Parent: f.parent, CreatedAt: now, UpdatedAt: now,
		Size: f.size, ContentType: f.ctype, SHA256: f.sha256, Blob: f.blob}
	if n.Name, err = p.claimFreeName(ctx, owner, f.parent, f.name, n.ID); err != nil {
		return n, err
	}
	_, err = p.host.KV().Put(ctx, indexKey(kindFile, owner, n.ID), nil)
	if err == nil {
		err = p.save(ctx, &n)
	}
	if err != nil {
		_ = p.host.KV().Delete(bg, indexKey(kindFile, owner, n.ID))
		_ = p.releaseName(bg, owner, f.parent, n.Name, n.ID)
		return n, err
	}
	// From here the node owns the blob and the count: remove undoes both.
	counted, f.blob = false, ""
	return n, p.stillThere(ctx, n)
}

// ownFolder returns errNoNode unless id is one of owner's folders.
func (p *Plugin) ownFolder(ctx context.Context, owner, id string) error {
	f, err := p.load(ctx, id)
	if err == nil && (f.Owner != owner || f.Kind != kindFolder) {
		err = errNoNode
	}
	return err
}

// claimFreeName claims name in a folder, or the first free of "name (2).ext" up to
// maxSuffix, and returns the name claimed.
func (p *Plugin) claimFreeName(ctx context.Context, owner, parent, name, id string) (string, error) {
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	for i := 1; i <= maxSuffix; i++ {
		try := name
		if i > 1 {
			suffix := " (" + strconv.Itoa(i) + ")" + ext
			try = download.SafeFilename(truncateName(base, maxName-len(suffix)) + suffix)
		}
		err := p.claimName(ctx, owner, parent, try, id)
		if !errors.Is(err, errNameTaken) {
			return try, err
		}
	}
	return "", errNameTaken
}

// truncateName cuts s to at most n bytes on a character boundary.
func truncateName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quotaReader fails with errOverQuota once more than left bytes were read, and keeps
// the first error of the client's stream, to tell it from the host's.
type quotaReader struct {
	r    io.Reader
	left int64
	err  error
}

func (q *quotaReader) Read(b []byte) (int, error) {
	n, err := q.r.Read(b)
	q.left -= int64(n)
	if q.left < 0 {
		return 0, errOverQuota
	}
	if err != nil && !errors.Is(err, io.EOF) && q.err == nil {
		q.err = err
	}
	return n, err
}

// fullReader fills each read as far as it can, so a multipart part's small reads
// reach the blob store in full chunks.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := f.r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// content answers a file's bytes to its owner and its grantees, with the headers
// that keep a browser from running it (see download.Serve); ?download=true asks for
// an attachment even for a type shown inline.
func (p *Plugin) content(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r, "download")
	if !ok {
		return
	}
	attachment := false
	switch r.URL.Query().Get("download") {
	case "", "0", "false":
	case "1", "true":
		attachment = true
	default:
		invalid(w, `download: "true" or "false"`)
		return
	}
	n, err := p.readable(r.Context(), call, kindFile, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	download.Serve(w, r, download.File{
		Name: n.Name, ContentType: n.ContentType, Size: n.Size, SHA256: n.SHA256, ModTime: n.CreatedAt,
		Open: func(ctx context.Context, offset int64) (io.ReadCloser, error) {
			rc, _, err := p.host.Blobs().Get(ctx, n.Blob, offset, -1)
			return rc, err
		},
	}, attachment)
}
