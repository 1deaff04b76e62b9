package plugintest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// User is an acting user: the one a request or decoration runs as.
type User struct {
	ID    string
	Roles []string
}

// Item is an item in the in-memory host. Who may read it: its author, users granted
// "read" with Allow or AllowRead, the grantees in Restricted ("user:<id>",
// "role:<name>") if it has any, and everyone if it has none and is Public. The plugin
// itself, in the background, may read and change the items it owns.
type Item struct {
	sdk.Item
	Public bool
}

// Host is an in-memory Plein host for one plugin: KV with versions, TTLs and
// compare-and-set, counters, blobs, items with the readability model of Item,
// authorization from explicit grants, and a record of published events. Its
// Service is what the harness serves to the plugin over gRPC. It is safe for
// concurrent use.
type Host struct {
	plugin string

	mu        sync.Mutex
	offset    time.Duration // Advance's shift of the clock
	seq       int64         // ids, handles and KV versions
	calls     map[string]User
	kv        map[string]kvEntry
	counters  map[string]int64
	blobs     map[string]blob
	items     map[string]*item
	published []sdk.Event
}

type kvEntry struct {
	value   []byte
	version int64
	expires time.Time
}

type blob struct {
	data    []byte
	created time.Time
}

type item struct {
	Item
	grants map[string]map[string]bool // action -> user id -> allowed
}

// NewHost returns an empty host for the plugin with the given name.
func NewHost(plugin string) *Host {
	return &Host{
		plugin:   plugin,
		calls:    make(map[string]User),
		kv:       make(map[string]kvEntry),
		counters: make(map[string]int64),
		blobs:    make(map[string]blob),
		items:    make(map[string]*item),
	}
}

// Service returns the host's side of the protocol, for pluginrpc.NewHostServer or
// Client.ServeHost.
func (h *Host) Service() pluginrpc.HostService { return &service{h: h} }

// fields builds declared decoration fields from the host's KV and counters, as the
// real host does, without calling the plugin.
func (h *Host) fields(fields []sdk.Field, userID string, items []sdk.ItemRef) map[string]json.RawMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	values := sdk.FieldValues{
		Counter: func(key string) int64 { return h.counters[key] },
		KV: func(key string) ([]byte, bool) {
			e, ok := h.kv[key]
			if !ok || (!e.expires.IsZero() && !e.expires.After(now)) {
				return nil, false
			}
			return e.value, true
		},
	}
	out := make(map[string]json.RawMessage, len(items))
	for _, it := range items {
		out[it.ID] = sdk.FieldsJSON(fields, it.ID, userID, values)
	}
	return out
}

// next returns a fresh id with prefix; the caller holds mu.
func (h *Host) next(prefix string) string {
	h.seq++
	return fmt.Sprintf("%s-%d", prefix, h.seq)
}

// now returns the host's clock: real time shifted by Advance.
func (h *Host) now() time.Time {
	return time.Now().Add(h.offset)
}

// Advance moves the host's clock forward by d, so KV entries with a TTL expire
// without the test sleeping.
func (h *Host) Advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offset += d
}

// BeginCall issues a call handle acting as u, valid until EndCall, as the host does
// for each request. The Call's deadline is a minute away.
func (h *Host) BeginCall(u User) sdk.Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := sdk.Call{Handle: h.next("call"), RequestID: h.next("req"), UserID: u.ID, Roles: u.Roles, Deadline: time.Now().Add(time.Minute)}
	h.calls[c.Handle] = u
	return c
}

// EndCall expires c's handle: host calls that send it fail with sdk.ErrForbidden.
func (h *Host) EndCall(c sdk.Call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.calls, c.Handle)
}

// AddItem stores it (an ID is made up if empty, Owner defaults to "core") and
// returns its id.
func (h *Host) AddItem(it Item) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if it.ID == "" {
		it.ID = h.next("item")
	}
	if it.Owner == "" {
		it.Owner = "core"
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = h.now()
		it.UpdatedAt = it.CreatedAt
	}
	h.items[it.ID] = &item{Item: it, grants: make(map[string]map[string]bool)}
	return it.ID
}

// Item returns the item with id and true, or false if there is none.
func (h *Host) Item(id string) (Item, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	it, ok := h.items[id]
	if !ok {
		return Item{}, false
	}
	return it.Item, true
}

// Allow lets the user do action ("read", "edit", "moderate", ...) on the item.
// Granting on a missing item does nothing.
func (h *Host) Allow(userID, action, itemID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	it, ok := h.items[itemID]
	if !ok {
		return
	}
	if it.grants[action] == nil {
		it.grants[action] = make(map[string]bool)
	}
	it.grants[action][userID] = true
}

// AllowRead lets the user read the item: Allow(userID, "read", itemID).
func (h *Host) AllowRead(userID, itemID string) { h.Allow(userID, "read", itemID) }

// Published returns the events published so far (by the plugin, and item.deleted
// for items it deleted), oldest first.
func (h *Host) Published() []sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.published)
}

// KVKeys returns the live KV keys with the prefix, sorted.
func (h *Host) KVKeys(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var keys []string
	for k, e := range h.kv {
		if strings.HasPrefix(k, prefix) && h.live(e) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// live reports whether e has not expired; the caller holds mu.
func (h *Host) live(e kvEntry) bool {
	return e.expires.IsZero() || h.now().Before(e.expires)
}

// actor is who a host call acts as: a user, or the plugin itself.
type actor struct {
	user   User
	plugin bool
}

// actorOf resolves a call handle; the caller holds mu.
func (h *Host) actorOf(call string) (actor, error) {
	if call == "" {
		return actor{plugin: true}, nil
	}
	u, ok := h.calls[call]
	if !ok {
		return actor{}, fmt.Errorf("call %q: %w: unknown or expired call handle", call, sdk.ErrForbidden)
	}
	return actor{user: u}, nil
}

// name returns the actor as an event's actor or an item's author.
func (a actor) name(plugin string) string {
	if a.plugin {
		return "plugin:" + plugin
	}
	return a.user.ID
}

// may reports whether a may do action on it; the caller holds mu.
func (h *Host) may(a actor, action string, it *item) bool {
	if a.plugin {
		return it.Owner == h.plugin
	}
	if it.AuthorID == a.user.ID || it.grants[action][a.user.ID] {
		return true
	}
	if action != "read" {
		return false
	}
	if len(it.Restricted) > 0 {
		return slices.ContainsFunc(it.Restricted, func(g string) bool {
			return g == "user:"+a.user.ID || slices.ContainsFunc(a.user.Roles, func(r string) bool { return g == "role:"+r })
		})
	}
	return it.Public
}
