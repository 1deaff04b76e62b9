package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/store"
)

// stream yields n deterministic pseudo-random bytes, fast enough not to slow an upload.
func stream(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func sumOf(r io.Reader) (string, int64) {
	h := sha256.New()
	n, _ := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n
}

// rss reads a process's resident memory in bytes.
func rss(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// peakRSS samples a process's resident memory until stop is called, and returns the peak.
func peakRSS(t *testing.T, pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if r := rss(t, pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return func() int64 { close(done); wg.Wait(); return peak.Load() }
}

// seededPlein seeds the demo organisation into a fresh SQLite file and serves it with env.
func seededPlein(t *testing.T, env ...string) (*proc, string) {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "plein.db")
	env = append(env, "PLEIN_DATABASE_URL=sqlite:"+dbPath)
	seed := exec.Command(binary, "seed", "demo")
	seed.Env = append(os.Environ(), append(env, "PLEIN_DATA_DIR="+t.TempDir())...)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	return startPlein(t, env...), dbPath
}

// uploadStream posts n bytes from r as a multipart upload, streamed, and returns the status and body.
func (p *proc) uploadStream(token, space, filename string, r io.Reader) (int, []byte) {
	p.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = io.CopyBuffer(fw, r, make([]byte, 256<<10))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", p.base+"/api/v1/spaces/"+space+"/documents", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func (p *proc) spaceID(token, name string) string {
	p.t.Helper()
	var list struct{ Items []struct{ ID, Name string } }
	p.call("GET", "/api/v1/spaces?limit=100", token, nil, &list)
	for _, s := range list.Items {
		if s.Name == name {
			return s.ID
		}
	}
	p.t.Fatalf("no space %q", name)
	return ""
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / (1 << 20) }

// largeFileSize is the file the large-file test moves: 1 GiB, or PLEIN_TEST_LARGE_FILE_MB.
func largeFileSize() int64 {
	if mb, err := strconv.ParseInt(os.Getenv("PLEIN_TEST_LARGE_FILE_MB"), 10, 64); err == nil && mb > 0 {
		return mb << 20
	}
	return 1 << 30
}

// A large file through the API against MinIO: the same SHA-256 back, the server's memory
// flat, and the throughput next to minio-go's own on the same file and the same server.
func TestLargeDocumentThroughMinIO(t *testing.T) {
	size := largeFileSize()
	s3 := testsvc.S3(t)
	p, _ := seededPlein(t, "PLEIN_S3_ENDPOINT="+s3.Endpoint, "PLEIN_S3_BUCKET="+s3.Bucket, "PLEIN_S3_ACCESS_KEY="+s3.AccessKey,
		"PLEIN_S3_SECRET_KEY="+s3.SecretKey, "PLEIN_UPLOAD_LIMIT="+strconv.FormatInt(size+1, 10))
	tok := p.login("admin@demo.plein")
	space := p.spaceID(tok, "Kennisbank")
	want, _ := sumOf(stream(1, size))

	pid := p.cmd.Process.Pid
	base := rss(t, pid)
	stop := peakRSS(t, pid)
	start := time.Now()
	code, body := p.uploadStream(tok, space, "groot.bin", stream(1, size))
	upTime := time.Since(start)
	if code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var doc struct {
		ID       string
		Document struct {
			SHA256 string
			Size   int64
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	req, _ := http.NewRequest("GET", p.base+"/api/v1/documents/"+doc.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, n := sumOf(resp.Body)
	resp.Body.Close()
	downTime := time.Since(start)
	peak := stop()
	if doc.Document.SHA256 != want || got != want || n != size || doc.Document.Size != size {
		t.Fatalf("sha256: server %s, downloaded %s (%d bytes), want %s (%d bytes)", doc.Document.SHA256, got, n, want, size)
	}
	growth := peak - base
	t.Logf("%d MiB: resident memory %d MiB before, peak %d MiB, growth %d MiB", size>>20, base>>20, peak>>20, growth>>20)
	if growth >= 64<<20 {
		t.Errorf("resident memory grew by %d MiB moving %d MiB, want under 64 MiB", growth>>20, size>>20)
	}

	// The same bytes straight through minio-go, same server, same run.
	c, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start = time.Now()
	if _, err := c.PutObject(ctx, s3.Bucket, "direct/groot.bin", stream(1, size), size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	directUp := time.Since(start)
	start = time.Now()
	obj, err := c.GetObject(ctx, s3.Bucket, "direct/groot.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := sumOf(obj)
	obj.Close()
	directDown := time.Since(start)
	if direct != want {
		t.Fatalf("direct sha256 %s", direct)
	}
	t.Logf("upload: plein %.0f MiB/s, minio-go %.0f MiB/s, ratio %.2f", mbps(size, upTime), mbps(size, directUp), directUp.Seconds()/upTime.Seconds())
	t.Logf("download: plein %.0f MiB/s, minio-go %.0f MiB/s, ratio %.2f", mbps(size, downTime), mbps(size, directDown), directDown.Seconds()/downTime.Seconds())
}

// MinIO killed in the middle of an upload: the client gets a 503 problem, nothing is
// visible, and once MinIO is back the sweeper leaves no object or part behind, and
// uploads work again.
func TestMinIOStoppedMidUpload(t *testing.T) {
	m := testsvc.StartMinIO(t)
	p, dbPath := seededPlein(t, "PLEIN_S3_ENDPOINT="+m.Addr, "PLEIN_S3_BUCKET=plein", "PLEIN_S3_ACCESS_KEY="+m.AccessKey,
		"PLEIN_S3_SECRET_KEY="+m.SecretKey, "PLEIN_UPLOAD_LIMIT=1GiB", "PLEIN_SWEEP_INTERVAL=1s")
	tok := p.login("admin@demo.plein")
	space := p.spaceID(tok, "Kennisbank")

	// A raw connection, so the answer can be read while the body is still being sent.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 512 << 20
	head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"onderbroken.bin\"\r\n\r\n"
	tail := "\r\n--b--\r\n"
	sent := make(chan struct{})
	var once sync.Once
	go func() {
		defer once.Do(func() { close(sent) })
		fmt.Fprintf(conn, "POST /api/v1/spaces/%s/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", space, tok, len(head)+size+len(tail), head)
		src := stream(2, size)
		buf := make([]byte, 1<<20)
		for i := 0; ; i++ {
			if i == 48 {
				once.Do(func() { close(sent) }) // 48 MiB sent: three parts of 16 MiB are on their way to MinIO
			}
			n, _ := src.Read(buf)
			if n == 0 {
				break
			}
			if _, err := conn.Write(buf[:n]); err != nil {
				return // the server gave up on the upload and closed
			}
		}
		_, _ = io.WriteString(conn, tail)
	}()
	<-sent
	time.Sleep(200 * time.Millisecond)
	m.Stop()

	_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	var problem struct {
		Status int
		Code   string
	}
	_ = json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" || problem.Code != "storage_unavailable" {
		t.Fatalf("answer: %d %s %+v, want a 503 storage_unavailable problem", resp.StatusCode, resp.Header.Get("Content-Type"), problem)
	}
	var feed struct{ Items []any }
	if code := p.call("GET", "/api/v1/feed?kind=document", tok, nil, &feed); code != 200 || len(feed.Items) != 0 {
		t.Fatalf("feed after the failed upload: %d, %d documents", code, len(feed.Items))
	}

	db, err := store.OpenSQLite(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pending := func() int {
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT (SELECT COUNT(*) FROM blob_uploads) + (SELECT COUNT(*) FROM blob_trash)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := pending(); n != 1 {
		t.Fatalf("%d uploads waiting for the sweeper while MinIO is down, want the one", n)
	}

	m.Start()
	c := m.Client()
	ctx := context.Background()
	leftovers := func() (objects, parts int) {
		for o := range c.ListObjects(ctx, "plein", minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				objects++
			}
		}
		for u := range c.ListIncompleteUploads(ctx, "plein", "", true) {
			if u.Err == nil {
				parts++
			}
		}
		return objects, parts
	}
	before, beforeParts := leftovers()
	t.Logf("after MinIO restarted: %d objects, %d unfinished multipart uploads", before, beforeParts)
	deadline := time.Now().Add(30 * time.Second)
	for pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper did not clean up within 30s: %d left\n%s", pending(), p.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if objects, parts := leftovers(); objects != 0 || parts != 0 {
		t.Fatalf("after the sweep: %d objects, %d unfinished uploads in the bucket, want none", objects, parts)
	}

	// Uploads work again.
	code, body := p.uploadStream(tok, space, "daarna.txt", strings.NewReader("weer heel"))
	if code != 201 {
		t.Fatalf("upload after MinIO is back: %d %s", code, body)
	}
	var doc struct{ ID string }
	_ = json.Unmarshal(body, &doc)
	req, _ := http.NewRequest("GET", p.base+"/api/v1/documents/"+doc.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(data) != "weer heel" {
		t.Fatalf("download after MinIO is back: %d %q", got.StatusCode, data)
	}
}
