package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/blob/blobtest"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

func TestLocalConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestS3Conformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		cfg := testsvc.S3(t)
		s, err := blob.NewS3(context.Background(), blob.S3Config{
			Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewKeyIsValidUniqueAndUnderItsPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := blob.NewKey("plugins/likes")
		if !blob.ValidKey(k) || !strings.HasPrefix(k, "plugins/likes/") || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
	}
}

func TestNewS3ReportsWrongCredentials(t *testing.T) {
	cfg := testsvc.S3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := blob.NewS3(ctx, blob.S3Config{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket, AccessKey: cfg.AccessKey, SecretKey: "wrong-secret"})
	if err == nil {
		t.Fatal("connected with a wrong secret")
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

func TestLocalSweepTempRemovesOnlyOldUploads(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, ".tmp", "put-old")
	fresh := filepath.Join(dir, ".tmp", "put-fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepTemp(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh upload was swept")
	}
}

func TestLocalDeletePrunesEmptyDirectories(t *testing.T) {
	dir := t.TempDir()
	s, _ := blob.NewLocal(dir)
	ctx := context.Background()
	if _, err := s.Put(ctx, "a/b/c", strings.NewReader("x"), 1, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("a/ left behind: %v", err)
	}
}
