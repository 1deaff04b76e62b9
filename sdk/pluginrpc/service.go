package pluginrpc

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// HostService is what the host implements to serve one plugin's host calls. An
// instance is bound to one plugin (its namespace) when it is served on that plugin's
// broker; no request names a namespace.
//
// Every method gets the call handle the plugin sent: "" for background work, which
// acts as the plugin itself, or a handle the host issued for a request, which it
// resolves to the acting user and refuses with sdk.ErrForbidden once expired.
//
// Methods report failures with the sdk sentinels (wrapped as the implementation
// likes): sdk.ErrNotFound, sdk.ErrForbidden, sdk.ErrConflict, sdk.ErrInvalid. Any
// other error reaches the plugin as a bare internal error. The server in this
// package has already checked key sizes, value sizes, batch sizes and limits against
// the sdk limits, and clamps list and search limits, before a method runs.
type HostService interface {
	// KVGet returns the entry under key, or sdk.ErrNotFound if it is missing or
	// expired.
	KVGet(ctx context.Context, call, key string) (sdk.Entry, error)
	// KVBatchGet returns the entries that exist among keys; missing keys are left
	// out.
	KVBatchGet(ctx context.Context, call string, keys []string) ([]sdk.Entry, error)
	// KVPut writes w and returns the entry's new version; a failed compare-and-set
	// returns sdk.ErrConflict.
	KVPut(ctx context.Context, call string, w KVWrite) (int64, error)
	// KVDelete removes the entry under key; deleting a missing key succeeds unless
	// ifVersion is set, when a missing key or another version returns
	// sdk.ErrConflict.
	KVDelete(ctx context.Context, call, key string, ifVersion *int64) error
	// KVList returns up to limit (1..sdk.MaxListLimit) entries with the prefix whose
	// keys sort after after, in key order, and the after key for the next page or "".
	KVList(ctx context.Context, call, prefix, after string, limit int) ([]sdk.Entry, string, error)

	// CounterAdd adds delta to the counter and returns its new value.
	CounterAdd(ctx context.Context, call, name string, delta int64) (int64, error)
	// CounterBatchGet returns the counters' values; missing ones may be left out
	// (they read 0).
	CounterBatchGet(ctx context.Context, call string, names []string) (map[string]int64, error)

	// BlobPut stores what r yields under a key it makes up. size is what the plugin
	// declared (-1 if unknown); r already fails if the plugin sends another number
	// of bytes. It returns sdk.ErrInvalid for a blob over the host's limit.
	BlobPut(ctx context.Context, call string, size int64, r io.Reader) (sdk.BlobInfo, error)
	// BlobGet opens length bytes (-1: to the end) of the blob from offset, or
	// returns sdk.ErrNotFound; an offset beyond the end is sdk.ErrInvalid.
	BlobGet(ctx context.Context, call, key string, offset, length int64) (io.ReadCloser, sdk.BlobInfo, error)
	// BlobStat returns the blob's info, or sdk.ErrNotFound.
	BlobStat(ctx context.Context, call, key string) (sdk.BlobInfo, error)
	// BlobDelete removes the blob; a missing blob is not an error.
	BlobDelete(ctx context.Context, call, key string) error

	// ItemRegister creates an item owned by the plugin, authored by the acting user,
	// and returns its id.
	ItemRegister(ctx context.Context, call string, it sdk.NewItem) (string, error)
	// ItemUpdate replaces an item's title, body and restriction; sdk.ErrNotFound
	// if it is missing or not the plugin's.
	ItemUpdate(ctx context.Context, call, id string, u sdk.ItemUpdate) error
	// ItemDelete deletes an item the plugin owns and publishes item.deleted.
	ItemDelete(ctx context.Context, call, id string) error
	// ItemGet returns the item as the acting user, or sdk.ErrNotFound if it is
	// missing or they may not read it.
	ItemGet(ctx context.Context, call, id string) (sdk.Item, error)
	// ItemSearch returns up to q.Limit (1..sdk.MaxSearchLimit) items the acting user
	// may read.
	ItemSearch(ctx context.Context, call string, q sdk.ItemQuery) ([]sdk.Item, error)

	// Authorize reports whether the acting user may do action on the item; a
	// missing item answers false.
	Authorize(ctx context.Context, call, action, itemID string) (bool, error)
	// Publish records an event from the plugin; payload is valid JSON or empty.
	Publish(ctx context.Context, call, eventType, itemID string, payload json.RawMessage) error
}

// KVWrite is one KV write.
type KVWrite struct {
	Key   string
	Value []byte
	// TTL, if positive, makes the entry expire.
	TTL time.Duration
	// IfVersion, if set, makes the write a compare-and-set: it happens only if the
	// entry's version equals *IfVersion (0: the key must not exist).
	IfVersion *int64
}
