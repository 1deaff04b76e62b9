// Package changes announces changes to users, roles, spaces and policies to the caches
// that depend on them, on this replica at once and on every other replica through the bus.
package changes

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/pleinhq/plein/core/bus"
)

// Kind says what changed.
type Kind string

// The kinds of change.
const (
	User   Kind = "user"   // a user's roles, memberships, status or existence; ID is the user
	Token  Kind = "token"  // a token was revoked; ID is its hash
	Roles  Kind = "roles"  // the set of roles changed
	Space  Kind = "space"  // a space's visibility, roles or existence; ID is the space
	Policy Kind = "policy" // the Casbin policy changed
	All    Kind = "all"    // anything may have changed: rebuild every cache
)

// Change is one notice.
type Change struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id,omitempty"`
	// Keys name what changed within ID, for kinds that gather many changes in one
	// notice (a plugin's data keys).
	Keys []string `json:"keys,omitempty"`
}

// Topic is the bus topic the notices travel on.
const Topic = "changes"

// Notifier delivers changes to local handlers synchronously and to other replicas
// through the bus. A replica also hears its own notices back from the bus; handlers
// must be idempotent (they only drop or reload cached state).
type Notifier struct {
	bus bus.Bus
	log *slog.Logger

	mu       sync.RWMutex
	handlers []func(Change)
}

// New returns a notifier on b. Call Start once handlers are registered.
func New(b bus.Bus, log *slog.Logger) *Notifier {
	return &Notifier{bus: b, log: log}
}

// Handle registers h for every change, local or remote.
func (n *Notifier) Handle(h func(Change)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handlers = append(n.handlers, h)
}

// Start subscribes to other replicas' changes. After a bus reconnect, handlers get an
// All change, since notices may have been lost meanwhile.
func (n *Notifier) Start(ctx context.Context) (stop func(), err error) {
	return n.bus.Subscribe(ctx, Topic, func(m bus.Message) {
		if m.Resync {
			n.deliver(Change{Kind: All})
			return
		}
		var c Change
		if err := json.Unmarshal(m.Payload, &c); err != nil || c.Kind == "" {
			n.log.Warn("changes: dropped a malformed notice", "payload", string(m.Payload))
			return
		}
		n.deliver(c)
	})
}

// Publish applies c on this replica before it returns, then tells the others.
// A failed broadcast is logged, not returned: the change itself is committed, and
// other replicas' caches also expire on their own.
func (n *Notifier) Publish(ctx context.Context, c Change) {
	n.deliver(c)
	payload, _ := json.Marshal(c)
	if err := n.bus.Publish(ctx, Topic, payload); err != nil {
		n.log.Error("changes: broadcast failed; other replicas catch up on their next resync", "kind", c.Kind, "err", err)
	}
}

// Broadcast tells every replica, this one included when the bus echoes it, without
// applying c here first: for callers that already did, and send changes in batches.
// A failed broadcast is logged, as with Publish.
func (n *Notifier) Broadcast(ctx context.Context, c Change) {
	payload, _ := json.Marshal(c)
	if err := n.bus.Publish(ctx, Topic, payload); err != nil {
		n.log.Error("changes: broadcast failed; other replicas catch up on their next resync", "kind", c.Kind, "err", err)
	}
}

func (n *Notifier) deliver(c Change) {
	n.mu.RLock()
	hs := n.handlers
	n.mu.RUnlock()
	for _, h := range hs {
		h(c)
	}
}
