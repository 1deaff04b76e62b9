package sdk

import (
	"context"
	"encoding/json"
	"net/http"
)

// Plugin is a feature plugin. Serve runs one in a plugin process.
type Plugin interface {
	// Manifest describes the plugin. It is called before Init and must not depend
	// on settings.
	Manifest() Manifest
	// Init is called once, before any request, with the host and the settings
	// object ("{}" when a manager set none). A settings change restarts the
	// process. An error wrapping ErrInvalid tells the host the settings are
	// wrong; the plugin then serves nothing until Init succeeds.
	Init(ctx context.Context, h *Host, settings json.RawMessage) error
	// Handler returns the handler for the plugin's routes, called once after Init.
	// Requests arrive with paths relative to /api/v1/plugins/<name> and with the
	// Call in their context. A nil handler answers every request 404.
	Handler() http.Handler
}

// EventHandler is implemented by plugins that subscribe to events in their manifest.
type EventHandler interface {
	// HandleEvent handles one event, acting as the plugin (ctx carries no Call).
	// Delivery is at least once: an event whose HandleEvent returned an error is
	// delivered again later, and one that succeeded may be too, so handle Event.ID
	// idempotently.
	HandleEvent(ctx context.Context, e Event) error
}

// Decorator is implemented by plugins that add fields to items (feeds, search, item
// pages).
type Decorator interface {
	// Decorate returns the plugin's fields for each item, keyed by item id, each a
	// JSON object such as {"count":3,"liked":true}. ctx carries the Call of the
	// user looking at the items. Items missing from the map get no fields. The
	// host calls it once per page, so use batch reads (KV.BatchGet,
	// Counters.BatchGet), not one host call per item.
	Decorate(ctx context.Context, items []ItemRef) (map[string]json.RawMessage, error)
}
