package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/sdk"
)

// Items through the host API. A user's call reads what the user may read and changes
// what they may change. Background work (no handle) acts as the plugin: it reads and
// changes only the items it owns, and registers none, for there is no user to author
// them.

func (s *hostService) notOwned(id string) error {
	return fmt.Errorf("item %q: %w", id, sdk.ErrNotFound)
}

func (s *hostService) ItemRegister(ctx context.Context, handle string, it sdk.NewItem) (string, error) {
	call, err := s.resolve(handle)
	if err != nil {
		return "", err
	}
	if call == nil {
		return "", fmt.Errorf("%w: background work registers no items: there is no user to author them", sdk.ErrForbidden)
	}
	if err := checkTexts("item", append([]string{it.Kind, it.SpaceID, it.Title, it.Body}, it.Restricted...)); err != nil {
		return "", err
	}
	if slices.Contains(coreKinds, it.Kind) {
		return "", fmt.Errorf("%w: kind %q belongs to the core", sdk.ErrInvalid, it.Kind)
	}
	if it.SpaceID == "" {
		// Outside spaces only the restriction admits readers: without one, nobody
		// would read the item.
		if len(it.Restricted) == 0 {
			return "", fmt.Errorf("%w: an item outside spaces needs a restriction", sdk.ErrInvalid)
		}
		if s.cfg.Spaces() != nil {
			return "", fmt.Errorf("%w: the feature is on in some spaces only: its items belong in one", sdk.ErrForbidden)
		}
	} else {
		if !inScope(s.cfg.Spaces(), it.SpaceID) {
			return "", fmt.Errorf("%w: the feature is not on in space %q", sdk.ErrForbidden, it.SpaceID)
		}
		if err := s.cfg.Authz.CheckCreateItem(call.Principal, it.SpaceID, it.Kind); err != nil {
			return "", sdkError(err)
		}
	}
	id, err := s.cfg.Items.Create(ctx, s.cfg.Plugin, call.Principal.UserID, it)
	if err != nil {
		return "", s.itemError("item register", err)
	}
	return id, nil
}

// itemError maps an Items error for the plugin, logging what is not a fault.
func (s *hostService) itemError(op string, err error) error {
	mapped := sdkError(err)
	for _, sentinel := range []error{sdk.ErrNotFound, sdk.ErrForbidden, sdk.ErrConflict, sdk.ErrInvalid} {
		if errors.Is(mapped, sentinel) {
			return mapped
		}
	}
	return s.internal(op, err)
}

// ownItem returns an item the plugin owns that the caller may act on: the plugin in
// the background; a user who may read it and, for "edit" or "delete", change it. A
// missing item, one of another owner, and one the user may not read are
// sdk.ErrNotFound; one the user may read but not change is sdk.ErrForbidden.
func (s *hostService) ownItem(ctx context.Context, call *Call, action, id string) (sdk.Item, error) {
	if err := checkText("item id", id); err != nil {
		return sdk.Item{}, err
	}
	it, err := s.cfg.Items.Load(ctx, id)
	if err != nil {
		return sdk.Item{}, s.itemError("item load", err)
	}
	if it.Owner != s.cfg.Plugin {
		return sdk.Item{}, s.notOwned(id)
	}
	if call == nil {
		return it, nil
	}
	if _, err := s.cfg.Items.Head(ctx, call.reader(), id); err != nil {
		return sdk.Item{}, s.itemError("item get", err)
	}
	if !itemAllowed(s.cfg.Authz, call.Principal, action, it) {
		return sdk.Item{}, fmt.Errorf("%s item %q: %w", action, id, sdk.ErrForbidden)
	}
	return it, nil
}

func (s *hostService) ItemUpdate(ctx context.Context, handle, id string, u sdk.ItemUpdate) error {
	call, err := s.resolve(handle)
	if err != nil {
		return err
	}
	if err := checkTexts("item", append([]string{u.Title, u.Body}, u.Restricted...)); err != nil {
		return err
	}
	it, err := s.ownItem(ctx, call, "edit", id)
	if err != nil {
		return err
	}
	if it.SpaceID == "" && len(u.Restricted) == 0 {
		return fmt.Errorf("%w: an item outside spaces keeps a restriction", sdk.ErrInvalid)
	}
	editor := ""
	if call != nil {
		editor = call.Principal.UserID
	}
	if err := s.cfg.Items.Update(ctx, editor, id, u); err != nil {
		return s.itemError("item update", err)
	}
	return nil
}

func (s *hostService) ItemDelete(ctx context.Context, handle, id string) error {
	call, err := s.resolve(handle)
	if err != nil {
		return err
	}
	if _, err := s.ownItem(ctx, call, "delete", id); err != nil {
		return err
	}
	if err := s.cfg.Items.Delete(ctx, s.actor(call), id); err != nil {
		return s.itemError("item delete", err)
	}
	return nil
}

// actor names who acts, as events and items record it.
func (s *hostService) actor(call *Call) string {
	if call == nil {
		return "plugin:" + s.cfg.Plugin
	}
	return call.Principal.UserID
}

func (s *hostService) ItemGet(ctx context.Context, handle, id string) (sdk.Item, error) {
	call, err := s.resolve(handle)
	if err != nil {
		return sdk.Item{}, err
	}
	if call == nil {
		return s.ownItem(ctx, nil, "read", id)
	}
	if err := checkText("item id", id); err != nil {
		return sdk.Item{}, err
	}
	it, err := s.cfg.Items.Get(ctx, call.reader(), id)
	if err != nil {
		return sdk.Item{}, s.itemError("item get", err)
	}
	return it, nil
}

func (s *hostService) ItemSearch(ctx context.Context, handle string, q sdk.ItemQuery) ([]sdk.Item, error) {
	call, err := s.resolve(handle)
	if err != nil {
		return nil, err
	}
	if err := checkTexts("query", []string{q.Query, q.SpaceID, q.Kind}); err != nil {
		return nil, err
	}
	iq := ItemQuery{Query: q.Query, SpaceID: q.SpaceID, Kind: q.Kind, Limit: min(max(q.Limit, 1), sdk.MaxSearchLimit)}
	r := Reader{Spaces: authz.SpaceSet{All: true}}
	if call == nil {
		iq.Owner = s.cfg.Plugin // the plugin reads what it owns, wherever it is
	} else {
		r = call.reader()
	}
	items, err := s.cfg.Items.Search(ctx, r, iq)
	if err != nil {
		return nil, s.itemError("item search", err)
	}
	if items == nil {
		items = []sdk.Item{}
	}
	return items, nil
}

func (s *hostService) Authorize(ctx context.Context, handle, action, itemID string) (bool, error) {
	call, err := s.resolve(handle)
	if err != nil {
		return false, err
	}
	if checkText("item id", itemID) != nil || checkText("action", action) != nil {
		return false, nil
	}
	var it sdk.Item
	if call == nil {
		it, err = s.cfg.Items.Load(ctx, itemID)
		if err == nil && it.Owner != s.cfg.Plugin {
			return false, nil // the plugin has rights on its own items only
		}
	} else {
		it, err = s.cfg.Items.Head(ctx, call.reader(), itemID)
	}
	switch {
	case fault.Is(err, fault.NotFound) || errors.Is(err, sdk.ErrNotFound):
		return false, nil
	case err != nil:
		return false, s.itemError("authorize", err)
	case call == nil:
		return true, nil
	}
	return itemAllowed(s.cfg.Authz, call.Principal, action, it), nil
}

func (s *hostService) Publish(ctx context.Context, handle, eventType, itemID string, payload json.RawMessage) error {
	call, err := s.resolve(handle)
	if err != nil {
		return err
	}
	if err := checkTexts("event", []string{eventType, itemID}); err != nil {
		return err
	}
	// Core events ("item.deleted") make other plugins delete data: a plugin
	// publishes only its own.
	if !strings.HasPrefix(eventType, s.cfg.Plugin+".") || len(eventType) == len(s.cfg.Plugin)+1 {
		return fmt.Errorf("%w: event type %q: a plugin publishes only %q events", sdk.ErrForbidden, eventType, s.cfg.Plugin+".*")
	}
	e := sdk.Event{Type: eventType, ItemID: itemID, Actor: s.actor(call), Payload: payload}
	if itemID != "" {
		if it, err := s.cfg.Items.Load(ctx, itemID); err == nil {
			e.SpaceID = it.SpaceID
		}
	}
	if err := s.cfg.Publish(ctx, e); err != nil {
		return s.internal("publish", err)
	}
	return nil
}
