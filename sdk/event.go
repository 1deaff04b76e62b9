package sdk

import (
	"encoding/json"
	"time"
)

// Event is something that happened in Plein, delivered to plugins that subscribe to
// its Type (e.g. "item.deleted") and published by plugins with Host.Publish.
type Event struct {
	// ID is unique per event; use it to de-duplicate redeliveries.
	ID string `json:"id"`
	// Type is e.g. "item.created", "item.deleted" or "<plugin>.<something>".
	Type   string `json:"type"`
	ItemID string `json:"item_id,omitempty"`
	// SpaceID is the item's space, or "" for events outside spaces.
	SpaceID string `json:"space_id,omitempty"`
	// Actor is the id of the user who caused the event, or "plugin:<name>".
	Actor   string          `json:"actor,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Time    time.Time       `json:"time"`
}

// ItemRef names an item a Decorator decorates.
type ItemRef struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	SpaceID string `json:"space_id,omitempty"`
	// Owner is "core" or the name of the plugin that registered the item.
	Owner string `json:"owner"`
}
