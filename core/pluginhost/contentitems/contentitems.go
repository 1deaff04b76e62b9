// Package contentitems lets the plugin host keep plugins' items in core/content: it
// adapts *content.Service to pluginhost.Items.
package contentitems

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
)

// Items is pluginhost.Items over core/content.
type Items struct {
	content *content.Service
	db      *store.DB
}

var _ pluginhost.Items = (*Items)(nil)

// New returns the adapter. db is the content service's database: restrictions are
// read from it, and item.deleted is recorded in its events outbox.
func New(c *content.Service, db *store.DB) *Items {
	return &Items{content: c, db: db}
}

// scope is the content scope of a reader.
func scope(r pluginhost.Reader) content.Scope {
	return content.Scope{UserID: r.UserID, Roles: r.Roles, AllSpaces: r.Spaces.All, Spaces: r.Spaces.IDs}
}

// toSDK converts an item; grantees are its restriction's, nil if it has none.
func toSDK(it content.Item, grantees []string) sdk.Item {
	out := sdk.Item{ID: it.ID, Kind: it.Kind, SpaceID: it.SpaceID, Owner: it.Owner, Title: it.Title, Body: it.Body,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if it.Author != nil {
		out.AuthorID = it.Author.ID
	}
	if it.Restricted {
		out.Restricted = grantees
	}
	return out
}

// grantees returns the restrictions of the restricted items among items, by item id.
func (a *Items) grantees(ctx context.Context, items ...content.Item) (map[string][]string, error) {
	var ids []string
	for _, it := range items {
		if it.Restricted {
			ids = append(ids, it.ID)
		}
	}
	g, err := store.GroupByKey(ctx, a.db, `SELECT item_id, grantee FROM item_access WHERE item_id IN (%s) ORDER BY grantee`, ids)
	if err != nil {
		return nil, fmt.Errorf("item restrictions: %w", err)
	}
	return g, nil
}

func (a *Items) one(ctx context.Context, it content.Item, err error) (sdk.Item, error) {
	if err != nil {
		return sdk.Item{}, err
	}
	g, err := a.grantees(ctx, it)
	if err != nil {
		return sdk.Item{}, err
	}
	return toSDK(it, g[it.ID]), nil
}

// Get returns the item if r may read it, else a NotFound fault.
func (a *Items) Get(ctx context.Context, r pluginhost.Reader, id string) (sdk.Item, error) {
	it, err := a.content.Get(ctx, scope(r), id)
	return a.one(ctx, it, err)
}

// Head returns the item's ID, Kind, Owner, SpaceID and AuthorID if r may read it,
// else a NotFound fault.
func (a *Items) Head(ctx context.Context, r pluginhost.Reader, id string) (sdk.Item, error) {
	h, err := a.content.Head(ctx, scope(r), id)
	if err != nil {
		return sdk.Item{}, err
	}
	return sdk.Item{ID: h.ID, Kind: h.Kind, Owner: h.Owner, SpaceID: h.SpaceID, AuthorID: h.AuthorID}, nil
}

// Load returns the item whoever reads it, or a NotFound fault.
func (a *Items) Load(ctx context.Context, id string) (sdk.Item, error) {
	it, err := a.content.Load(ctx, id)
	return a.one(ctx, it, err)
}

// Search returns up to q.Limit items r may read: the newest for an empty query, the
// best matches otherwise. With q.Owner (the plugin in the background) it reads every
// space and keeps that owner's items among one page of results, restricted ones left
// out: core/content has no owner filter yet, so a plugin with many items should keep
// its own index in KV.
func (a *Items) Search(ctx context.Context, r pluginhost.Reader, q pluginhost.ItemQuery) ([]sdk.Item, error) {
	sc, limit := scope(r), q.Limit
	if q.Owner != "" {
		sc, limit = content.Scope{AllSpaces: true}, sdk.MaxSearchLimit
	}
	var found []content.Item
	if strings.TrimSpace(q.Query) == "" {
		items, _, err := a.content.Feed(ctx, sc, content.FeedQuery{Space: q.SpaceID, Kind: q.Kind, Limit: limit})
		if err != nil {
			return nil, err
		}
		found = items
	} else {
		hits, _, err := a.content.Search(ctx, sc, content.SearchQuery{Q: q.Query, Space: q.SpaceID, Kind: q.Kind, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			found = append(found, h.Item)
		}
	}
	if q.Owner != "" {
		found = slices.DeleteFunc(found, func(it content.Item) bool { return it.Owner != q.Owner })
		found = found[:min(len(found), q.Limit)]
	}
	g, err := a.grantees(ctx, found...)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Item, len(found))
	for i, it := range found {
		out[i] = toSDK(it, g[it.ID])
	}
	return out, nil
}

// checkGrantees refuses a restriction that names neither users nor roles.
func checkGrantees(gs []string) error {
	for _, g := range gs {
		kind, name, ok := strings.Cut(g, ":")
		if !ok || name == "" || (kind != "user" && kind != "role") || len(g) > 200 {
			return fault.Invalidf("restricted", `grantees are "user:<id>" or "role:<name>"`)
		}
	}
	return nil
}

// Create adds the item, restricted from the start if it.Restricted is not empty: the
// item and its restriction commit together, so nobody outside it ever sees the item.
func (a *Items) Create(ctx context.Context, owner, author string, it sdk.NewItem) (string, error) {
	if err := checkGrantees(it.Restricted); err != nil {
		return "", err
	}
	var id string
	err := a.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = a.content.CreateTx(ctx, tx, author, it.SpaceID, content.NewItem{Kind: it.Kind, Owner: owner, Title: it.Title, Body: it.Body})
		if err != nil || len(it.Restricted) == 0 {
			return err
		}
		// As content.SetAccess does, inside this transaction.
		if _, err := tx.ExecContext(ctx, `UPDATE items SET restricted = TRUE WHERE id = $1`, id); err != nil {
			return err
		}
		for _, g := range it.Restricted {
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_access (item_id, grantee) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if fault.As(err) != nil {
			return "", err
		}
		return "", fmt.Errorf("register item: %w", err)
	}
	return id, nil
}

// Update replaces the item's title, body and restriction. The restriction changes
// first, so new text never reaches readers the new restriction leaves out. Without
// an editor (the plugin in the background) the item keeps its last editor, or its
// author; with neither (their accounts are gone) it records none.
func (a *Items) Update(ctx context.Context, editor, id string, u sdk.ItemUpdate) error {
	if err := checkGrantees(u.Restricted); err != nil {
		return err
	}
	it, err := a.content.Load(ctx, id)
	if err != nil {
		return err
	}
	if editor == "" {
		switch {
		case it.EditedBy != nil:
			editor = it.EditedBy.ID
		case it.Author != nil:
			editor = it.Author.ID
		}
	}
	if err := a.content.SetAccess(ctx, id, u.Restricted); err != nil {
		return err
	}
	_, err = a.content.Update(ctx, editor, it, content.ItemPatch{Title: &u.Title, Body: &u.Body})
	return err
}

// Delete removes the item. The database records item.deleted in the same transaction
// (a trigger, as for every deletion), and the plugin host's dispatcher delivers it
// within its poll interval.
func (a *Items) Delete(ctx context.Context, _, id string) error {
	it, err := a.content.Load(ctx, id)
	if err != nil {
		return err
	}
	return a.content.Delete(ctx, it)
}
