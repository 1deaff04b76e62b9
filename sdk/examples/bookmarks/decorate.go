package bookmarks

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/pleinhq/plein/sdk"
)

// Decorate adds {"bookmarked": true|false} to each item for the user looking at it,
// with one batch read for the whole page. In the background (no user) it adds
// nothing. Plein's host does not call it, because the manifest declares the same
// field for the host to read itself; it stays as the example of a Decorator, for
// fields no key can express.
func (p *Plugin) Decorate(ctx context.Context, items []sdk.ItemRef) (map[string]json.RawMessage, error) {
	user := sdk.CallFrom(ctx).UserID
	if user == "" || len(items) == 0 {
		return nil, nil
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = userKey(user, it.ID)
	}
	found, err := p.host.KV().BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(items))
	for i, it := range items {
		_, ok := found[keys[i]]
		out[it.ID] = json.RawMessage(`{"bookmarked":` + strconv.FormatBool(ok) + `}`)
	}
	return out, nil
}
