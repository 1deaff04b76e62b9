package plugintest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

func (s *service) ItemRegister(_ context.Context, call string, it sdk.NewItem) (id string, err error) {
	err = s.do(call, func(a actor) error {
		if it.SpaceID == "" && len(it.Restricted) == 0 {
			return fmt.Errorf("%w: an item outside spaces needs a restriction", sdk.ErrInvalid)
		}
		now := s.h.now()
		n := &item{Item: Item{Item: sdk.Item{
			ID: s.h.next("item"), Kind: it.Kind, SpaceID: it.SpaceID, Owner: s.h.plugin, AuthorID: a.name(s.h.plugin),
			Title: it.Title, Body: it.Body, Restricted: slices.Clone(it.Restricted), CreatedAt: now, UpdatedAt: now,
		}, Public: len(it.Restricted) == 0}, grants: make(map[string]map[string]bool)}
		s.h.items[n.ID] = n
		id = n.ID
		return nil
	})
	return id, err
}

// own returns the plugin's item if a may do action on it: sdk.ErrNotFound if it is
// missing, not the plugin's or not readable, sdk.ErrForbidden if only readable. The
// caller holds mu.
func (s *service) own(a actor, action, id string) (*item, error) {
	it, ok := s.h.items[id]
	if !ok || it.Owner != s.h.plugin || !s.h.may(a, "read", it) {
		return nil, fmt.Errorf("item %q: %w", id, sdk.ErrNotFound)
	}
	if !s.h.may(a, action, it) {
		return nil, fmt.Errorf("%s item %q: %w", action, id, sdk.ErrForbidden)
	}
	return it, nil
}

func (s *service) ItemUpdate(_ context.Context, call, id string, u sdk.ItemUpdate) error {
	return s.do(call, func(a actor) error {
		it, err := s.own(a, "edit", id)
		if err != nil {
			return err
		}
		if it.SpaceID == "" && len(u.Restricted) == 0 {
			return fmt.Errorf("%w: an item outside spaces keeps a restriction", sdk.ErrInvalid)
		}
		it.Title, it.Body, it.Restricted, it.UpdatedAt = u.Title, u.Body, slices.Clone(u.Restricted), s.h.now()
		it.Public = len(u.Restricted) == 0
		return nil
	})
}

func (s *service) ItemDelete(_ context.Context, call, id string) error {
	return s.do(call, func(a actor) error {
		if _, err := s.own(a, "delete", id); err != nil {
			return err
		}
		s.h.publish(a, "item.deleted", id, nil)
		delete(s.h.items, id)
		return nil
	})
}

func (s *service) ItemGet(_ context.Context, call, id string) (out sdk.Item, err error) {
	err = s.do(call, func(a actor) error {
		it, ok := s.h.items[id]
		if !ok || !s.h.may(a, "read", it) {
			return fmt.Errorf("item %q: %w", id, sdk.ErrNotFound)
		}
		out = it.Item.Item
		return nil
	})
	return out, err
}

func (s *service) ItemSearch(_ context.Context, call string, q sdk.ItemQuery) (out []sdk.Item, err error) {
	err = s.do(call, func(a actor) error {
		text := strings.ToLower(q.Query)
		for _, it := range s.h.items {
			if (q.SpaceID != "" && it.SpaceID != q.SpaceID) || (q.Kind != "" && it.Kind != q.Kind) || !s.h.may(a, "read", it) {
				continue
			}
			if strings.Contains(strings.ToLower(it.Title+"\n"+it.Body), text) {
				out = append(out, it.Item.Item)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(x, y sdk.Item) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), cmp.Compare(x.ID, y.ID))
	})
	return out[:min(len(out), q.Limit)], err
}
