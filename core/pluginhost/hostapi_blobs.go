package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/sdk"
)

// Blobs live under "plugins/<name>/" in the core's blob store, under keys the host
// makes up. A key outside the plugin's prefix is, for the plugin, a blob that does
// not exist.

// own checks a key the plugin sent is one of its blobs' keys.
func (s *hostService) own(key string) error {
	if !strings.HasPrefix(key, s.prefix) || !blob.ValidKey(key) {
		return fmt.Errorf("blob %q: %w", key, sdk.ErrNotFound)
	}
	return nil
}

// blobError maps a blob store error for the plugin.
func (s *hostService) blobError(op, key string, err error) error {
	switch {
	case errors.Is(err, blob.ErrNotFound), errors.Is(err, blob.ErrInvalidKey):
		return fmt.Errorf("blob %q: %w", key, sdk.ErrNotFound)
	case errors.Is(err, blob.ErrInvalidRange):
		return fmt.Errorf("blob %q: %w: offset beyond the end", key, sdk.ErrInvalid)
	case errors.Is(err, blob.ErrTooLarge):
		return fmt.Errorf("%w: blob larger than %d bytes", sdk.ErrInvalid, s.cfg.MaxBlobSize)
	case errors.Is(err, blob.ErrSizeMismatch), errors.Is(err, sdk.ErrInvalid):
		return fmt.Errorf("%w: %v", sdk.ErrInvalid, err)
	}
	return s.internal(op, err)
}

func (s *hostService) BlobPut(ctx context.Context, handle string, size int64, r io.Reader) (sdk.BlobInfo, error) {
	if _, err := s.resolve(handle); err != nil {
		return sdk.BlobInfo{}, err
	}
	if size > s.cfg.MaxBlobSize {
		return sdk.BlobInfo{}, fmt.Errorf("%w: blob of %d bytes, at most %d", sdk.ErrInvalid, size, s.cfg.MaxBlobSize)
	}
	key := blob.NewKey(strings.TrimSuffix(s.prefix, "/"))
	info, err := s.cfg.Blobs.Put(ctx, key, r, size, blob.PutOptions{MaxSize: s.cfg.MaxBlobSize})
	if err != nil {
		return sdk.BlobInfo{}, s.blobError("blob put", key, err)
	}
	return sdk.BlobInfo{Key: key, Size: info.Size, CreatedAt: info.ModTime}, nil
}

func (s *hostService) BlobGet(ctx context.Context, handle, key string, offset, length int64) (io.ReadCloser, sdk.BlobInfo, error) {
	if _, err := s.resolve(handle); err != nil {
		return nil, sdk.BlobInfo{}, err
	}
	if err := s.own(key); err != nil {
		return nil, sdk.BlobInfo{}, err
	}
	rc, info, err := s.cfg.Blobs.Get(ctx, key, offset, length)
	if err != nil {
		return nil, sdk.BlobInfo{}, s.blobError("blob get", key, err)
	}
	return rc, sdk.BlobInfo{Key: key, Size: info.Size, CreatedAt: info.ModTime}, nil
}

func (s *hostService) BlobStat(ctx context.Context, handle, key string) (sdk.BlobInfo, error) {
	if _, err := s.resolve(handle); err != nil {
		return sdk.BlobInfo{}, err
	}
	if err := s.own(key); err != nil {
		return sdk.BlobInfo{}, err
	}
	info, err := s.cfg.Blobs.Stat(ctx, key)
	if err != nil {
		return sdk.BlobInfo{}, s.blobError("blob stat", key, err)
	}
	return sdk.BlobInfo{Key: key, Size: info.Size, CreatedAt: info.ModTime}, nil
}

func (s *hostService) BlobDelete(ctx context.Context, handle, key string) error {
	if _, err := s.resolve(handle); err != nil {
		return err
	}
	if err := s.own(key); err != nil {
		return err
	}
	if err := s.cfg.Blobs.Delete(ctx, key); err != nil {
		return s.blobError("blob delete", key, err)
	}
	return nil
}
