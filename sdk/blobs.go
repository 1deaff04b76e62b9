package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/chunk"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Blobs is the plugin's blob store, under a prefix of its own in the host's store.
// The host makes up every key, so keys never come from user input. Bytes stream in
// both directions: a blob of any size never sits in memory.
type Blobs struct {
	rpc pb.HostClient
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key       string
	Size      int64
	CreatedAt time.Time
}

// Put stores what r yields and returns the new blob's key. size is the number of
// bytes r yields, or -1 if unknown; if r yields another number it returns ErrInvalid
// and stores nothing. The host may refuse a blob over its size limit with ErrInvalid.
func (b Blobs) Put(ctx context.Context, r io.Reader, size int64) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := b.rpc.BlobPut(ctx)
	if err != nil {
		return "", errcode.FromStatus("blob put", err)
	}
	head := &pb.BlobPutRequest{Part: &pb.BlobPutRequest_Head{Head: &pb.BlobPutHead{Call: handle(ctx), Size: size}}}
	if err := stream.Send(head); err != nil {
		return "", b.putFailed(stream, err)
	}
	msg := &pb.BlobPutRequest_Chunk{}
	n, err := chunk.Send(r, func(p []byte) error {
		msg.Chunk = p
		return stream.Send(&pb.BlobPutRequest{Part: msg})
	})
	if err != nil {
		return "", b.putFailed(stream, err)
	}
	if size >= 0 && n != size {
		return "", fmt.Errorf("blob put: %w: reader yielded %d bytes, declared %d", ErrInvalid, n, size)
	}
	info, err := stream.CloseAndRecv()
	if err != nil {
		return "", errcode.FromStatus("blob put", err)
	}
	return info.GetKey(), nil
}

// putFailed returns the error that ended an upload: the host's status when it closed
// the stream (Send returns io.EOF then), or err, e.g. from reading the source.
func (b Blobs) putFailed(stream pb.Host_BlobPutClient, err error) error {
	if errors.Is(err, io.EOF) {
		_, err = stream.CloseAndRecv()
		return errcode.FromStatus("blob put", err)
	}
	return fmt.Errorf("blob put: %w", err)
}

// Get opens the blob under key for reading length bytes from offset (-1 reads to the
// end), returning the reader and the blob's info. Close the reader when done; it
// stops the transfer. Missing blobs return ErrNotFound; an offset beyond the end
// returns ErrInvalid.
func (b Blobs) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, BlobInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := b.rpc.BlobGet(ctx, &pb.BlobGetRequest{Call: handle(ctx), Key: key, Offset: offset, Length: length})
	if err != nil {
		cancel()
		return nil, BlobInfo{}, errcode.FromStatus("blob get "+key, err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, BlobInfo{}, errcode.FromStatus("blob get "+key, err)
	}
	if first.GetInfo() == nil {
		cancel()
		return nil, BlobInfo{}, fmt.Errorf("blob get %s: host sent no info first", key)
	}
	r := &chunk.Reader{Next: func() ([]byte, error) {
		msg, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		case err != nil:
			return nil, errcode.FromStatus("blob get "+key, err)
		case msg.GetInfo() != nil:
			return nil, fmt.Errorf("blob get %s: host sent info twice", key)
		}
		return msg.GetChunk(), nil
	}}
	return &cancelReader{Reader: r, cancel: cancel}, blobInfoFromProto(first.GetInfo()), nil
}

// cancelReader is a stream's reader whose Close cancels the stream.
type cancelReader struct {
	io.Reader
	cancel context.CancelFunc
}

func (r *cancelReader) Close() error {
	r.cancel()
	return nil
}

// Stat returns the info of the blob under key, or ErrNotFound.
func (b Blobs) Stat(ctx context.Context, key string) (BlobInfo, error) {
	info, err := b.rpc.BlobStat(ctx, &pb.BlobStatRequest{Call: handle(ctx), Key: key})
	if err != nil {
		return BlobInfo{}, errcode.FromStatus("blob stat "+key, err)
	}
	return blobInfoFromProto(info), nil
}

// Delete removes the blob under key. Deleting a missing blob succeeds.
func (b Blobs) Delete(ctx context.Context, key string) error {
	_, err := b.rpc.BlobDelete(ctx, &pb.BlobDeleteRequest{Call: handle(ctx), Key: key})
	return errcode.FromStatus("blob delete "+key, err)
}

func blobInfoFromProto(info *pb.BlobInfo) BlobInfo {
	out := BlobInfo{Key: info.GetKey(), Size: info.GetSize()}
	if info.GetCreatedAt() != nil {
		out.CreatedAt = info.GetCreatedAt().AsTime()
	}
	return out
}
