package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pleinhq/plein/sdk"
)

// Activity reaches the feed as items. Host.Publish records an event in the core's
// outbox, which only plugins subscribed to its type receive: the feed lists items,
// not events. So besides publishing, the plugin registers a small item of kind
// "activity" where the project lives (its space, or outside spaces for its members),
// authored by the user who acted. A new project needs none: its own item is in the
// feed.

// publish records an event about the project for the plugins that subscribe. The
// change it reports is made already, so a failure is logged, not answered.
func (p *Plugin) publish(ctx context.Context, eventType string, pr Project, payload map[string]any) {
	if err := p.host.Publish(ctx, eventType, pr.ID, payload); err != nil {
		p.log.Error("publish", "type", eventType, "project", pr.ID, "err", err)
	}
}

// announce publishes the event and registers an activity item titled title for the
// feed. A user who may not create content in the project's space (a member who only
// reads it) leaves no activity item; the event is published all the same.
func (p *Plugin) announce(ctx context.Context, pr Project, eventType, title string, payload map[string]any) {
	p.publish(ctx, eventType, pr, payload)
	a := Activity{Title: title, Body: "Project: " + pr.Name}
	id, err := p.host.Items().Register(ctx, sdk.NewItem{Kind: kindActivity, SpaceID: pr.SpaceID, Title: a.Title, Body: a.Body,
		Restricted: pr.grantees()})
	switch {
	case errors.Is(err, sdk.ErrForbidden) || errors.Is(err, sdk.ErrNotFound):
		p.log.Debug("no activity item", "project", pr.ID, "type", eventType, "err", err)
		return
	case err != nil:
		p.log.Error("register an activity item", "project", pr.ID, "type", eventType, "err", err)
		return
	}
	a.ItemID = id
	if err := p.put(ctx, refKey(id, pr.ID), ref{Kind: refActivity}); err != nil {
		p.log.Error("index an activity item", "project", pr.ID, "item", id, "err", err)
		return
	}
	if err := p.put(ctx, activityKey(pr.ID, id), a); err != nil {
		p.log.Error("index an activity item", "project", pr.ID, "item", id, "err", err)
	}
}

// syncItem brings the project's item up to its record: title, body and, outside
// spaces, its members as the restriction. It acts as the plugin, which owns the item
// and has checked the user may make the change. A missing item is fine: its
// deletion reaches the plugin as an event.
func (p *Plugin) syncItem(ctx context.Context, pr Project) error {
	err := p.host.Items().Update(asPlugin(ctx), pr.ID, sdk.ItemUpdate{Title: pr.Name, Body: pr.Description, Restricted: pr.grantees()})
	if err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return fmt.Errorf("update the item of project %s: %w", pr.ID, err)
	}
	return nil
}

// syncReaders gives the project's item and activity items the project's members as
// their readers, after a change of members of a project outside spaces (in a space
// they are the space's readers, whoever the members are).
func (p *Plugin) syncReaders(ctx context.Context, pr Project) error {
	if pr.SpaceID != "" {
		return nil
	}
	if err := p.syncItem(ctx, pr); err != nil {
		return err
	}
	return p.each(ctx, activityPrefix(pr.ID), func(e sdk.Entry) error {
		var a Activity
		if err := decode(e, &a); err != nil {
			return err
		}
		err := p.host.Items().Update(asPlugin(ctx), a.ItemID, sdk.ItemUpdate{Title: a.Title, Body: a.Body, Restricted: pr.grantees()})
		if err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("update activity item %s: %w", a.ItemID, err)
		}
		return nil
	})
}
