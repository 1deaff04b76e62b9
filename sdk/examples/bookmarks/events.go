package bookmarks

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// HandleEvent removes every bookmark of a deleted item. It acts as the plugin and is
// idempotent, so a redelivered event does no harm.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	if e.Type != "item.deleted" || e.ItemID == "" {
		return nil
	}
	prefix := itemPrefix(e.ItemID)
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, entry := range entries {
			user, err := url.PathUnescape(strings.TrimPrefix(entry.Key, prefix))
			if err != nil {
				return err
			}
			if err := p.remove(ctx, user, e.ItemID); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// remove deletes a user's bookmark on an item and its index entry, counting it down
// only if this call is the one that deleted it. A missing bookmark is not an error.
func (p *Plugin) remove(ctx context.Context, user, itemID string) error {
	kv := p.host.KV()
	e, err := kv.Get(ctx, userKey(user, itemID))
	switch {
	case errors.Is(err, sdk.ErrNotFound):
	case err != nil:
		return err
	default:
		err := kv.CompareAndDelete(ctx, userKey(user, itemID), e.Version)
		switch {
		case errors.Is(err, sdk.ErrConflict): // someone else removed it first
		case err != nil:
			return err
		default:
			if _, err := p.host.Counters().Add(ctx, countName(user), -1); err != nil {
				return err
			}
		}
	}
	return kv.Delete(ctx, itemKey(itemID, user))
}
