package pluginrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
	"github.com/pleinhq/plein/sdk/internal/rpcguard"
)

// NewHostServer returns a gRPC server serving svc as the Host service, with the
// protocol's message limits and panic recovery, logging panics to log (nil discards),
// plus opts (go-plugin's TLS options on the broker). ServeHost uses it; so does
// plugintest.
func NewHostServer(svc HostService, log *slog.Logger, opts ...grpc.ServerOption) *grpc.Server {
	s := grpc.NewServer(append(opts, rpcguard.ServerOptions(log)...)...)
	pb.RegisterHostServer(s, &hostServer{svc: svc})
	return s
}

// hostServer adapts a HostService to the Host gRPC service: it checks the sdk limits,
// converts messages and maps errors to status codes.
type hostServer struct {
	pb.UnimplementedHostServer
	svc HostService
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// checkKey refuses an empty, oversized or non-UTF-8 key or counter name.
func checkKey(what, key string) error {
	if key == "" || len(key) > sdk.MaxKeySize || !utf8.ValidString(key) {
		return invalid("%s %q: want 1 to %d bytes of UTF-8", what, key, sdk.MaxKeySize)
	}
	return nil
}

func checkKeys(what string, keys []string) error {
	if len(keys) > sdk.MaxBatch {
		return invalid("%d %ss: at most %d per batch", len(keys), what, sdk.MaxBatch)
	}
	for _, k := range keys {
		if err := checkKey(what, k); err != nil {
			return err
		}
	}
	return nil
}

func (s *hostServer) KVGet(ctx context.Context, req *pb.KVGetRequest) (*pb.KVEntry, error) {
	if err := checkKey("key", req.GetKey()); err != nil {
		return nil, err
	}
	e, err := s.svc.KVGet(ctx, req.GetCall(), req.GetKey())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return entryToProto(e), nil
}

func (s *hostServer) KVBatchGet(ctx context.Context, req *pb.KVBatchGetRequest) (*pb.KVBatchGetResponse, error) {
	if err := checkKeys("key", req.GetKeys()); err != nil {
		return nil, err
	}
	entries, err := s.svc.KVBatchGet(ctx, req.GetCall(), req.GetKeys())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	out := &pb.KVBatchGetResponse{Entries: make([]*pb.KVEntry, len(entries))}
	for i, e := range entries {
		out.Entries[i] = entryToProto(e)
	}
	return out, nil
}

func (s *hostServer) KVPut(ctx context.Context, req *pb.KVPutRequest) (*pb.KVPutResponse, error) {
	if err := checkKey("key", req.GetKey()); err != nil {
		return nil, err
	}
	if len(req.GetValue()) > sdk.MaxValueSize {
		return nil, invalid("value of %d bytes: at most %d", len(req.GetValue()), sdk.MaxValueSize)
	}
	w := KVWrite{Key: req.GetKey(), Value: req.GetValue(), IfVersion: req.IfVersion}
	if req.GetTtl() != nil {
		if w.TTL = req.GetTtl().AsDuration(); w.TTL < 0 {
			return nil, invalid("negative ttl")
		}
	}
	if w.IfVersion != nil && *w.IfVersion < 0 {
		return nil, invalid("negative version")
	}
	v, err := s.svc.KVPut(ctx, req.GetCall(), w)
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.KVPutResponse{Version: v}, nil
}

func (s *hostServer) KVDelete(ctx context.Context, req *pb.KVDeleteRequest) (*pb.KVDeleteResponse, error) {
	if err := checkKey("key", req.GetKey()); err != nil {
		return nil, err
	}
	if err := s.svc.KVDelete(ctx, req.GetCall(), req.GetKey(), req.IfVersion); err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.KVDeleteResponse{}, nil
}

func (s *hostServer) KVList(ctx context.Context, req *pb.KVListRequest) (*pb.KVListResponse, error) {
	if len(req.GetPrefix()) > sdk.MaxKeySize || len(req.GetAfter()) > sdk.MaxKeySize {
		return nil, invalid("prefix or after longer than %d bytes", sdk.MaxKeySize)
	}
	entries, next, err := s.svc.KVList(ctx, req.GetCall(), req.GetPrefix(), req.GetAfter(), clamp(int(req.GetLimit()), sdk.DefaultListLimit, sdk.MaxListLimit))
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	out := &pb.KVListResponse{Entries: make([]*pb.KVEntry, len(entries)), NextAfter: next}
	for i, e := range entries {
		out.Entries[i] = entryToProto(e)
	}
	return out, nil
}

// clamp returns limit within 1..most, or def when limit is not positive.
func clamp(limit, def, most int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, most)
}

func (s *hostServer) CounterAdd(ctx context.Context, req *pb.CounterAddRequest) (*pb.CounterAddResponse, error) {
	if err := checkKey("counter", req.GetName()); err != nil {
		return nil, err
	}
	v, err := s.svc.CounterAdd(ctx, req.GetCall(), req.GetName(), req.GetDelta())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.CounterAddResponse{Value: v}, nil
}

func (s *hostServer) CounterBatchGet(ctx context.Context, req *pb.CounterBatchGetRequest) (*pb.CounterBatchGetResponse, error) {
	if err := checkKeys("counter", req.GetNames()); err != nil {
		return nil, err
	}
	values, err := s.svc.CounterBatchGet(ctx, req.GetCall(), req.GetNames())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.CounterBatchGetResponse{Values: values}, nil
}

func (s *hostServer) ItemRegister(ctx context.Context, req *pb.ItemRegisterRequest) (*pb.ItemRegisterResponse, error) {
	if req.GetKind() == "" || req.GetTitle() == "" {
		return nil, invalid("an item needs a kind and a title")
	}
	id, err := s.svc.ItemRegister(ctx, req.GetCall(), sdk.NewItem{
		Kind: req.GetKind(), SpaceID: req.GetSpaceId(), Title: req.GetTitle(), Body: req.GetBody(), Restricted: req.GetRestricted(),
	})
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.ItemRegisterResponse{Id: id}, nil
}

func (s *hostServer) ItemUpdate(ctx context.Context, req *pb.ItemUpdateRequest) (*pb.ItemUpdateResponse, error) {
	if req.GetTitle() == "" {
		return nil, invalid("an item needs a title")
	}
	err := s.svc.ItemUpdate(ctx, req.GetCall(), req.GetId(), sdk.ItemUpdate{Title: req.GetTitle(), Body: req.GetBody(), Restricted: req.GetRestricted()})
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.ItemUpdateResponse{}, nil
}

func (s *hostServer) ItemDelete(ctx context.Context, req *pb.ItemDeleteRequest) (*pb.ItemDeleteResponse, error) {
	if err := s.svc.ItemDelete(ctx, req.GetCall(), req.GetId()); err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.ItemDeleteResponse{}, nil
}

func (s *hostServer) ItemGet(ctx context.Context, req *pb.ItemGetRequest) (*pb.Item, error) {
	it, err := s.svc.ItemGet(ctx, req.GetCall(), req.GetId())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return itemToProto(it), nil
}

func (s *hostServer) ItemSearch(ctx context.Context, req *pb.ItemSearchRequest) (*pb.ItemSearchResponse, error) {
	q := sdk.ItemQuery{Query: req.GetQuery(), SpaceID: req.GetSpaceId(), Kind: req.GetKind(),
		Limit: clamp(int(req.GetLimit()), sdk.DefaultSearchLimit, sdk.MaxSearchLimit)}
	items, err := s.svc.ItemSearch(ctx, req.GetCall(), q)
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	out := &pb.ItemSearchResponse{Items: make([]*pb.Item, len(items))}
	for i, it := range items {
		out.Items[i] = itemToProto(it)
	}
	return out, nil
}

func (s *hostServer) Authorize(ctx context.Context, req *pb.AuthorizeRequest) (*pb.AuthorizeResponse, error) {
	if req.GetAction() == "" {
		return nil, invalid("no action")
	}
	ok, err := s.svc.Authorize(ctx, req.GetCall(), req.GetAction(), req.GetItemId())
	if err != nil {
		return nil, errcode.ToStatus(err)
	}
	return &pb.AuthorizeResponse{Allowed: ok}, nil
}

func (s *hostServer) Publish(ctx context.Context, req *pb.PublishRequest) (*pb.PublishResponse, error) {
	if req.GetType() == "" {
		return nil, invalid("no event type")
	}
	if len(req.GetPayload()) > sdk.MaxValueSize {
		return nil, invalid("payload of %d bytes: at most %d", len(req.GetPayload()), sdk.MaxValueSize)
	}
	if len(req.GetPayload()) > 0 && !json.Valid(req.GetPayload()) {
		return nil, invalid("payload is not JSON")
	}
	if err := s.svc.Publish(ctx, req.GetCall(), req.GetType(), req.GetItemId(), req.GetPayload()); err != nil {
		return nil, errcode.ToStatus(fmt.Errorf("publish: %w", err))
	}
	return &pb.PublishResponse{}, nil
}
