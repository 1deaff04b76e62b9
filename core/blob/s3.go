package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// PartSize is the multipart chunk for uploads of unknown size (minio-go's default for them
// is 528 MiB, held in memory). 8 MiB caps an object at 78 GiB.
const PartSize = 8 << 20

// streamParts is how many parts of an upload of unknown size are in memory at once: one
// filling from the client while the others go to the server, so neither side waits for
// the other. Memory per upload is PartSize × streamParts.
const streamParts = 3

// S3Config says where the S3 store lives.
type S3Config struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	UseSSL    bool
}

// S3 stores blobs in an S3 bucket (MinIO or any S3 service).
type S3 struct {
	c      *minio.Client
	bucket string
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket, creating it if it does not exist.
// It returns an error when the server does not answer or refuses the credentials.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", cfg.Endpoint, err)
	}
	s := &S3{c: c, bucket: cfg.Bucket}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 %s bucket %s: %w", cfg.Endpoint, cfg.Bucket, err)
	}
	if !ok {
		err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3 create bucket %s: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

// Backend returns "s3".
func (s *S3) Backend() string { return "s3" }

// Put implements Store. Memory stays within PartSize × 3 whatever the size.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	lim, err := limitSource(r, size, opts)
	if err != nil {
		return Info{}, err
	}
	src := &trackReader{r: lim}
	po := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if size < 0 {
		po.PartSize, po.ConcurrentStreamParts, po.NumThreads = PartSize, true, streamParts
	}
	up, err := s.c.PutObject(ctx, s.bucket, key, src, size, po)
	if err == nil && size >= 0 {
		// minio-go stops after size bytes; make sure the source had no more.
		_, err = src.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) {
			err = nil
		} else {
			s.removeQuietly(key)
		}
	}
	if err != nil {
		if src.err != nil { // our own limit, not the server, stopped the upload
			err = src.err
		}
		return Info{}, fmt.Errorf("put %s: %w", key, err)
	}
	return Info{Key: key, Size: up.Size, ModTime: up.LastModified.UTC()}, nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if offset < 0 {
		return nil, Info{}, ErrInvalidRange
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err := opts.SetRange(offset, offset+length-1)
		if err != nil {
			return nil, Info{}, ErrInvalidRange
		}
	case offset > 0:
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, Info{}, ErrInvalidRange
		}
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, Info{}, s.wrap("get", key, err)
	}
	// Stat sends the GET and reads the answer's headers: missing keys and bad ranges show here.
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Info{}, s.wrap("get", key, err)
	}
	info := Info{Key: key, Size: st.Size, ModTime: st.LastModified.UTC()}
	if offset > 0 || length > 0 {
		// A ranged answer's Content-Length is the range's; the whole size ends Content-Range.
		cr := st.Headers.Get("Content-Range")
		total, err := strconv.ParseInt(cr[strings.LastIndexByte(cr, '/')+1:], 10, 64)
		if err != nil {
			_ = obj.Close()
			return nil, Info{}, fmt.Errorf("get %s: bad Content-Range %q", key, cr)
		}
		info.Size = total
	}
	return obj, info, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	st, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.wrap("stat", key, err)
	}
	return Info{Key: key, Size: st.Size, ModTime: st.LastModified.UTC()}, nil
}

// Delete implements Store. It also aborts unfinished multipart uploads to the key, whose
// parts an interrupted Put (the server went away mid-upload) can leave behind.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.wrap("delete", key, err)
	}
	if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, key); err != nil {
		return s.wrap("delete", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if !validPrefix(prefix) {
			yield(Info{}, fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix))
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio-go's lister when the caller breaks early
		for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				yield(Info{}, fmt.Errorf("list %s: %w", prefix, o.Err))
				return
			}
			if !yield(Info{Key: o.Key, Size: o.Size, ModTime: o.LastModified.UTC()}, nil) {
				return
			}
		}
	}
}

// PresignGet implements Store.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration, h ResponseHeaders) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	for name, v := range map[string]string{"response-content-type": h.ContentType,
		"response-content-disposition": h.ContentDisposition, "response-cache-control": h.CacheControl} {
		if v != "" {
			params.Set(name, v)
		}
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", s.wrap("presign", key, err)
	}
	return u.String(), nil
}

// Ping checks that the bucket answers.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %s is gone", s.bucket)
	}
	return nil
}

func (s *S3) removeQuietly(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

func (s *S3) wrap(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	case resp.Code == "InvalidRange" || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return ErrInvalidRange
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// trackReader remembers the first error other than EOF that the source returned.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}
