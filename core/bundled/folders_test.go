package bundled_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/sdk/download"
)

const foldersAPI = "/api/v1/plugins/folders"

// folderFile is a file as the folders plugin answers it.
type folderFile struct {
	ID, Name, SHA256, Access, Owner string
	Size                            int64
}

// enableFolders switches the folders plugin on with settings and waits until its
// routes answer.
func enableFolders(t *testing.T, e *testapp.Env, settings map[string]any) {
	t.Helper()
	body := map[string]any{"enabled": true, "settings": settings}
	if r := e.As("manager@demo.plein", "PUT", "/api/v1/admin/plugins/folders", body); r.Status != 200 {
		t.Fatalf("enable folders: %d %s", r.Status, r.Body)
	}
	testsvc.Eventually(t, "folders answers", 15*time.Second, func() bool {
		return e.As("employee@demo.plein", "GET", foldersAPI+"/me", nil).Status == 200
	})
}

func uploadTo(t *testing.T, e *testapp.Env, who, parent, name string, data []byte) testapp.Response {
	t.Helper()
	fields := map[string]string{}
	if parent != "" {
		fields["parent_id"] = parent
	}
	return e.As(who, "POST", foldersAPI+"/me/files", testapp.Form{Fields: fields, FileName: name, File: data})
}

func mustUploadTo(t *testing.T, e *testapp.Env, who, parent, name string, data []byte) folderFile {
	t.Helper()
	r := uploadTo(t, e, who, parent, name, data)
	if r.Status != 201 {
		t.Fatalf("upload %s as %s: %d %s", name, who, r.Status, r.Body)
	}
	var f folderFile
	r.JSON(t, &f)
	return f
}

type quota struct{ Used, Limit int64 }

// quotaOf returns a user's quota as GET /me reports it.
func quotaOf(t *testing.T, e *testapp.Env, who string) quota {
	t.Helper()
	var me struct{ Quota quota }
	e.As(who, "GET", foldersAPI+"/me", nil).JSON(t, &me)
	return me.Quota
}

// pluginBlobs counts the folders plugin's blobs in the core's blob store.
func pluginBlobs(t *testing.T, e *testapp.Env) int {
	t.Helper()
	n := 0
	for _, err := range e.App.Blobs.List(context.Background(), "plugins/folders/") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// Personal folders through the core with a real plugin process: owners, grantees
// until the share expires or is revoked, and nobody else, on every route and in
// every search; quotas that keep nothing over them; the data surviving a disable; and
// a deleted user's shares stopping before their folder goes.
func TestFoldersShareWithGranteesAndNobodyElse(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "folders"), func(t *testing.T, e *testapp.Env) {
		emp, mgr, hd, prj, ext := "employee@demo.plein", "manager@demo.plein", "helpdesk@demo.plein", "project@demo.plein", "external@demo.plein"
		enableFolders(t, e, map[string]any{
			"deleted_user_grace": "0s", "sweep_interval": "1s",
			"user_quotas": map[string]int64{e.UserID(prj): 1000},
		})

		r := e.As(emp, "POST", foldersAPI+"/folders", map[string]any{"name": "MT-overleg"})
		if r.Status != 201 {
			t.Fatalf("folder: %d %s", r.Status, r.Body)
		}
		folder := r.Map(t)["id"].(string)
		notes := []byte("Notulen van het MT-overleg: begroting 2027 akkoord.\n")
		file := mustUploadTo(t, e, emp, folder, "notulen-mt.txt", notes)
		content := foldersAPI + "/files/" + file.ID + "/content"
		sum := sha256.Sum256(notes)
		if file.SHA256 != hex.EncodeToString(sum[:]) || file.Size != int64(len(notes)) {
			t.Fatalf("stored %+v", file)
		}
		// The core adds its own default CSP beside the plugin's: a browser enforces both.
		r = e.As(emp, "GET", content, nil)
		if r.Status != 200 || !bytes.Equal(r.Body, notes) || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!slices.Contains(r.Header.Values("Content-Security-Policy"), download.CSP) ||
			r.Header.Get("Content-Disposition") != `inline; filename="notulen-mt.txt"` || r.Header.Get("Etag") != `"`+file.SHA256+`"` {
			t.Fatalf("owner's download: %d %v %q", r.Status, r.Header, r.Body)
		}

		req, _ := http.NewRequest("GET", e.URL+content, nil)
		req.Header.Set("Authorization", "Bearer "+e.Token(emp))
		req.Header.Set("Range", "bytes=8-10")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || string(part) != "van" || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 8-10/%d", len(notes)) {
			t.Fatalf("a range: %d %q %v", resp.StatusCode, part, resp.Header)
		}

		// Shared with the manager for a meeting: read until it expires, and not after.
		expires := time.Now().Add(4 * time.Second).UTC()
		r = e.As(emp, "PUT", foldersAPI+"/files/"+file.ID+"/shares", map[string]any{
			"users": []string{e.UserID(mgr)}, "expires_at": expires.Format(time.RFC3339Nano)})
		if r.Status != 200 {
			t.Fatalf("share: %d %s", r.Status, r.Body)
		}
		r = e.As(mgr, "GET", content, nil)
		if time.Now().Before(expires) && (r.Status != 200 || !bytes.Equal(r.Body, notes)) {
			t.Fatalf("the grantee before the expiry: %d %s", r.Status, r.Body)
		}
		if r := e.As(mgr, "GET", foldersAPI+"/shared-with-me", nil); !strings.Contains(string(r.Body), file.ID) {
			t.Fatalf("the grantee's shared-with-me: %s", r.Body)
		}
		if r := e.As(mgr, "GET", foldersAPI+"/search?q=notulen", nil); !strings.Contains(string(r.Body), file.ID) {
			t.Fatalf("the grantee's search: %s", r.Body)
		}

		// Nobody else, on any route, by id or by search.
		others := []string{hd, prj, ext}
		routes := []struct{ method, path string }{
			{"GET", "/folders/" + folder}, {"PATCH", "/folders/" + folder}, {"DELETE", "/folders/" + folder},
			{"GET", "/folders/" + folder + "/items"}, {"GET", "/folders/" + folder + "/shares"},
			{"PUT", "/folders/" + folder + "/shares"}, {"DELETE", "/folders/" + folder + "/shares"},
			{"GET", "/files/" + file.ID}, {"PATCH", "/files/" + file.ID}, {"DELETE", "/files/" + file.ID},
			{"GET", "/files/" + file.ID + "/content"}, {"GET", "/files/" + file.ID + "/shares"},
			{"PUT", "/files/" + file.ID + "/shares"}, {"DELETE", "/files/" + file.ID + "/shares"},
		}
		refused := func(who string) {
			t.Helper()
			for _, rt := range routes {
				var body any
				if rt.method == "PATCH" || rt.method == "PUT" {
					body = map[string]any{"name": "x", "users": []string{e.UserID(who)}}
				}
				r := e.As(who, rt.method, foldersAPI+rt.path, body)
				if r.Status != 404 || bytes.Contains(r.Body, []byte("notulen")) || bytes.Contains(r.Body, []byte("MT-overleg")) {
					t.Errorf("%s %s %s: %d %s", who, rt.method, rt.path, r.Status, r.Body)
				}
			}
			if r := e.As(who, "GET", foldersAPI+"/search?q=notulen", nil); r.Status != 200 || strings.Contains(string(r.Body), file.ID) {
				t.Errorf("%s's search: %d %s", who, r.Status, r.Body)
			}
			if r := e.As(who, "GET", foldersAPI+"/shared-with-me", nil); r.Status != 200 || strings.Contains(string(r.Body), file.ID) {
				t.Errorf("%s's shared-with-me: %d %s", who, r.Status, r.Body)
			}
			if r := uploadTo(t, e, who, folder, "x.txt", []byte("x")); r.Status != 404 {
				t.Errorf("%s uploads into the owner's folder: %d", who, r.Status)
			}
		}
		for _, who := range others {
			refused(who)
		}
		// The grantee reads, and only reads: told so for the file, which they know of;
		// the folder around it stays unknown to them.
		for _, rt := range []struct {
			method, path string
			status       int
		}{
			{"PATCH", "/files/" + file.ID, 403}, {"DELETE", "/files/" + file.ID, 403},
			{"GET", "/files/" + file.ID + "/shares", 403}, {"PUT", "/files/" + file.ID + "/shares", 403},
			{"DELETE", "/files/" + file.ID + "/shares", 403}, {"GET", "/folders/" + folder, 404},
			{"GET", "/folders/" + folder + "/items", 404},
		} {
			if r := e.As(mgr, rt.method, foldersAPI+rt.path, map[string]any{"name": "x", "users": []string{e.UserID(mgr)}}); r.Status != rt.status {
				t.Errorf("the grantee %s %s: %d, want %d", rt.method, rt.path, r.Status, rt.status)
			}
		}
		// Files are no items: the core's feed and search never show them, to anyone.
		for _, who := range []string{emp, mgr, hd} {
			for _, path := range []string{"/api/v1/search?q=notulen", "/api/v1/feed"} {
				if r := e.As(who, "GET", path, nil); r.Status != 200 || strings.Contains(string(r.Body), file.ID) || strings.Contains(string(r.Body), "notulen-mt") {
					t.Errorf("%s %s: %d %.300s", who, path, r.Status, r.Body)
				}
			}
		}
		time.Sleep(time.Until(expires) + 50*time.Millisecond)
		if r := e.As(mgr, "GET", content, nil); r.Status != 404 {
			t.Fatalf("the grantee after the expiry: %d", r.Status)
		}
		if r := e.As(mgr, "GET", foldersAPI+"/shared-with-me", nil); strings.Contains(string(r.Body), file.ID) {
			t.Fatalf("shared-with-me after the expiry: %s", r.Body)
		}

		// A folder shared with a role, then revoked: at once.
		if r := e.As(emp, "PUT", foldersAPI+"/folders/"+folder+"/shares", map[string]any{"roles": []string{"dept-it"}}); r.Status != 200 {
			t.Fatalf("share the folder: %d %s", r.Status, r.Body)
		}
		if r := e.As(hd, "GET", content, nil); r.Status != 200 || !bytes.Equal(r.Body, notes) {
			t.Fatalf("the helpdesk through its role: %d", r.Status)
		}
		if r := e.As(prj, "GET", content, nil); r.Status != 404 {
			t.Fatalf("someone without the role: %d", r.Status)
		}
		if r := e.As(emp, "DELETE", foldersAPI+"/folders/"+folder+"/shares", nil); r.Status != 204 {
			t.Fatalf("revoke: %d", r.Status)
		}
		refused(hd)

		// Over quota: refused, and nothing left in the blob store.
		blobs := pluginBlobs(t, e)
		if r := uploadTo(t, e, prj, "", "groot.bin", bytes.Repeat([]byte{7}, 2000)); r.Status != 413 || !strings.Contains(string(r.Body), "quota_exceeded") {
			t.Fatalf("over quota: %d %s", r.Status, r.Body)
		}
		if n := pluginBlobs(t, e); n != blobs {
			t.Fatalf("blobs: %d before the refused upload, %d after", blobs, n)
		}
		if q := quotaOf(t, e, prj); q.Used != 0 || q.Limit != 1000 {
			t.Fatalf("quota after the refusal: %+v", q)
		}

		// Disabled and enabled again by a manager: everything is still there.
		share := map[string]any{"users": []string{e.UserID(hd)}}
		if r := e.As(emp, "PUT", foldersAPI+"/files/"+file.ID+"/shares", share); r.Status != 200 {
			t.Fatal(r.Status)
		}
		before := e.As(emp, "GET", foldersAPI+"/me", nil).Body
		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/folders", map[string]any{"enabled": false}); r.Status != 200 {
			t.Fatalf("disable: %d", r.Status)
		}
		testsvc.Eventually(t, "disabled", 10*time.Second, func() bool {
			r := e.As(emp, "GET", foldersAPI+"/me", nil)
			return r.Status == 404 && strings.Contains(string(r.Body), "feature_disabled")
		})
		enableFolders(t, e, map[string]any{"deleted_user_grace": "0s", "sweep_interval": "1s"})
		if after := e.As(emp, "GET", foldersAPI+"/me", nil).Body; !bytes.Equal(before, after) {
			t.Fatalf("/me before %s, after %s", before, after)
		}
		if r := e.As(hd, "GET", content, nil); r.Status != 200 || !bytes.Equal(r.Body, notes) {
			t.Fatalf("the share after a disable: %d", r.Status)
		}

		// A deleted user's shares stop, and their folder goes after the grace period.
		r = e.As("admin@demo.plein", "POST", "/api/v1/users", map[string]any{
			"email": "vertrekker@demo.plein", "name": "Vertrekker", "password": "plein-demo-vertrek", "roles": []string{"employee"}})
		if r.Status != 201 {
			t.Fatalf("create a user: %d %s", r.Status, r.Body)
		}
		leaver := r.Map(t)["id"].(string)
		left := mustUploadTo(t, e, "vertrekker@demo.plein", "", "overdracht.txt", []byte("overdracht"))
		if r := e.As("vertrekker@demo.plein", "PUT", foldersAPI+"/files/"+left.ID+"/shares", map[string]any{"users": []string{e.UserID(emp)}}); r.Status != 200 {
			t.Fatal(r.Status)
		}
		if r := e.As(emp, "GET", foldersAPI+"/files/"+left.ID+"/content", nil); r.Status != 200 {
			t.Fatalf("before the deletion: %d", r.Status)
		}
		blobs = pluginBlobs(t, e)
		if r := e.As("admin@demo.plein", "DELETE", "/api/v1/users/"+leaver, nil); r.Status != 204 {
			t.Fatalf("delete the user: %d", r.Status)
		}
		took := testsvc.Eventually(t, "the deleted user's share stops", 10*time.Second, func() bool {
			return e.As(emp, "GET", foldersAPI+"/files/"+left.ID+"/content", nil).Status == 404
		})
		t.Logf("the deleted user's share stopped after %s", took)
		took = testsvc.Eventually(t, "the deleted user's folder goes", 10*time.Second, func() bool { return pluginBlobs(t, e) == blobs-1 })
		t.Logf("the deleted user's folder went after %s", took)
		if r := e.As(hd, "GET", content, nil); r.Status != 200 {
			t.Fatalf("other users' files after the sweep: %d", r.Status)
		}
	})
}

// A 500 MiB file up and down through the plugin: the same bytes, and neither the
// core nor the plugin holds more than 64 MiB more while they pass. SQLite and the
// local blob directory only; not with -short.
func TestFoldersStreamHalfAGibibyte(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB in all")
	}
	const size = 500 << 20
	const budget = 64 << 20
	e := testapp.Start(t, withPlugins(t, testapp.Options{Env: map[string]string{"PLEIN_UPLOAD_LIMIT": "600MiB"}}, "folders"))
	enable(t, e, "folders")
	pid := pidOf(t, "folders")
	token := e.Token("employee@demo.plein")
	client := &http.Client{}

	settle()
	coreBase, pluginBase := rss(t, "self"), rss(t, strconv.Itoa(pid))
	peak := watchRSS(t)

	// Upload: a generated stream in a multipart body of known length.
	const boundary = "plein-folders-test-boundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"groot.bin\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	gen := newGenerator(size)
	req, err := http.NewRequest("POST", e.URL+foldersAPI+"/me/files", io.MultiReader(strings.NewReader(head), gen, strings.NewReader(tail)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(head) + size + len(tail))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	up := time.Since(start)
	want := gen.sum()
	var stored folderFile
	testapp.Response{Status: resp.StatusCode, Body: body}.JSON(t, &stored)
	if stored.Size != size || stored.SHA256 != want {
		t.Fatalf("stored %+v, sent %s", stored, want)
	}

	// Download, hashing as it comes.
	req, _ = http.NewRequest("GET", e.URL+foldersAPI+"/files/"+stored.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start = time.Now()
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || n != size {
		t.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	down := time.Since(start)
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("downloaded %s, uploaded %s", got, want)
	}

	corePeak := peak()
	pluginPeak := hwm(t, strconv.Itoa(pid))
	t.Logf("500 MiB up in %s, down in %s; core RSS %d MiB -> peak %d MiB; plugin RSS %d MiB -> peak %d MiB",
		up.Round(time.Millisecond), down.Round(time.Millisecond), coreBase>>20, corePeak>>20, pluginBase>>20, pluginPeak>>20)
	if corePeak-coreBase >= budget {
		t.Errorf("the core grew by %d MiB", (corePeak-coreBase)>>20)
	}
	if pluginPeak-pluginBase >= budget {
		t.Errorf("the plugin grew by %d MiB", (pluginPeak-pluginBase)>>20)
	}
	if q := quotaOf(t, e, "employee@demo.plein"); q.Used != size {
		t.Fatalf("quota after the upload: %+v", q)
	}
}

// generator yields n pseudo-random bytes, hashing them as they go.
type generator struct {
	left int64
	rng  *rand.ChaCha8
	h    hash.Hash
}

func newGenerator(n int64) *generator {
	return &generator{left: n, rng: rand.NewChaCha8([32]byte{'p', 'l', 'e', 'i', 'n'}), h: sha256.New()}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	_, _ = g.rng.Read(p)
	_, _ = g.h.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

func (g *generator) sum() string { return hex.EncodeToString(g.h.Sum(nil)) }

// pidOf returns the pid of the one running process whose command is name.
func pidOf(t *testing.T, name string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !strings.Contains(string(stat), ") Z ") {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("processes named %s: %v", name, pids)
	}
	return pids[0]
}

// status returns a size field of /proc/<pid>/status ("VmRSS", "VmHWM") in bytes.
func status(pid, field string) (int64, error) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%s/status", field, pid)
}

func mustStatus(t *testing.T, pid, field string) int64 {
	t.Helper()
	n, err := status(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func rss(t *testing.T, pid string) int64 { return mustStatus(t, pid, "VmRSS") }
func hwm(t *testing.T, pid string) int64 { return mustStatus(t, pid, "VmHWM") }

// settle returns the test process's free memory to the system, for a fair baseline.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// watchRSS samples the test process's resident memory until the returned function is
// called, which returns the highest sample.
func watchRSS(t *testing.T) func() int64 {
	highest := rss(t, "self")
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n, err := status("self", "VmRSS"); err == nil {
					highest = max(highest, n)
				}
			}
		}
	}()
	var once sync.Once
	stop := func() int64 {
		once.Do(func() { close(done); <-stopped })
		return highest
	}
	t.Cleanup(func() { stop() })
	return stop
}
