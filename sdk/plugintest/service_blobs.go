package plugintest

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/pleinhq/plein/sdk"
)

func (s *service) BlobPut(_ context.Context, call string, _ int64, r io.Reader) (info sdk.BlobInfo, err error) {
	if err := s.do(call, func(actor) error { return nil }); err != nil {
		return sdk.BlobInfo{}, err
	}
	data, err := io.ReadAll(r) // without holding the host
	if err != nil {
		return sdk.BlobInfo{}, fmt.Errorf("blob put: %w", err)
	}
	err = s.do(call, func(actor) error {
		info = sdk.BlobInfo{Key: s.h.next("blob"), Size: int64(len(data)), CreatedAt: s.h.now()}
		s.h.blobs[info.Key] = blob{data: data, created: info.CreatedAt}
		return nil
	})
	return info, err
}

// blob returns the blob under key and its info.
func (s *service) blob(call, key string) (b blob, info sdk.BlobInfo, err error) {
	err = s.do(call, func(actor) error {
		var ok bool
		if b, ok = s.h.blobs[key]; !ok {
			return fmt.Errorf("blob %q: %w", key, sdk.ErrNotFound)
		}
		info = sdk.BlobInfo{Key: key, Size: int64(len(b.data)), CreatedAt: b.created}
		return nil
	})
	return b, info, err
}

func (s *service) BlobGet(_ context.Context, call, key string, offset, length int64) (io.ReadCloser, sdk.BlobInfo, error) {
	b, info, err := s.blob(call, key)
	if err != nil {
		return nil, sdk.BlobInfo{}, err
	}
	if offset > info.Size {
		return nil, sdk.BlobInfo{}, fmt.Errorf("blob %q: %w: offset %d beyond %d bytes", key, sdk.ErrInvalid, offset, info.Size)
	}
	end := info.Size
	if length >= 0 {
		end = min(offset+length, info.Size)
	}
	return io.NopCloser(bytes.NewReader(b.data[offset:end])), info, nil
}

func (s *service) BlobStat(_ context.Context, call, key string) (sdk.BlobInfo, error) {
	_, info, err := s.blob(call, key)
	return info, err
}

func (s *service) BlobDelete(_ context.Context, call, key string) error {
	return s.do(call, func(actor) error {
		delete(s.h.blobs, key)
		return nil
	})
}
