package sdk

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// KV is the plugin's key-value store. Keys are at most MaxKeySize bytes and values at
// most MaxValueSize; every write gives the entry a new version, which CAS and
// CompareAndDelete compare against.
type KV struct {
	rpc pb.HostClient
}

// Entry is one stored value.
type Entry struct {
	Key   string
	Value []byte
	// Version is positive and grows with every write of the key.
	Version int64
	// ExpiresAt is when a PutTTL entry disappears; zero for entries that never do.
	ExpiresAt time.Time
}

// Get returns the entry under key, or ErrNotFound if there is none (or it expired).
func (kv KV) Get(ctx context.Context, key string) (Entry, error) {
	e, err := kv.rpc.KVGet(ctx, &pb.KVGetRequest{Call: handle(ctx), Key: key})
	if err != nil {
		return Entry{}, errcode.FromStatus("kv get "+key, err)
	}
	return entryFromProto(e), nil
}

// BatchGet returns the entries under keys in one round trip, keyed by key. Missing
// keys are absent from the map; it is never an error. At most MaxBatch keys.
func (kv KV) BatchGet(ctx context.Context, keys []string) (map[string]Entry, error) {
	resp, err := kv.rpc.KVBatchGet(ctx, &pb.KVBatchGetRequest{Call: handle(ctx), Keys: keys})
	if err != nil {
		return nil, errcode.FromStatus(fmt.Sprintf("kv batch get (%d keys)", len(keys)), err)
	}
	out := make(map[string]Entry, len(resp.GetEntries()))
	for _, e := range resp.GetEntries() {
		out[e.GetKey()] = entryFromProto(e)
	}
	return out, nil
}

// Put stores value under key, replacing any entry, and returns the new version.
func (kv KV) Put(ctx context.Context, key string, value []byte) (int64, error) {
	return kv.put(ctx, &pb.KVPutRequest{Key: key, Value: value})
}

// PutTTL is Put for an entry that disappears after ttl, which must be positive
// (ErrInvalid otherwise).
func (kv KV) PutTTL(ctx context.Context, key string, value []byte, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("kv put %s: %w: ttl %v is not positive", key, ErrInvalid, ttl)
	}
	return kv.put(ctx, &pb.KVPutRequest{Key: key, Value: value, Ttl: durationpb.New(ttl)})
}

// CAS stores value under key only if the entry's version is still version, and
// returns the new version. Version 0 means the key must not exist yet. If the entry
// has another version (or exists, or is missing) it returns ErrConflict: read it
// again and retry.
func (kv KV) CAS(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	return kv.put(ctx, &pb.KVPutRequest{Key: key, Value: value, IfVersion: &version})
}

func (kv KV) put(ctx context.Context, req *pb.KVPutRequest) (int64, error) {
	req.Call = handle(ctx)
	resp, err := kv.rpc.KVPut(ctx, req)
	if err != nil {
		return 0, errcode.FromStatus("kv put "+req.GetKey(), err)
	}
	return resp.GetVersion(), nil
}

// Delete removes the entry under key. Deleting a missing key succeeds.
func (kv KV) Delete(ctx context.Context, key string) error {
	_, err := kv.rpc.KVDelete(ctx, &pb.KVDeleteRequest{Call: handle(ctx), Key: key})
	return errcode.FromStatus("kv delete "+key, err)
}

// CompareAndDelete removes the entry under key only if its version is still version;
// otherwise (or if it is missing) it returns ErrConflict.
func (kv KV) CompareAndDelete(ctx context.Context, key string, version int64) error {
	_, err := kv.rpc.KVDelete(ctx, &pb.KVDeleteRequest{Call: handle(ctx), Key: key, IfVersion: &version})
	return errcode.FromStatus("kv delete "+key, err)
}

// List returns up to limit entries whose key starts with prefix and sorts after
// after ("" for the first page), in key order, with the after key for the next page,
// which is "" on the last page. Limit 0 means DefaultListLimit; larger than
// MaxListLimit means MaxListLimit.
func (kv KV) List(ctx context.Context, prefix, after string, limit int) ([]Entry, string, error) {
	resp, err := kv.rpc.KVList(ctx, &pb.KVListRequest{Call: handle(ctx), Prefix: prefix, After: after, Limit: int32(min(max(limit, 0), MaxListLimit))})
	if err != nil {
		return nil, "", errcode.FromStatus("kv list "+prefix, err)
	}
	out := make([]Entry, len(resp.GetEntries()))
	for i, e := range resp.GetEntries() {
		out[i] = entryFromProto(e)
	}
	return out, resp.GetNextAfter(), nil
}

func entryFromProto(e *pb.KVEntry) Entry {
	out := Entry{Key: e.GetKey(), Value: e.GetValue(), Version: e.GetVersion()}
	if e.GetExpiresAt() != nil {
		out.ExpiresAt = e.GetExpiresAt().AsTime()
	}
	return out
}
