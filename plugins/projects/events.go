package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// HandleEvent keeps projects in step with the core, acting as the plugin. Each case
// is idempotent, so a redelivered event does no harm:
//   - item.deleted: a project whose item is gone (deleted by a moderator, or with
//     its space) goes too; a deleted document is unlinked; a deleted activity item
//     is forgotten.
//   - user.deleted: the user leaves every project (see removeMember).
//   - space.deleted: the space's projects go, as their items did.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	switch e.Type {
	case "item.deleted":
		return p.itemDeleted(ctx, e.ItemID)
	case "user.deleted":
		var payload struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(e.Payload, &payload); err != nil || !validID(payload.UserID) {
			p.log.Warn("user.deleted without a user id", "event", e.ID)
			return nil
		}
		return p.userDeleted(ctx, payload.UserID)
	case "space.deleted":
		if !validID(e.SpaceID) {
			return nil
		}
		return p.each(ctx, spacePrefix(e.SpaceID), func(entry sdk.Entry) error {
			pid, err := lastSegment(entry.Key)
			if err != nil {
				return err
			}
			if err := p.purgeID(ctx, pid); err != nil {
				return err
			}
			return p.host.KV().Delete(ctx, entry.Key)
		})
	}
	return nil
}

func (p *Plugin) itemDeleted(ctx context.Context, item string) error {
	if !validID(item) {
		return nil
	}
	if err := p.purgeID(ctx, item); err != nil {
		return err
	}
	return p.each(ctx, refPrefix(item), func(e sdk.Entry) error {
		pid, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		var r ref
		if err := decode(e, &r); err != nil {
			return err
		}
		if r.Kind == refDocument {
			return p.unlink(ctx, pid, item)
		}
		if err := p.host.KV().Delete(ctx, activityKey(pid, item)); err != nil {
			return err
		}
		return p.host.KV().Delete(ctx, e.Key)
	})
}

func (p *Plugin) userDeleted(ctx context.Context, user string) error {
	err := p.each(ctx, memberPrefix(user), func(e sdk.Entry) error {
		pid, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		return p.removeMember(ctx, pid, user, true)
	})
	if err != nil {
		return err
	}
	// Tasks whose membership is gone already (an index entry left behind).
	return p.each(ctx, assignPrefix(user), func(e sdk.Entry) error {
		pid, _, _ := strings.Cut(strings.TrimPrefix(e.Key, assignPrefix(user)), "/")
		pid, err := url.PathUnescape(pid)
		if err != nil {
			return err
		}
		tid, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		_, err = p.changeTask(ctx, pid, tid, func(t *Task) error {
			if t.Assignee != user {
				return errUnchanged
			}
			t.Assignee = ""
			return nil
		})
		if err != nil && !isProblem(err, http.StatusNotFound) {
			return err
		}
		return p.host.KV().Delete(ctx, e.Key)
	})
}

// purgeID deletes the project with this id, if there is one.
func (p *Plugin) purgeID(ctx context.Context, pid string) error {
	pr, _, err := p.project(ctx, pid)
	if isProblem(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return p.purge(ctx, pr)
}

// purge deletes a project: its tasks, links, activity items, indexes and item, its
// record last, so a purge cut short is finished by the next one. ctx acts as the
// plugin, which owns the items.
func (p *Plugin) purge(ctx context.Context, pr Project) error {
	kv := p.host.KV()
	err := p.each(ctx, taskPrefix(pr.ID), func(e sdk.Entry) error {
		var t Task
		if err := decode(e, &t); err != nil {
			return err
		}
		if t.Assignee != "" {
			if err := kv.Delete(ctx, assignKey(t.Assignee, pr.ID, t.ID)); err != nil {
				return err
			}
		}
		return kv.Delete(ctx, e.Key)
	})
	if err != nil {
		return err
	}
	if err := p.each(ctx, docPrefix(pr.ID), func(e sdk.Entry) error {
		item, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		return p.unlink(ctx, pr.ID, item)
	}); err != nil {
		return err
	}
	if err := p.each(ctx, activityPrefix(pr.ID), func(e sdk.Entry) error {
		item, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		if err := p.host.Items().Delete(ctx, item); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("delete activity item %s: %w", item, err)
		}
		if err := kv.Delete(ctx, refKey(item, pr.ID)); err != nil {
			return err
		}
		return kv.Delete(ctx, e.Key)
	}); err != nil {
		return err
	}
	if err := p.zeroCounters(ctx, pr.ID); err != nil {
		return err
	}
	for _, m := range pr.Members {
		if err := kv.Delete(ctx, memberKey(m.UserID, pr.ID)); err != nil {
			return err
		}
	}
	if pr.SpaceID != "" {
		if err := kv.Delete(ctx, spaceKey(pr.SpaceID, pr.ID)); err != nil {
			return err
		}
	}
	if err := p.host.Items().Delete(ctx, pr.ID); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return fmt.Errorf("delete the item of project %s: %w", pr.ID, err)
	}
	return kv.Delete(ctx, projectKey(pr.ID))
}

// zeroCounters sets the project's counters back to 0.
func (p *Plugin) zeroCounters(ctx context.Context, pid string) error {
	names := []string{taskCount(pid), taskOrder(pid)}
	values, err := p.host.Counters().BatchGet(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		if v := values[n]; v != 0 {
			if _, err := p.host.Counters().Add(ctx, n, -v); err != nil {
				return err
			}
		}
	}
	return nil
}
