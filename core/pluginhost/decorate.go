package pluginhost

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/sdk"
)

// Decorate asks every running plugin that declares decorations and is on for p's
// roles for its fields on the items in its spaces, all at once, each within
// DecorateTimeout, acting as p. It returns item id -> plugin name -> the plugin's
// JSON object, for the API to put under each item's "features". A plugin that is
// slow, fails or is down only loses its own fields; items no plugin decorated are
// absent; no plugin at all is an empty map, never an error.
func (h *Host) Decorate(ctx context.Context, p *authz.Principal, requestID string, items []sdk.ItemRef) map[string]map[string]json.RawMessage {
	out := map[string]map[string]json.RawMessage{}
	if p == nil || len(items) == 0 {
		return out
	}
	var readable *authz.SpaceSet // computed once, when a plugin needs it
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, in := range h.instancesList() {
		rec, _, ok := h.lookup(in.name)
		if !ok || !rec.Enabled || !rolesAllow(rec.Roles, p) {
			continue
		}
		pr, release, ok := in.acquire()
		if !ok {
			continue
		}
		if len(pr.manifest.Decorations) == 0 {
			release()
			continue
		}
		refs := make([]sdk.ItemRef, 0, len(items))
		for _, it := range items {
			if inScope(rec.Spaces, it.SpaceID) {
				refs = append(refs, it)
			}
		}
		if len(refs) == 0 {
			release()
			continue
		}
		if readable == nil {
			r := h.cfg.Authz.Readable(p)
			readable = &r
		}
		dctx, cancel := context.WithTimeout(ctx, h.cfg.DecorateTimeout)
		call, end := h.calls.Begin(in.name, p, *readable, requestID, h.cfg.Now().Add(h.cfg.DecorateTimeout))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			defer end()
			defer cancel()
			fields, err := pr.client.Decorate(dctx, call, refs)
			if err != nil {
				in.log.Debug("decoration left out", "request_id", requestID, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ref := range refs { // only what was asked for
				v, ok := fields[ref.ID]
				if !ok {
					continue
				}
				if out[ref.ID] == nil {
					out[ref.ID] = map[string]json.RawMessage{}
				}
				out[ref.ID][in.name] = v
			}
		}()
	}
	wg.Wait()
	return out
}
