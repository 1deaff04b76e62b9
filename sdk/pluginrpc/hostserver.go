package pluginrpc

import (
	"context"
	"encoding/json"
	"errors"
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

// TxnService is implemented by a HostService that applies transactions (sdk.Host.Txn).
// The server has checked the transaction against the sdk limits before KVTxn runs. A
// condition that does not hold is a *sdk.TxnConflict error, returned with the
// counters' current values in the result; anything else is as for HostService. A
// HostService without it answers transactions as unimplemented.
type TxnService interface {
	KVTxn(ctx context.Context, call string, t sdk.Txn) (sdk.TxnResult, error)
}

func (s *hostServer) KVTxn(ctx context.Context, req *pb.KVTxnRequest) (*pb.KVTxnResponse, error) {
	svc, ok := s.svc.(TxnService)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this host applies no transactions")
	}
	t, err := txnFromProto(req)
	if err != nil {
		return nil, err
	}
	res, err := svc.KVTxn(ctx, req.GetCall(), t)
	var conflict *sdk.TxnConflict
	switch {
	case errors.As(err, &conflict):
		return &pb.KVTxnResponse{Failed: int32(conflict.Index), Counters: res.Counters}, nil
	case err != nil:
		return nil, errcode.ToStatus(err)
	}
	return &pb.KVTxnResponse{Applied: true, Versions: res.Versions, Counters: res.Counters}, nil
}

// txnFromProto checks a transaction against the sdk limits and converts it.
func txnFromProto(req *pb.KVTxnRequest) (sdk.Txn, error) {
	n := len(req.GetConditions()) + len(req.GetPuts()) + len(req.GetDeletes()) + len(req.GetCounters()) + len(req.GetCounterDeletes())
	if n > sdk.MaxBatch {
		return sdk.Txn{}, invalid("a transaction of %d conditions and changes: at most %d", n, sdk.MaxBatch)
	}
	t := sdk.Txn{If: make([]sdk.Cond, len(req.GetConditions())), Put: make([]sdk.Put, len(req.GetPuts())),
		Delete: req.GetDeletes(), Add: make([]sdk.Delta, len(req.GetCounters())), DeleteCounters: req.GetCounterDeletes(),
		Relaxed: req.GetRelaxed()}
	conds := make(map[string]bool, len(t.If))
	for i, c := range req.GetConditions() {
		if err := checkKey("key", c.GetKey()); err != nil {
			return sdk.Txn{}, err
		}
		st := sdk.CondState(c.GetState())
		switch {
		case st != sdk.KeyAbsent && st != sdk.KeyPresent && st != sdk.KeyAtVersion:
			return sdk.Txn{}, invalid("condition on %q: no such state %d", c.GetKey(), st)
		case st == sdk.KeyAtVersion && c.GetVersion() <= 0:
			return sdk.Txn{}, invalid("condition on %q: version %d is not positive", c.GetKey(), c.GetVersion())
		case conds[c.GetKey()]:
			return sdk.Txn{}, invalid("two conditions on %q", c.GetKey())
		}
		conds[c.GetKey()] = true
		t.If[i] = sdk.Cond{Key: c.GetKey(), State: st, Version: c.GetVersion()}
	}
	writes := make(map[string]bool, len(t.Put)+len(t.Delete))
	size := 0
	for i, p := range req.GetPuts() {
		if err := checkKey("key", p.GetKey()); err != nil {
			return sdk.Txn{}, err
		}
		if writes[p.GetKey()] {
			return sdk.Txn{}, invalid("key %q written twice", p.GetKey())
		}
		writes[p.GetKey()] = true
		if size += len(p.GetValue()); size > sdk.MaxValueSize {
			return sdk.Txn{}, invalid("values over %d bytes in all", sdk.MaxValueSize)
		}
		t.Put[i] = sdk.Put{Key: p.GetKey(), Value: p.GetValue()}
		if p.GetTtl() != nil {
			if t.Put[i].TTL = p.GetTtl().AsDuration(); t.Put[i].TTL < 0 {
				return sdk.Txn{}, invalid("negative ttl")
			}
		}
	}
	for _, k := range t.Delete {
		if err := checkKey("key", k); err != nil {
			return sdk.Txn{}, err
		}
		if writes[k] {
			return sdk.Txn{}, invalid("key %q written twice", k)
		}
		writes[k] = true
	}
	counters := make(map[string]bool, len(t.Add)+len(t.DeleteCounters))
	for i, d := range req.GetCounters() {
		if err := checkKey("counter", d.GetName()); err != nil {
			return sdk.Txn{}, err
		}
		if counters[d.GetName()] {
			return sdk.Txn{}, invalid("counter %q changed twice", d.GetName())
		}
		counters[d.GetName()] = true
		t.Add[i] = sdk.Delta{Name: d.GetName(), Delta: d.GetDelta()}
	}
	for _, name := range t.DeleteCounters {
		if err := checkKey("counter", name); err != nil {
			return sdk.Txn{}, err
		}
		if counters[name] {
			return sdk.Txn{}, invalid("counter %q changed twice", name)
		}
		counters[name] = true
	}
	return t, nil
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
