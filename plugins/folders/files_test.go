package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUploadAndDownloadWithSafeHeaders(t *testing.T) {
	f := start(t, "")
	page := []byte("<!DOCTYPE html><script>fetch('/api/v1/me')</script>")
	v := f.mustUpload(ann, "", "../../notulen \u202e.html", page)
	sum := sha256.Sum256(page)
	if v.Name != "notulen .html" || v.ContentType != "text/html; charset=utf-8" || v.sizeOf(t) != int64(len(page)) ||
		v.SHA256 != hex.EncodeToString(sum[:]) || v.Kind != "file" || v.ParentID != nil {
		t.Fatalf("stored %+v", v)
	}

	r := f.do(ann, "GET", "/files/"+v.ID+"/content", nil)
	h := r.header
	switch {
	case r.status != 200 || !bytes.Equal(r.body, page):
		t.Fatalf("download: %d %q", r.status, r.body)
	case h.Get("Content-Type") != "text/html; charset=utf-8",
		h.Get("Content-Disposition") != `attachment; filename="notulen .html"`,
		h.Get("X-Content-Type-Options") != "nosniff",
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox"),
		h.Get("Etag") != `"`+v.SHA256+`"`:
		t.Fatalf("headers %v", h)
	}

	pdf := f.mustUpload(ann, "", "plan.pdf", []byte("%PDF-1.7\n%%EOF\n"))
	if cd := f.do(ann, "GET", "/files/"+pdf.ID+"/content", nil).header.Get("Content-Disposition"); cd != `inline; filename="plan.pdf"` {
		t.Errorf("a PDF: %s", cd)
	}
	if cd := f.do(ann, "GET", "/files/"+pdf.ID+"/content?download=true", nil).header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("a PDF as a download: %s", cd)
	}

	req := httptest.NewRequest("GET", "/files/"+v.ID+"/content", nil)
	req.Header.Set("Range", "bytes=2-9")
	if r := f.send(ann, req); r.status != http.StatusPartialContent || string(r.body) != string(page[2:10]) {
		t.Fatalf("range: %d %q", r.status, r.body)
	}
	req = httptest.NewRequest("GET", "/files/"+v.ID+"/content", nil)
	req.Header.Set("If-None-Match", `"`+v.SHA256+`"`)
	if r := f.send(ann, req); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}

	var meta View
	r = f.do(ann, "GET", "/files/"+v.ID, nil)
	r.decode(t, &meta)
	if r.status != 200 || meta.ID != v.ID || meta.SHA256 != v.SHA256 {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
}

func TestUploadNamesAndPlaces(t *testing.T) {
	f := start(t, "")
	dir := f.mkdir(ann, "", "Vergadering")
	a := f.mustUpload(ann, dir.ID, "agenda.txt", []byte("a"))
	b := f.mustUpload(ann, dir.ID, "Agenda.txt", []byte("b"))
	c := f.mustUpload(ann, dir.ID, "agenda.txt", []byte("c"))
	if a.Name != "agenda.txt" || b.Name != "Agenda (2).txt" || c.Name != "agenda (3).txt" || *c.ParentID != dir.ID {
		t.Fatalf("names %q %q %q", a.Name, b.Name, c.Name)
	}

	// A "name" part names the file; "parent_id" may come after the file.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "scan0001.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4"))
	_ = mw.WriteField("name", "Besluitenlijst.pdf")
	_ = mw.WriteField("parent_id", dir.ID)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/me/files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r := f.send(ann, req)
	var v View
	r.decode(t, &v)
	if r.status != 201 || v.Name != "Besluitenlijst.pdf" || v.ParentID == nil || *v.ParentID != dir.ID || v.ContentType != "application/pdf" {
		t.Fatalf("named upload: %d %s", r.status, r.body)
	}

	// Rename and move a file; a name taken in the target is a conflict.
	r = f.do(ann, "PATCH", "/files/"+a.ID, map[string]any{"name": "agenda-def.txt", "parent_id": nil})
	if r.status != 200 {
		t.Fatalf("rename and move: %d %s", r.status, r.body)
	}
	if r := f.do(ann, "PATCH", "/files/"+b.ID, map[string]any{"parent_id": nil, "name": "AGENDA-DEF.TXT"}); r.status != 409 {
		t.Fatalf("clash: %d %s", r.status, r.body)
	}
	var root list[View]
	f.do(ann, "GET", "/me/items", nil).decode(t, &root)
	if got := names(root.Items); len(got) != 2 || got[0] != "agenda-def.txt" || got[1] != "Vergadering" {
		t.Fatalf("root %v", got)
	}
	// Into a folder that is not the caller's: no such folder.
	other := f.mkdir(bob, "", "Bob")
	if r := f.do(ann, "PATCH", "/files/"+a.ID, map[string]any{"parent_id": other.ID}); r.status != 404 {
		t.Fatalf("move into bob's folder: %d", r.status)
	}
	if r := f.upload(ann, other.ID, "x.txt", []byte("x")); r.status != 404 {
		t.Fatalf("upload into bob's folder: %d %s", r.status, r.body)
	}
	if f.me(ann).Quota.Used != 3+int64(len("%PDF-1.4")) {
		t.Fatalf("quota %+v", f.me(ann).Quota)
	}

	if r := f.do(ann, "DELETE", "/files/"+a.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := f.do(ann, "GET", "/files/"+a.ID+"/content", nil); r.status != 404 {
		t.Fatalf("content after delete: %d", r.status)
	}
}

func TestUploadOverQuotaIsRefusedAndKeepsNothing(t *testing.T) {
	f := start(t, `{"quota_bytes":1000,"user_quotas":{"bob":5000}}`)
	f.mustUpload(ann, "", "small.bin", bytes.Repeat([]byte{1}, 600))
	r := f.upload(ann, "", "big.bin", bytes.Repeat([]byte{2}, 600))
	if p := r.problem(t); r.status != http.StatusRequestEntityTooLarge || p.Code != "quota_exceeded" {
		t.Fatalf("over quota: %d %+v", r.status, p)
	}
	// A body declared larger than the room left is refused unread.
	req := httptest.NewRequest("POST", "/me/files", strings.NewReader("x"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.ContentLength = 1 << 20
	if r := f.send(ann, req); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared too large: %d", r.status)
	}
	m := f.me(ann)
	if m.Quota.Used != 600 || m.Quota.Limit != 1000 {
		t.Fatalf("quota after the refusal: %+v", m.Quota)
	}
	if keys := f.KVKeys("f/"); len(keys) != 1 {
		t.Fatalf("files recorded: %v", keys)
	}
	if err := f.Client().Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Bob's own quota is larger; what fits still fits.
	f.mustUpload(bob, "", "big.bin", bytes.Repeat([]byte{2}, 4000))
	if m := f.me(bob); m.Quota.Limit != 5000 || m.Quota.Used != 4000 {
		t.Fatalf("bob's quota %+v", m.Quota)
	}
	f.mustUpload(ann, "", "exact.bin", bytes.Repeat([]byte{3}, 400))
	if r := f.upload(ann, "", "one.bin", []byte{4}); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("one byte over: %d", r.status)
	}
}
