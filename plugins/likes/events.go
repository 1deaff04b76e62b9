package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// HandleEvent removes the likes of a deleted item or of a deleted user. It acts as
// the plugin and is idempotent: a redelivered event finds less to do.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	switch e.Type {
	case "item.deleted":
		if e.ItemID == "" {
			return nil
		}
		return p.forgetItem(ctx, e.ItemID)
	case "user.deleted":
		var payload struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(e.Payload, &payload); err != nil || payload.UserID == "" {
			p.log.Warn("user.deleted without a user id", "event", e.ID, "err", err)
			return nil
		}
		return p.forgetUser(ctx, payload.UserID)
	}
	return nil
}

// cleanupPage is how many likes one cleanup transaction removes: two keys each.
const cleanupPage = sdk.MaxBatch/2 - 1

// forgetItem deletes every like of an item, a page at a time, and its count with the
// last page.
func (p *Plugin) forgetItem(ctx context.Context, item string) error {
	prefix := likePrefix(item)
	for {
		entries, next, err := p.host.KV().List(ctx, prefix, "", cleanupPage)
		if err != nil {
			return err
		}
		txn := sdk.Txn{Delete: make([]string, 0, 2*len(entries))}
		for _, e := range entries {
			user, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
			if err != nil {
				return fmt.Errorf("like key %q: %w", e.Key, err)
			}
			txn.Delete = append(txn.Delete, e.Key, userKey(user, item))
		}
		if next == "" {
			txn.DeleteCounters = []string{countName(item)}
		}
		if _, err := p.host.Txn(ctx, txn); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
	}
}

// forgetUser takes back every like of a user, counting each item down.
func (p *Plugin) forgetUser(ctx context.Context, user string) error {
	prefix := userPrefix(user)
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			item, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
			if err != nil {
				return fmt.Errorf("index key %q: %w", e.Key, err)
			}
			_, err = p.host.Txn(ctx, removeLike(item, user))
			if errors.Is(err, sdk.ErrConflict) { // the like went first: only the index is left
				err = p.host.KV().Delete(ctx, e.Key)
			}
			if err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}
