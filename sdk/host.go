package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Host is the plugin's client for the host: its KV store, counters, blobs and items,
// authorization checks and events, all in the plugin's own namespace. It uses the one
// connection the host set up in Configure and is safe for concurrent use.
//
// Every method takes the context of the work it does: from a request (its Call), the
// host acts as the request's user; otherwise as the plugin itself, with only the
// plugin's own permissions. The context's deadline reaches the host.
type Host struct {
	rpc pb.HostClient
	log *slog.Logger
}

func newHost(conn grpc.ClientConnInterface, log *slog.Logger) *Host {
	return &Host{rpc: pb.NewHostClient(conn), log: log}
}

// handle returns the call handle for a host request made with ctx.
func handle(ctx context.Context) string {
	return CallFrom(ctx).Handle
}

// Logger returns the plugin's logger. Under Serve it writes to stderr in a form the
// host relays at each line's level; under plugintest, to the test's log.
func (h *Host) Logger() *slog.Logger { return h.log }

// KV returns the plugin's key-value store.
func (h *Host) KV() KV { return KV{rpc: h.rpc} }

// Counters returns the plugin's atomic counters.
func (h *Host) Counters() Counters { return Counters{rpc: h.rpc} }

// Blobs returns the plugin's blob store.
func (h *Host) Blobs() Blobs { return Blobs{rpc: h.rpc} }

// Items returns the items API: plugin content that joins the feed and search, and
// reads of any item as the acting user.
func (h *Host) Items() Items { return Items{rpc: h.rpc} }

// Authorize reports whether the acting user may do action ("read", "edit",
// "moderate", ...) on the item. A missing item is not an error: it returns false.
// In the background it answers for the plugin itself.
func (h *Host) Authorize(ctx context.Context, action, itemID string) (bool, error) {
	resp, err := h.rpc.Authorize(ctx, &pb.AuthorizeRequest{Call: handle(ctx), Action: action, ItemId: itemID})
	if err != nil {
		return false, errcode.FromStatus("authorize "+action+" "+itemID, err)
	}
	return resp.GetAllowed(), nil
}

// Publish emits an event of the given type (conventionally "<plugin>.<what>") about
// an item ("" for none), with payload encoded as JSON. Other plugins subscribed to the
// type receive it. It returns ErrInvalid if payload does not encode.
func (h *Host) Publish(ctx context.Context, eventType, itemID string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("publish %s: %w: %v", eventType, ErrInvalid, err)
	}
	_, err = h.rpc.Publish(ctx, &pb.PublishRequest{Call: handle(ctx), Type: eventType, ItemId: itemID, Payload: data})
	return errcode.FromStatus("publish "+eventType, err)
}
