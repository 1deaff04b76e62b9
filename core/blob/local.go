package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// tmpDir holds uploads in progress; its name is not a valid key segment start, so no key lands there.
const tmpDir = ".tmp"

// Local stores blobs as files under a directory. Writes go to a temporary file that is
// renamed into place, so a reader never sees half a blob.
type Local struct {
	root string
}

var _ Store = (*Local)(nil)

// NewLocal returns a store in dir, creating it if missing.
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, tmpDir), 0o750); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	return &Local{root: abs}, nil
}

// Backend returns "local".
func (l *Local) Backend() string { return "local" }

func (l *Local) path(key string) string { return filepath.Join(l.root, filepath.FromSlash(key)) }

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	src, err := limitSource(r, size, opts)
	if err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(filepath.Join(l.root, tmpDir), "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, contextReader{ctx, src})
	if err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	dst := l.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	done = true
	st, err := os.Stat(dst)
	if err != nil {
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	return Info{Key: key, Size: n, ModTime: st.ModTime().UTC()}, nil
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, Info{}, l.notFound(key, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		_ = f.Close()
		return nil, Info{}, l.notFound(key, fs.ErrNotExist)
	}
	info := Info{Key: key, Size: st.Size(), ModTime: st.ModTime().UTC()}
	if offset < 0 || offset > info.Size || (offset == info.Size && info.Size > 0) {
		_ = f.Close()
		return nil, Info{}, ErrInvalidRange
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	if length < 0 || offset+length > info.Size {
		length = info.Size - offset
	}
	return readCloser{io.LimitReader(f, length), f}, info, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	st, err := os.Stat(l.path(key))
	if err != nil || st.IsDir() {
		return Info{}, l.notFound(key, errOr(err, fs.ErrNotExist))
	}
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime().UTC()}, nil
}

// Delete implements Store. Emptied parent directories are removed too.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := l.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != l.root && strings.HasPrefix(dir, l.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or gone: stop climbing
			break
		}
	}
	return nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if !validPrefix(prefix) {
			yield(Info{}, fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix))
			return
		}
		if err := l.walk(ctx, "", prefix, yield); err != nil && !errors.Is(err, errStop) {
			yield(Info{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

var errStop = errors.New("stop")

// walk yields the files under the directory of key dir ("" for the root) in key order:
// a subdirectory sorts as its name plus "/", so "a/1" comes after "a-b/1" as in S3.
func (l *Local) walk(ctx context.Context, dir, prefix string, yield func(Info, error) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(l.path(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		return err
	}
	sortKey := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortKey(a), sortKey(b)) })
	for _, e := range entries {
		key := e.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		if !ValidKey(key) { // .tmp and anything else no key can name
			continue
		}
		if e.IsDir() {
			// Descend only where keys can start with prefix.
			if d := key + "/"; strings.HasPrefix(d, prefix) || strings.HasPrefix(prefix, d) {
				if err := l.walk(ctx, key, prefix, yield); err != nil {
					return err
				}
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		st, err := e.Info()
		if err != nil {
			continue // removed while we walked
		}
		if !yield(Info{Key: key, Size: st.Size(), ModTime: st.ModTime().UTC()}, nil) {
			return errStop
		}
	}
	return nil
}

// PresignGet returns ErrNotSupported: local blobs are served through the API.
func (l *Local) PresignGet(ctx context.Context, key string, ttl time.Duration, h ResponseHeaders) (string, error) {
	return "", ErrNotSupported
}

// Ping checks that the directory is still there and writable.
func (l *Local) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(filepath.Join(l.root, tmpDir), "ping-*")
	if err != nil {
		return fmt.Errorf("blob dir %s: %w", l.root, err)
	}
	_ = f.Close()
	return os.Remove(f.Name())
}

// SweepTemp removes upload files older than age, which a crash in the middle of a Put
// leaves behind. It returns how many it removed.
func (l *Local) SweepTemp(age time.Duration) (int, error) {
	entries, err := os.ReadDir(filepath.Join(l.root, tmpDir))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		st, err := e.Info()
		if err == nil && time.Since(st.ModTime()) > age && os.Remove(filepath.Join(l.root, tmpDir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

func (l *Local) notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("blob %s: %w", key, err)
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

type readCloser struct {
	io.Reader
	io.Closer
}

// contextReader stops a copy when ctx is done, so a cancelled upload does not run on.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
