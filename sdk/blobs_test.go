package sdk_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestBlobsStreamBothWays(t *testing.T) {
	p := &probe{}
	plugintest.New(t, p, plugintest.Options{})
	ctx, blobs := background(t), p.host.Blobs()
	data := make([]byte, 5<<20+123) // over the 4 MiB message limit, in many chunks
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	key, err := blobs.Put(ctx, iotest.HalfReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil || key == "" {
		t.Fatalf("Put = %q, %v", key, err)
	}
	rc, info, err := blobs.Get(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || !bytes.Equal(got, data) || info.Size != int64(len(data)) || info.Key != key {
		t.Fatalf("Get: %d bytes, equal %v, info %+v, err %v", len(got), bytes.Equal(got, data), info, err)
	}
	rc, _, err = blobs.Get(ctx, key, 1<<20, 10)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rc)
	_ = rc.Close()
	if !bytes.Equal(part, data[1<<20:1<<20+10]) {
		t.Fatalf("range read %x", part)
	}
	if st, err := blobs.Stat(ctx, key); err != nil || st.Size != int64(len(data)) || st.CreatedAt.IsZero() {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if err := blobs.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := blobs.Get(ctx, key, 0, -1); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Get deleted = %v, want ErrNotFound", err)
	}
	if err := blobs.Delete(ctx, key); err != nil {
		t.Fatalf("Delete missing = %v, want nil", err)
	}
}

func TestBlobPutChecksTheDeclaredSize(t *testing.T) {
	p := &probe{}
	plugintest.New(t, p, plugintest.Options{})
	ctx, blobs := background(t), p.host.Blobs()
	if _, err := blobs.Put(ctx, bytes.NewReader(make([]byte, 100)), 99); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("more than declared: %v, want ErrInvalid", err)
	}
	if _, err := blobs.Put(ctx, bytes.NewReader(make([]byte, 100)), 101); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("less than declared: %v, want ErrInvalid", err)
	}
	key, err := blobs.Put(ctx, bytes.NewReader(make([]byte, 70000)), -1)
	if err != nil {
		t.Fatalf("unknown size: %v", err)
	}
	if st, err := blobs.Stat(ctx, key); err != nil || st.Size != 70000 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	if _, _, err := blobs.Get(ctx, key, 70001, -1); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("offset beyond the end: %v, want ErrInvalid", err)
	}
	broken := io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotest.ErrReader(errors.New("disk gone")))
	if _, err := blobs.Put(ctx, broken, 5000); err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk gone")) {
		t.Fatalf("failing source: %v", err)
	}
}
