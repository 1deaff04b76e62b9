package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// docSpace makes a private space where employee is a member and secretary is not.
func docSpace(t *testing.T, e *testapp.Env, name string) string {
	t.Helper()
	r := e.As("admin@demo.plein", "POST", "/api/v1/spaces", map[string]any{"name": name, "visibility": "private"})
	if r.Status != 201 {
		t.Fatalf("create space: %d %s", r.Status, r.Body)
	}
	id := r.Map(t)["id"].(string)
	if r := e.As("admin@demo.plein", "PUT", "/api/v1/spaces/"+id+"/members/"+e.UserID("employee@demo.plein"),
		map[string]string{"role": "member"}); r.Status != 201 {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	return id
}

type docJSON struct {
	ID       string
	Kind     string
	Title    string
	Document struct {
		Filename    string
		Size        int64
		ContentType string `json:"content_type"`
		SHA256      string
		Version     int
	}
	Versions []struct {
		Number   int
		Filename string
		Size     int64
	}
}

func upload(t *testing.T, e *testapp.Env, as, space string, f testapp.Form) docJSON {
	t.Helper()
	r := e.As(as, "POST", "/api/v1/spaces/"+space+"/documents", f)
	if r.Status != 201 {
		t.Fatalf("upload %s: %d %s", f.FileName, r.Status, r.Body)
	}
	var d docJSON
	r.JSON(t, &d)
	return d
}

// get sends a GET with extra headers and returns the answer.
func get(t *testing.T, e *testapp.Env, as, path string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.Token(as))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")

func TestDocumentUploadDownloadVersions(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		space := docSpace(t, e, "Documenten")
		emp := "employee@demo.plein"
		data := bytes.Repeat([]byte("Plein documenten "), 10_000) // 170,000 bytes
		// Title after the file: the form is read to its end before the document commits.
		d := upload(t, e, emp, space, testapp.Form{FileName: "../../jaarplan 2027.txt", File: data,
			Fields: map[string]string{"title": "Jaarplan", "description": "Het plan voor #2027"}})
		sum := sha256.Sum256(data)
		if d.Kind != "document" || d.Title != "Jaarplan" || d.Document.Filename != "jaarplan 2027.txt" ||
			d.Document.Size != int64(len(data)) || d.Document.SHA256 != hex.EncodeToString(sum[:]) ||
			d.Document.ContentType != "text/plain; charset=utf-8" || d.Document.Version != 1 || len(d.Versions) != 1 {
			t.Fatalf("document: %+v", d)
		}

		resp, body := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
		}
		for h, want := range map[string]string{
			"Content-Type":           "text/plain; charset=utf-8",
			"Content-Disposition":    `inline; filename="jaarplan 2027.txt"`,
			"X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; " +
				"sandbox",
			"Etag":          `"` + d.Document.SHA256 + `"`,
			"Accept-Ranges": "bytes",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		etag := resp.Header.Get("ETag")
		if resp, _ := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
			t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
		}

		// Ranges: a slice, an open end, a suffix; past the end is 416; a stale If-Range gets it all.
		for _, c := range []struct {
			rng, ifRange string
			status       int
			want         []byte
			contentRange string
		}{
			{"bytes=10-19", "", 206, data[10:20], fmt.Sprintf("bytes 10-19/%d", len(data))},
			{"bytes=169990-", "", 206, data[169990:], fmt.Sprintf("bytes 169990-169999/%d", len(data))},
			{"bytes=-5", "", 206, data[len(data)-5:], fmt.Sprintf("bytes 169995-169999/%d", len(data))},
			{"bytes=0-999999999", "", 206, data, fmt.Sprintf("bytes 0-169999/%d", len(data))},
			{"bytes=170000-", "", 416, nil, fmt.Sprintf("bytes */%d", len(data))},
			{"bytes=0-1,5-6", "", 200, data, ""},
			{"bytes=10-19", `"stale"`, 200, data, ""},
			{"bytes=10-19", etag, 206, data[10:20], fmt.Sprintf("bytes 10-19/%d", len(data))},
			{"items=1-2", "", 200, data, ""},
		} {
			h := map[string]string{"Range": c.rng}
			if c.ifRange != "" {
				h["If-Range"] = c.ifRange
			}
			resp, body := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", h)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Range") != c.contentRange || (c.want != nil && !bytes.Equal(body, c.want)) {
				t.Errorf("Range %s If-Range %s: %d %q, %d bytes; want %d %q", c.rng, c.ifRange, resp.StatusCode,
					resp.Header.Get("Content-Range"), len(body), c.status, c.contentRange)
			}
		}

		// A new version: the bytes change, the old version stays downloadable.
		v2 := []byte("Jaarplan, tweede versie")
		r := e.As(emp, "POST", "/api/v1/documents/"+d.ID+"/versions", testapp.Form{FileName: "jaarplan-v2.txt", File: v2})
		if r.Status != 201 {
			t.Fatalf("new version: %d %s", r.Status, r.Body)
		}
		var d2 docJSON
		r.JSON(t, &d2)
		if d2.Document.Version != 2 || len(d2.Versions) != 2 || d2.Versions[0].Number != 2 || d2.Versions[1].Filename != "jaarplan 2027.txt" ||
			d2.Title != "Jaarplan" {
			t.Fatalf("after a new version: %+v", d2)
		}
		if _, body := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", nil); !bytes.Equal(body, v2) {
			t.Errorf("current version: %q", body)
		}
		if _, body := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content?version=1", nil); !bytes.Equal(body, data) {
			t.Errorf("version 1: %d bytes", len(body))
		}
		for q, want := range map[string]int{"?version=3": 404, "?version=0": 400, "?version=x": 400, "?download=maybe": 400, "?other=1": 400} {
			if r := e.As(emp, "GET", "/api/v1/documents/"+d.ID+"/content"+q, nil); r.Status != want {
				t.Errorf("content%s: %d, want %d", q, r.Status, want)
			}
		}
		if resp, _ := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content?download=true", nil); !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("download=true: %q", resp.Header.Get("Content-Disposition"))
		}

		// Two new versions at once get two numbers.
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				tok := e.Token(emp)
				if r := e.Do("POST", "/api/v1/documents/"+d.ID+"/versions", tok, testapp.Form{FileName: fmt.Sprintf("v%d.txt", i), File: []byte{byte(i)}}); r.Status != 201 {
					t.Errorf("concurrent version: %d %s", r.Status, r.Body)
				}
			})
		}
		wg.Wait()
		var d4 docJSON
		e.As(emp, "GET", "/api/v1/documents/"+d.ID, nil).JSON(t, &d4)
		if len(d4.Versions) != 4 || d4.Versions[0].Number != 4 || d4.Versions[1].Number != 3 {
			t.Errorf("versions after two at once: %+v", d4.Versions)
		}

		// Someone outside the private space finds nothing, whatever the route.
		for _, path := range []string{"/api/v1/documents/" + d.ID, "/api/v1/documents/" + d.ID + "/content", "/api/v1/items/" + d.ID} {
			if r := e.As("secretary@demo.plein", "GET", path, nil); r.Status != 404 {
				t.Errorf("secretary GET %s: %d, want 404", path, r.Status)
			}
		}
	})
}

func TestDocumentContentTypeComesFromTheBytes(t *testing.T) {
	e := testapp.Start(t, testapp.Options{})
	space := docSpace(t, e, "Sniffing")
	emp := "employee@demo.plein"
	for _, c := range []struct {
		name, wantType, wantDisposition string
		data                            []byte
	}{
		// HTML dressed up as an image is served as HTML, but as a sandboxed download.
		{"cat.png", "text/html; charset=utf-8", `attachment; filename="cat.png"`, []byte("<html><script>alert(1)</script></html>")},
		{"page.html", "image/png", `inline; filename="page.html"`, pngHeader},
		{"drawing.svg", "text/xml; charset=utf-8", `attachment; filename="drawing.svg"`, []byte(`<?xml version="1.0"?><svg onload="alert(1)"/>`)},
		{"tool.exe", "application/octet-stream", `attachment; filename="tool.exe"`, []byte{0, 1, 2, 3, 0xff}},
		{"begroting.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", `attachment; filename="begroting.xlsx"`,
			[]byte("PK\x03\x04\x14\x00\x06\x00rest of a zip")},
		{"leeg.txt", "text/plain; charset=utf-8", `inline; filename="leeg.txt"`, nil},
	} {
		d := upload(t, e, emp, space, testapp.Form{FileName: c.name, File: c.data})
		h := map[string]string{"Range": "bytes=0-"}
		if len(c.data) == 0 {
			h = nil // an empty file has no satisfiable range
		}
		resp, body := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", h)
		if d.Document.ContentType != c.wantType || resp.Header.Get("Content-Type") != c.wantType ||
			resp.Header.Get("Content-Disposition") != c.wantDisposition || !bytes.Equal(body, c.data) {
			t.Errorf("%s: stored %q, served %d %q %q, %d bytes", c.name, d.Document.ContentType, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), len(body))
		}
	}
}

func TestHostileFilenamesAreMadeSafe(t *testing.T) {
	e := testapp.Start(t, testapp.Options{})
	space := docSpace(t, e, "Namen")
	long := strings.Repeat("ä", 1000) + ".pdf"
	for name, want := range map[string]string{
		"../../etc/passwd":            "passwd",
		`..\..\boot.ini`:              "boot.ini",
		"..":                          "document",
		"rapport\x00.pdf\x1b[31m\x7f": "rapport.pdf[31m",
		"a\u202egnp.exe":              "agnp.exe",
		"   .verborgen.  ":            "verborgen",
		`wat: "dit" <is> | het?.md`:   "wat_ _dit_ _is_ _ het_.md",
		long:                          strings.Repeat("ä", 125) + ".pdf",
		"évènement 2027.odt":          "évènement 2027.odt",
	} {
		// filename* (RFC 8187) carries any byte, where a quoted filename cannot.
		body := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''" + pctAll(name) +
			"\r\n\r\nx\r\n--b--\r\n"
		req, _ := http.NewRequest("POST", e.URL+"/api/v1/spaces/"+space+"/documents", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.Token("employee@demo.plein"))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var d docJSON
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 201 {
			t.Fatalf("%q: %d %v", name, resp.StatusCode, err)
		}
		resp.Body.Close()
		if d.Document.Filename != want {
			t.Errorf("%q stored as %q, want %q", name, d.Document.Filename, want)
		}
		resp, _ = get(t, e, "employee@demo.plein", "/api/v1/documents/"+d.ID+"/content", nil)
		cd := resp.Header.Get("Content-Disposition")
		if strings.ContainsAny(cd, "\r\n\x00/\\") || !strings.Contains(cd, "filename=") {
			t.Errorf("%q: Content-Disposition %q", name, cd)
		}
	}
}

// pctAll percent-encodes every byte of s but letters and digits.
func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestBadUploadsAreRefusedAndLeaveNothing(t *testing.T) {
	testapp.Each(t, testapp.Options{Env: map[string]string{"PLEIN_UPLOAD_LIMIT": "256KiB"}}, func(t *testing.T, e *testapp.Env) {
		space := docSpace(t, e, "Grenzen")
		emp := "employee@demo.plein"
		path := "/api/v1/spaces/" + space + "/documents"
		small := []byte("klein")
		for _, c := range []struct {
			name string
			body any
			want int
		}{
			{"json body", map[string]string{"file": "x"}, 415},
			{"no body", nil, 415},
			{"unknown field", testapp.Form{FileName: "a.txt", File: small, Fields: map[string]string{"colour": "red"}}, 400},
			{"title too long", testapp.Form{FileName: "a.txt", File: small, Fields: map[string]string{"title": strings.Repeat("t", 301)}}, 400},
			{"title with a control character", testapp.Form{FileName: "a.txt", File: small, Fields: map[string]string{"title": "a\x07b"}}, 400},
			{"over the limit", testapp.Form{FileName: "big.bin", File: make([]byte, 300<<10)}, 413},
		} {
			r := e.As(emp, "POST", path, c.body)
			if r.Status != c.want || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s, want %d problem", c.name, r.Status, r.Body, c.want)
			}
		}
		raw := "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nNo file\r\n--b--\r\n"
		for name, body := range map[string]string{
			"form without a file": raw,
			"two files": "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\na\r\n" +
				"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\nb\r\n--b--\r\n",
			"broken off": "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nhalf a fi",
		} {
			req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.Token(emp))
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d, want 400", name, resp.StatusCode)
			}
		}

		// Nothing of the refused uploads is visible or left in the store.
		if r := e.As(emp, "GET", "/api/v1/feed?space="+space, nil); !strings.Contains(string(r.Body), `"items":[]`) {
			t.Errorf("feed after refused uploads: %s", r.Body)
		}
		res, err := e.App.Documents.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Abandoned != 0 || res.Left != 0 {
			t.Errorf("sweep after refused uploads: %+v; failed uploads must clean up after themselves", res)
		}
		assertNoBlobs(t, e, 0)
	})
}

// assertNoBlobs checks the store holds exactly n document blobs.
func assertNoBlobs(t *testing.T, e *testapp.Env, n int) {
	t.Helper()
	got := 0
	for info, err := range e.App.Blobs.List(context.Background(), "documents/") {
		if err != nil {
			t.Fatal(err)
		}
		got++
		_ = info
	}
	if got != n {
		t.Errorf("%d document blobs in the store, want %d", got, n)
	}
}

func TestDocumentsInFeedSearchAndAttachments(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		space := docSpace(t, e, "Projectdossier")
		emp, sec := "employee@demo.plein", "secretary@demo.plein"
		d := upload(t, e, emp, space, testapp.Form{FileName: "Begroting_2027-Q3.xlsx", File: []byte("PK\x03\x04 zip"),
			Fields: map[string]string{"title": "Begroting derde kwartaal"}})

		feed := e.As(emp, "GET", "/api/v1/feed?kind=document&space="+space, nil)
		if !strings.Contains(string(feed.Body), d.ID) || !strings.Contains(string(feed.Body), `"filename":"Begroting_2027-Q3.xlsx"`) {
			t.Errorf("feed: %s", feed.Body)
		}
		for _, q := range []string{"begroting", "kwartaal", "xlsx", "Q3"} {
			r := e.As(emp, "GET", "/api/v1/search?q="+q, nil)
			if !strings.Contains(string(r.Body), d.ID) {
				t.Errorf("search %q as member: %s", q, r.Body)
			}
			if r := e.As(sec, "GET", "/api/v1/search?q="+q, nil); strings.Contains(string(r.Body), d.ID) {
				t.Errorf("search %q as an outsider finds it", q)
			}
		}

		// Attached to a post in an open space: readers of the space who may read the
		// document see it; others see the post without it.
		open := e.SpaceID("Nieuws & mededelingen")
		r := e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+open+"/posts", map[string]any{"body": "Zie bijlage", "attachments": []string{d.ID}})
		if r.Status != 201 {
			t.Fatalf("post with attachment: %d %s", r.Status, r.Body)
		}
		post := r.Map(t)["id"].(string)
		var seen struct {
			Attachments []struct {
				ID   string
				File struct{ Filename string }
			}
		}
		e.As(emp, "GET", "/api/v1/items/"+post, nil).JSON(t, &seen)
		if len(seen.Attachments) != 1 || seen.Attachments[0].ID != d.ID || seen.Attachments[0].File.Filename != "Begroting_2027-Q3.xlsx" {
			t.Errorf("member sees attachments %+v", seen.Attachments)
		}
		e.As(sec, "GET", "/api/v1/items/"+post, nil).JSON(t, &seen)
		if len(seen.Attachments) != 0 {
			t.Errorf("outsider sees attachments %+v", seen.Attachments)
		}
		if r := e.As(emp, "GET", "/api/v1/feed?space="+open, nil); !strings.Contains(string(r.Body), `"attachments":[{"id":"`+d.ID) {
			t.Errorf("feed lacks the attachment: %.300s", r.Body)
		}
		// Attaching what one may not read, or what is not a document, is refused.
		if r := e.As(sec, "POST", "/api/v1/spaces/"+open+"/posts", map[string]any{"body": "Ook", "attachments": []string{d.ID}}); r.Status != 403 && r.Status != 400 {
			t.Errorf("outsider attaches: %d %s", r.Status, r.Body)
		}
		if r := e.As("admin@demo.plein", "PATCH", "/api/v1/items/"+post, map[string]any{"attachments": []string{post}}); r.Status != 400 {
			t.Errorf("attach a post: %d %s", r.Status, r.Body)
		}
		if r := e.As("admin@demo.plein", "PATCH", "/api/v1/items/"+post, map[string]any{"attachments": []string{}}); r.Status != 200 ||
			!strings.Contains(string(r.Body), `"attachments":[]`) {
			t.Errorf("detach: %d %s", r.Status, r.Body)
		}

		// Delete: gone from every read, restorable, and purged with its bytes later.
		if r := e.As(emp, "DELETE", "/api/v1/items/"+d.ID, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		for _, path := range []string{"/api/v1/documents/" + d.ID, "/api/v1/documents/" + d.ID + "/content", "/api/v1/items/" + d.ID} {
			if r := e.As(emp, "GET", path, nil); r.Status != 404 {
				t.Errorf("after delete, GET %s: %d", path, r.Status)
			}
		}
		if r := e.As(emp, "GET", "/api/v1/search?q=begroting", nil); strings.Contains(string(r.Body), d.ID) {
			t.Error("search finds a deleted document")
		}
		if r := e.As(sec, "POST", "/api/v1/documents/"+d.ID+"/restore", nil); r.Status != 404 {
			t.Errorf("outsider restores: %d", r.Status)
		}
		var trash struct {
			Items []struct {
				ID        string
				DeletedAt string `json:"deleted_at"`
			}
		}
		e.As("admin@demo.plein", "GET", "/api/v1/spaces/"+space+"/trash", nil).JSON(t, &trash)
		if len(trash.Items) != 1 || trash.Items[0].ID != d.ID || trash.Items[0].DeletedAt == "" {
			t.Errorf("trash: %+v", trash.Items)
		}
		if r := e.As(emp, "GET", "/api/v1/spaces/"+space+"/trash", nil); r.Status != 403 {
			t.Errorf("a member lists the trash: %d", r.Status)
		}
		if r := e.As(emp, "POST", "/api/v1/documents/"+d.ID+"/restore", nil); r.Status != 200 {
			t.Fatalf("restore: %d %s", r.Status, r.Body)
		}
		if r := e.As(emp, "GET", "/api/v1/documents/"+d.ID+"/content", nil); r.Status != 200 {
			t.Errorf("after restore: %d", r.Status)
		}
		if r := e.As(emp, "POST", "/api/v1/documents/"+d.ID+"/restore", nil); r.Status != 404 {
			t.Errorf("restore what is not in the trash: %d", r.Status)
		}
	})
}

func TestTrashIsPurgedWithItsBytes(t *testing.T) {
	for name, opts := range map[string]testapp.Options{
		"local": {Env: map[string]string{"PLEIN_TRASH_RETENTION": "0s"}},
		"s3":    {Env: s3Env(t, map[string]string{"PLEIN_TRASH_RETENTION": "0s"})},
	} {
		t.Run(name, func(t *testing.T) {
			e := testapp.Start(t, opts)
			space := docSpace(t, e, "Prullenbak")
			emp := "employee@demo.plein"
			d := upload(t, e, emp, space, testapp.Form{FileName: "weg.txt", File: []byte("een")})
			if r := e.As(emp, "POST", "/api/v1/documents/"+d.ID+"/versions", testapp.Form{FileName: "weg.txt", File: []byte("twee")}); r.Status != 201 {
				t.Fatalf("version: %d", r.Status)
			}
			keep := upload(t, e, emp, space, testapp.Form{FileName: "blijft.txt", File: []byte("drie")})
			assertNoBlobs(t, e, 3)
			if r := e.As(emp, "DELETE", "/api/v1/documents/"+d.ID, nil); r.Status != 204 {
				t.Fatalf("delete: %d", r.Status)
			}
			res, err := e.App.Documents.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Purged != 1 || res.Deleted != 2 || res.Left != 0 {
				t.Errorf("sweep: %+v, want 1 purged, 2 blobs deleted", res)
			}
			assertNoBlobs(t, e, 1)
			if r := e.As(emp, "POST", "/api/v1/documents/"+d.ID+"/restore", nil); r.Status != 404 {
				t.Errorf("restore after purge: %d", r.Status)
			}
			if _, body := get(t, e, emp, "/api/v1/documents/"+keep.ID+"/content", nil); string(body) != "drie" {
				t.Errorf("the other document: %q", body)
			}

			// Deleting the space takes its documents' bytes too.
			if r := e.As("admin@demo.plein", "DELETE", "/api/v1/spaces/"+space, nil); r.Status != 204 {
				t.Fatalf("delete space: %d", r.Status)
			}
			if _, err := e.App.Documents.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			assertNoBlobs(t, e, 0)
		})
	}
}

// s3Env is the environment for a server on a fresh bucket of the test MinIO, plus extra.
func s3Env(t *testing.T, extra map[string]string) map[string]string {
	s := testsvc.S3(t)
	env := map[string]string{"PLEIN_S3_ENDPOINT": s.Endpoint, "PLEIN_S3_BUCKET": s.Bucket, "PLEIN_S3_ACCESS_KEY": s.AccessKey,
		"PLEIN_S3_SECRET_KEY": s.SecretKey}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestPresignedDownloadsRedirectToTheStore(t *testing.T) {
	e := testapp.Start(t, testapp.Options{Env: s3Env(t, map[string]string{"PLEIN_DOWNLOAD_PRESIGN": "2m"})})
	space := docSpace(t, e, "Presigned")
	emp := "employee@demo.plein"
	d := upload(t, e, emp, space, testapp.Form{FileName: "kaart.png", File: pngHeader})
	resp, _ := get(t, e, emp, "/api/v1/documents/"+d.ID+"/content", nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.Contains(loc, "X-Amz-Expires=120") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("presigned: %d %q %q", resp.StatusCode, loc, resp.Header.Get("Cache-Control"))
	}
	got, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || !bytes.Equal(body, pngHeader) || got.Header.Get("Content-Type") != "image/png" ||
		got.Header.Get("Content-Disposition") != `attachment; filename="kaart.png"` {
		t.Errorf("from the store: %d %q %q", got.StatusCode, got.Header.Get("Content-Type"), got.Header.Get("Content-Disposition"))
	}
	// Whoever may not read the document gets no URL.
	if r := e.As("secretary@demo.plein", "GET", "/api/v1/documents/"+d.ID+"/content", nil); r.Status != 404 {
		t.Errorf("outsider: %d", r.Status)
	}
}

// TestUnreadBodyIsNeverTakenForARequest sends bodies the server stops reading early,
// each with a second request hidden in it, and wants exactly one answer: what a handler
// leaves unread must not be parsed as the next request on the connection.
func TestUnreadBodyIsNeverTakenForARequest(t *testing.T) {
	e := testapp.Start(t, testapp.Options{Env: map[string]string{"PLEIN_UPLOAD_LIMIT": "64KiB", "PLEIN_BODY_LIMIT": "4KiB"}})
	space := docSpace(t, e, "Smokkel")
	tok := e.Token("employee@demo.plein")
	hidden := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	form := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc\r\n--b--\r\n"
	for name, c := range map[string]struct{ path, ctype, body string }{
		"upload with a request in its epilogue": {"/api/v1/spaces/" + space + "/documents", "multipart/form-data; boundary=b", form + hidden},
		"upload over the limit":                 {"/api/v1/spaces/" + space + "/documents", "multipart/form-data; boundary=b", strings.Replace(form, "abc", strings.Repeat("x", 70<<10)+hidden, 1)},
		"refused upload":                        {"/api/v1/spaces/" + space + "/documents", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"bad\"\r\n\r\n" + hidden + strings.Repeat("y", 100<<10)},
		"JSON over the limit":                   {"/api/v1/spaces/" + space + "/posts", "application/json", `{"body":"` + strings.Repeat("z", 5000) + `"}` + hidden},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
					c.path, tok, c.ctype, len(c.body), c.body)
			}()
			br := bufio.NewReader(conn)
			answers := 0
			for {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					break
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answers++
				// A hidden request would be answered at once; a connection kept open is fine.
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			}
			if answers != 1 {
				t.Errorf("%d answers on the connection, want 1: the hidden request was served", answers)
			}
		})
	}
}

// An upload past the server's concurrency waits a second and then gets a 503 with
// Retry-After; once a slot frees, uploads go through again.
func TestUploadsPastTheConcurrencyLimitAreTurnedAway(t *testing.T) {
	e := testapp.Start(t, testapp.Options{Env: map[string]string{"PLEIN_UPLOAD_CONCURRENCY": "1"}})
	space := docSpace(t, e, "Druk")
	tok := e.Token("employee@demo.plein")
	// The first upload sends its headers and half a file, then waits.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// More than the server's read buffer, so the handler starts before the body is all there.
	head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"traag.txt\"\r\n\r\n" + strings.Repeat("h", 100<<10)
	fmt.Fprintf(conn, "POST /api/v1/spaces/%s/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", space, tok, len(head)+1<<20, head)
	time.Sleep(300 * time.Millisecond) // the server has taken the slot and waits for more bytes

	r := e.As("employee@demo.plein", "POST", "/api/v1/spaces/"+space+"/documents", testapp.Form{FileName: "b.txt", File: []byte("b")})
	if r.Status != 503 || r.Header.Get("Retry-After") != "5" || !strings.Contains(string(r.Body), "too_many_uploads") {
		t.Fatalf("second upload: %d %q %s, want 503 too_many_uploads with Retry-After", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	conn.Close() // the first upload breaks off and frees its slot
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.As("employee@demo.plein", "POST", "/api/v1/spaces/"+space+"/documents", testapp.Form{FileName: "c.txt", File: []byte("c")})
		if r.Status == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first upload ended: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
