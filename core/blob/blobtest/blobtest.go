// Package blobtest is the conformance suite every blob.Store implementation passes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pleinhq/plein/core/blob"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutThenGetReturnsTheSameBytes", testRoundTrip},
		{"PutOfUnknownSizeStreamsAcrossParts", testUnknownSizeMultipart},
		{"PutReplacesAnExistingBlob", testOverwrite},
		{"PutRefusesAReaderOfAnotherSize", testSizeMismatch},
		{"PutEnforcesMaxSize", testMaxSize},
		{"PutStopsWhenTheContextIsCancelled", testCancelledPut},
		{"PutFailingMidStreamStoresNothing", testFailingReader},
		{"GetServesRanges", testRanges},
		{"MissingKeysAreNotFound", testMissing},
		{"InvalidKeysAreRefusedEverywhere", testInvalidKeys},
		{"ListYieldsKeysUnderAPrefixInOrder", testList},
		{"ConcurrentPutsDoNotInterfere", testConcurrent},
		{"PresignedURLDownloadsWithoutCredentials", testPresign},
		{"PingAnswers", func(t *testing.T, s blob.Store) {
			if err := s.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Bytes returns n deterministic pseudo-random bytes.
func Bytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	_, _ = r.Read(b)
	return b
}

func put(t *testing.T, s blob.Store, key string, data []byte) blob.Info {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}

func get(t *testing.T, s blob.Store, key string, off, n int64) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("get %s [%d,%d]: %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b, info
}

func mustBeAbsent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("stat %s after a failed put: %v, want ErrNotFound", key, err)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	for _, n := range []int{0, 1, 4096, 1<<20 + 7} {
		data := Bytes(n, uint64(n))
		key := blob.NewKey("docs")
		info := put(t, s, key, data)
		if info.Size != int64(n) || info.Key != key {
			t.Fatalf("put info %+v, want size %d", info, n)
		}
		got, ginfo := get(t, s, key, 0, -1)
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: got %d different bytes", n, len(got))
		}
		if ginfo.Size != int64(n) {
			t.Fatalf("get info size %d, want %d", ginfo.Size, n)
		}
		st, err := s.Stat(context.Background(), key)
		if err != nil || st.Size != int64(n) || st.ModTime.IsZero() {
			t.Fatalf("stat: %+v %v", st, err)
		}
	}
}

func testUnknownSizeMultipart(t *testing.T, s blob.Store) {
	data := Bytes(blob.PartSize+(3<<20), 9) // more than one part
	key := blob.NewKey("docs")
	// OneByteReader is too slow for 19 MiB; HalfReader still hands out short reads.
	info, err := s.Put(context.Background(), key, iotest.HalfReader(bytes.NewReader(data)), -1, blob.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) {
		t.Fatalf("size %d, want %d", info.Size, len(data))
	}
	got, _ := get(t, s, key, 0, -1)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("bytes differ")
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	key := blob.NewKey("docs")
	put(t, s, key, []byte("first version, longer"))
	put(t, s, key, []byte("second"))
	if got, _ := get(t, s, key, 0, -1); string(got) != "second" {
		t.Fatalf("got %q", got)
	}
}

func testSizeMismatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		data     string
		declared int64
	}{{"fewer", "abc", 10}, {"more", "abcdefghijkl", 4}} {
		key := blob.NewKey("docs")
		_, err := s.Put(ctx, key, strings.NewReader(tc.data), tc.declared, blob.PutOptions{})
		if !errors.Is(err, blob.ErrSizeMismatch) {
			t.Fatalf("%s: err %v, want ErrSizeMismatch", tc.name, err)
		}
		mustBeAbsent(t, s, key)
	}
}

func testMaxSize(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Bytes(100_000, 3)
	key := blob.NewKey("docs")
	_, err := s.Put(ctx, key, bytes.NewReader(data), -1, blob.PutOptions{MaxSize: 99_999})
	if !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("unknown size over max: %v, want ErrTooLarge", err)
	}
	mustBeAbsent(t, s, key)
	_, err = s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{MaxSize: 99_999})
	if !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("known size over max: %v, want ErrTooLarge", err)
	}
	mustBeAbsent(t, s, key)
	if _, err := s.Put(ctx, key, bytes.NewReader(data), -1, blob.PutOptions{MaxSize: 100_000}); err != nil {
		t.Fatalf("exactly max: %v", err)
	}
}

func testCancelledPut(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	key := blob.NewKey("docs")
	r := &cancelAfter{r: bytes.NewReader(Bytes(4<<20, 4)), n: 1 << 20, cancel: cancel}
	if _, err := s.Put(ctx, key, r, -1, blob.PutOptions{}); err == nil {
		t.Fatal("put succeeded after its context was cancelled")
	}
	mustBeAbsent(t, s, key)
}

// cancelAfter cancels its context once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= n
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func testFailingReader(t *testing.T, s blob.Store) {
	key := blob.NewKey("docs")
	boom := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(Bytes(1<<20, 5)), iotest.ErrReader(boom))
	_, err := s.Put(context.Background(), key, r, 2<<20, blob.PutOptions{})
	if err == nil {
		t.Fatal("put succeeded with a failing reader")
	}
	mustBeAbsent(t, s, key)
}

func testRanges(t *testing.T, s blob.Store) {
	data := Bytes(10_000, 6)
	key := blob.NewKey("docs")
	put(t, s, key, data)
	for _, r := range []struct{ off, n, wantEnd int64 }{
		{0, 100, 100}, {100, 900, 1000}, {9_990, -1, 10_000}, {9_990, 500, 10_000}, {5_000, -1, 10_000}, {0, 10_000, 10_000},
	} {
		got, info := get(t, s, key, r.off, r.n)
		if !bytes.Equal(got, data[r.off:r.wantEnd]) {
			t.Errorf("range [%d,%d]: %d bytes, want %d", r.off, r.n, len(got), r.wantEnd-r.off)
		}
		if info.Size != 10_000 {
			t.Errorf("range [%d,%d]: info size %d, want the whole size", r.off, r.n, info.Size)
		}
	}
	for _, off := range []int64{10_000, 20_000, -1} {
		if _, _, err := s.Get(context.Background(), key, off, -1); !errors.Is(err, blob.ErrInvalidRange) {
			t.Errorf("offset %d: %v, want ErrInvalidRange", off, err)
		}
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	key := blob.NewKey("docs")
	if _, _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("get: %v", err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("stat: %v", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("delete of a missing key: %v", err)
	}
	put(t, s, key, []byte("x"))
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	mustBeAbsent(t, s, key)
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "../etc/passwd", "/abs", "a//b", "a/../b", "Docs/x", "a/.tmp", ".tmp/put-1", "a/b\x00c", "a b", strings.Repeat("a", 513)} {
		if _, err := s.Put(ctx, key, strings.NewReader("x"), 1, blob.PutOptions{}); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("put %q: %v, want ErrInvalidKey", key, err)
		}
		if _, _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("get %q: %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("stat %q: %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("delete %q: %v, want ErrInvalidKey", key, err)
		}
	}
	for _, err := range s.List(ctx, "../") {
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("list ../: %v, want ErrInvalidKey", err)
		}
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	// "p/a-b/1" sorts before "p/a/1" because '-' < '/': key order, not directory order.
	want := []string{"p/a-b/1", "p/a/1", "p/a/2", "p/ab/1", "p/b/x/y"}
	for _, k := range append([]string{"q/a/1", "pa/1"}, want...) {
		put(t, s, k, []byte(k))
	}
	list := func(prefix string) []string {
		var keys []string
		for info, err := range s.List(ctx, prefix) {
			if err != nil {
				t.Fatalf("list %q: %v", prefix, err)
			}
			if info.Size != int64(len(info.Key)) {
				t.Errorf("%s: size %d", info.Key, info.Size)
			}
			keys = append(keys, info.Key)
		}
		return keys
	}
	if got := list("p/"); !slices.Equal(got, want) {
		t.Errorf("list p/: %v, want %v", got, want)
	}
	if got := list("p/a"); !slices.Equal(got, want[:4]) {
		t.Errorf("list p/a: %v, want %v", got, want[:4])
	}
	if got := list("p/a/"); !slices.Equal(got, want[1:3]) {
		t.Errorf("list p/a/: %v, want %v", got, want[1:3])
	}
	if got := list("none/"); len(got) != 0 {
		t.Errorf("list none/: %v", got)
	}
	if got := list(""); len(got) != 7 || got[0] != "p/a-b/1" || got[6] != "q/a/1" {
		t.Errorf("list everything: %v", got)
	}
	n := 0
	for range s.List(ctx, "p/") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("early break yielded %d", n)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = blob.NewKey("docs")
		wg.Go(func() {
			data := Bytes(300_000, uint64(i))
			if _, err := s.Put(context.Background(), keys[i], bytes.NewReader(data), int64(len(data)), blob.PutOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, k := range keys {
		if got, _ := get(t, s, k, 0, -1); !bytes.Equal(got, Bytes(300_000, uint64(i))) {
			t.Errorf("key %d: bytes differ", i)
		}
	}
}

func testPresign(t *testing.T, s blob.Store) {
	key := blob.NewKey("docs")
	put(t, s, key, []byte("presigned"))
	u, err := s.PresignGet(context.Background(), key, time.Minute, blob.ResponseHeaders{
		ContentType: "application/pdf", ContentDisposition: `attachment; filename="report.pdf"`})
	if errors.Is(err, blob.ErrNotSupported) {
		t.Skipf("%s has no presigned URLs", s.Backend())
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "presigned" {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="report.pdf"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Fatalf("Content-Type %q", ct)
	}
}
