package pluginrpc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/chunk"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

func (s *hostServer) BlobPut(stream pb.Host_BlobPutServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	head := first.GetHead()
	if head == nil {
		return invalid("the first message must be the head")
	}
	if head.GetSize() < -1 {
		return invalid("size %d", head.GetSize())
	}
	body := &chunk.Reader{Next: func() ([]byte, error) {
		msg, err := stream.Recv()
		switch {
		case err != nil:
			return nil, err // io.EOF at the plugin's CloseSend
		case msg.GetHead() != nil:
			return nil, fmt.Errorf("%w: a second head", sdk.ErrInvalid)
		}
		return msg.GetChunk(), nil
	}}
	info, err := s.svc.BlobPut(stream.Context(), head.GetCall(), head.GetSize(), &exactReader{r: body, size: head.GetSize()})
	if err != nil {
		return errcode.ToStatus(err)
	}
	return stream.SendAndClose(blobInfoToProto(info))
}

// exactReader fails with sdk.ErrInvalid once r yields more than size bytes, or ends
// short of it; size -1 accepts any length.
type exactReader struct {
	r    io.Reader
	size int64
	n    int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if e.size < 0 {
		return n, err
	}
	if e.n > e.size {
		return n, fmt.Errorf("%w: blob larger than the declared %d bytes", sdk.ErrInvalid, e.size)
	}
	if errors.Is(err, io.EOF) && e.n < e.size {
		return n, fmt.Errorf("%w: blob of %d bytes, declared %d", sdk.ErrInvalid, e.n, e.size)
	}
	return n, err
}

func (s *hostServer) BlobGet(req *pb.BlobGetRequest, stream pb.Host_BlobGetServer) error {
	if req.GetOffset() < 0 || req.GetLength() < -1 {
		return invalid("offset %d, length %d", req.GetOffset(), req.GetLength())
	}
	rc, info, err := s.svc.BlobGet(stream.Context(), req.GetCall(), req.GetKey(), req.GetOffset(), req.GetLength())
	if err != nil {
		return errcode.ToStatus(err)
	}
	defer rc.Close()
	if err := stream.Send(&pb.BlobGetResponse{Part: &pb.BlobGetResponse_Info{Info: blobInfoToProto(info)}}); err != nil {
		return err
	}
	msg := &pb.BlobGetResponse_Chunk{}
	_, err = chunk.Send(rc, func(p []byte) error {
		msg.Chunk = p
		return stream.Send(&pb.BlobGetResponse{Part: msg})
	})
	return errcode.ToStatus(err)
}

func (s *hostServer) BlobStat(ctx context.Context, req *pb.BlobStatRequest) (*pb.BlobInfo, error) {
	info, err := s.svc.BlobStat(ctx, req.GetCall(), req.GetKey())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return blobInfoToProto(info), nil
}

func (s *hostServer) BlobDelete(ctx context.Context, req *pb.BlobDeleteRequest) (*pb.BlobDeleteResponse, error) {
	if err := s.svc.BlobDelete(ctx, req.GetCall(), req.GetKey()); err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.BlobDeleteResponse{}, nil
}
