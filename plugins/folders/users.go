package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// deleted is the record of a deleted user whose folder waits for the sweep.
type deleted struct {
	DeletedAt time.Time `json:"deleted_at"`
	PurgeAt   time.Time `json:"purge_at"`
}

func deletedKey(user string) string { return "x/" + url.PathEscape(user) }

// HandleEvent handles user.deleted: the user's shares stop at once (the record of the
// deletion alone already stops them), and their folder is removed by the sweep once
// the grace period is over. Redelivery is harmless.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	if e.Type != "user.deleted" {
		return nil
	}
	var payload struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(e.Payload, &payload); err != nil || payload.UserID == "" {
		p.log.Warn("user.deleted without a user id", "event_id", e.ID)
		return nil
	}
	user := payload.UserID
	at := e.Time.UTC()
	if at.IsZero() {
		at = p.now().UTC()
	}
	data, err := json.Marshal(deleted{DeletedAt: at, PurgeAt: at.Add(p.settings.grace)})
	if err != nil {
		return err
	}
	if _, err := p.host.KV().CAS(ctx, deletedKey(user), data, 0); err != nil && !errors.Is(err, sdk.ErrConflict) {
		return err
	}
	for _, kind := range []string{kindFolder, kindFile} {
		ids, err := p.ownedIDs(ctx, kind, user)
		if err != nil {
			return err
		}
		if err := p.unshareAll(ctx, ids); err != nil {
			return err
		}
	}
	// What was shared with them is no use to anyone now.
	return p.deleteAll(ctx, granteePrefix("user:"+user))
}

// unshareAll stops the shares of the nodes of ids that have one, reading their shares
// in batches.
func (p *Plugin) unshareAll(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += sdk.MaxBatch {
		batch := ids[start:min(start+sdk.MaxBatch, len(ids))]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = shareKey(id)
		}
		found, err := p.host.KV().BatchGet(ctx, keys)
		if err != nil {
			return err
		}
		for i, id := range batch {
			if _, ok := found[keys[i]]; ok {
				if err := p.unshare(ctx, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deleteAll deletes every KV entry with prefix.
func (p *Plugin) deleteAll(ctx context.Context, prefix string) error {
	entries, err := p.listAll(ctx, prefix)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := p.host.KV().Delete(ctx, e.Key); err != nil {
			return err
		}
	}
	return nil
}

// sweepLoop sweeps now and then every sweep interval, for as long as the process
// runs.
func (p *Plugin) sweepLoop(ctx context.Context) {
	t := time.NewTicker(p.settings.sweepEvery)
	defer t.Stop()
	for {
		if err := p.sweep(ctx); err != nil {
			p.log.Warn("sweep of deleted users' folders", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep removes the folders of deleted users whose grace period is over. Every
// replica's process sweeps; removing is idempotent.
func (p *Plugin) sweep(ctx context.Context) error {
	entries, err := p.listAll(ctx, "x/")
	if err != nil {
		return err
	}
	now := p.now()
	for _, e := range entries {
		var d deleted
		if err := json.Unmarshal(e.Value, &d); err != nil {
			return err
		}
		if now.Before(d.PurgeAt) {
			continue
		}
		user, err := url.PathUnescape(strings.TrimPrefix(e.Key, "x/"))
		if err != nil {
			return err
		}
		if err := p.purge(ctx, user); err != nil {
			return err
		}
		if err := p.host.KV().CompareAndDelete(ctx, e.Key, e.Version); err != nil && !errors.Is(err, sdk.ErrConflict) {
			return err
		}
		p.log.Info("removed a deleted user's folder", "user_id", user)
	}
	return nil
}

// purge removes everything a user kept: their folders (with what is in them), any
// file or folder an interrupted removal left outside the tree, and their counters.
func (p *Plugin) purge(ctx context.Context, user string) error {
	for _, kind := range []string{kindFile, kindFolder} {
		ids, err := p.ownedIDs(ctx, kind, user)
		if err != nil {
			return err
		}
		nodes, err := p.loadMany(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if n, ok := nodes[id]; ok && n.Owner == user {
				if err := p.remove(ctx, n); err != nil && !errors.Is(err, errNoNode) {
					return err
				}
			}
		}
		if err := p.deleteAll(ctx, indexPrefix(kind, user)); err != nil {
			return err
		}
	}
	if err := p.deleteAll(ctx, "c/"+url.PathEscape(user)+"/"); err != nil {
		return err
	}
	counts, err := p.host.Counters().BatchGet(ctx, []string{usedCounter(user), foldersCounter(user)})
	if err != nil {
		return err
	}
	for name, v := range counts {
		if v != 0 {
			if _, err := p.host.Counters().Add(ctx, name, -v); err != nil {
				return err
			}
		}
	}
	return nil
}
