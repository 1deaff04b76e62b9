package sdk

import (
	"context"
	"time"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Items reads items (core posts, pages, documents and other plugins' objects) as the
// acting user, and registers the plugin's own objects as items so they join the feed
// and search.
type Items struct {
	rpc pb.HostClient
}

// Item is a piece of content as the acting user may see it.
type Item struct {
	ID      string
	Kind    string
	SpaceID string
	// Owner is "core" or the name of the plugin that registered the item.
	Owner    string
	AuthorID string
	Title    string
	Body     string
	// Restricted lists who may read the item ("user:<id>", "role:<name>"); empty
	// means everyone who may read its space.
	Restricted []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewItem is what Register needs to create an item.
type NewItem struct {
	// Kind is the plugin's name for the object, e.g. "question".
	Kind string
	// SpaceID is the space the item belongs to; the acting user must be allowed to
	// create content there. "" puts the item outside every space: then Restricted
	// must not be empty, and only its grantees and its author read it.
	SpaceID string
	Title   string
	// Body is the searchable text.
	Body string
	// Restricted, if not empty, narrows readers to these grantees ("user:<id>",
	// "role:<name>"); the author can always read the item.
	Restricted []string
}

// ItemUpdate replaces an item's title, body and restriction. An item outside spaces
// keeps a restriction: an empty one is ErrInvalid.
type ItemUpdate struct {
	Title      string
	Body       string
	Restricted []string
}

// ItemQuery is a search among the items the acting user may read.
type ItemQuery struct {
	// Query is the search text; "" matches everything.
	Query string
	// SpaceID and Kind, if set, narrow the search.
	SpaceID string
	Kind    string
	// Limit is the most results; 0 means DefaultSearchLimit, at most MaxSearchLimit.
	Limit int
}

// Register creates an item owned by the plugin and authored by the acting user and
// returns its id. It returns ErrForbidden if the user may not create content in the
// space (or in the background, where there is no user), and ErrInvalid for a missing
// kind or title, or for an item outside spaces without a restriction.
func (i Items) Register(ctx context.Context, it NewItem) (string, error) {
	resp, err := i.rpc.ItemRegister(ctx, &pb.ItemRegisterRequest{
		Call: handle(ctx), Kind: it.Kind, SpaceId: it.SpaceID, Title: it.Title, Body: it.Body, Restricted: it.Restricted,
	})
	if err != nil {
		return "", errcode.FromStatus("item register "+it.Kind, err)
	}
	return resp.GetId(), nil
}

// Update replaces the title, body and restriction of an item the plugin owns. It
// returns ErrNotFound if the item is missing or not the plugin's, and ErrForbidden if
// the acting user may not edit it.
func (i Items) Update(ctx context.Context, id string, u ItemUpdate) error {
	_, err := i.rpc.ItemUpdate(ctx, &pb.ItemUpdateRequest{
		Call: handle(ctx), Id: id, Title: u.Title, Body: u.Body, Restricted: u.Restricted,
	})
	return errcode.FromStatus("item update "+id, err)
}

// Delete deletes an item the plugin owns; the host then publishes "item.deleted" so
// every plugin cleans up. It returns ErrNotFound if the item is missing or not the
// plugin's, and ErrForbidden if the acting user may not delete it.
func (i Items) Delete(ctx context.Context, id string) error {
	_, err := i.rpc.ItemDelete(ctx, &pb.ItemDeleteRequest{Call: handle(ctx), Id: id})
	return errcode.FromStatus("item delete "+id, err)
}

// Get returns any item (core or plugin) the acting user may read. It returns
// ErrNotFound both when the item is missing and when the user may not read it, so a
// plugin cannot reveal what exists.
func (i Items) Get(ctx context.Context, id string) (Item, error) {
	it, err := i.rpc.ItemGet(ctx, &pb.ItemGetRequest{Call: handle(ctx), Id: id})
	if err != nil {
		return Item{}, errcode.FromStatus("item get "+id, err)
	}
	return itemFromProto(it), nil
}

// Search returns the items matching q that the acting user may read, best first. No
// match is an empty slice, not an error.
func (i Items) Search(ctx context.Context, q ItemQuery) ([]Item, error) {
	resp, err := i.rpc.ItemSearch(ctx, &pb.ItemSearchRequest{
		Call: handle(ctx), Query: q.Query, SpaceId: q.SpaceID, Kind: q.Kind, Limit: int32(min(max(q.Limit, 0), MaxSearchLimit)),
	})
	if err != nil {
		return nil, errcode.FromStatus("item search", err)
	}
	out := make([]Item, len(resp.GetItems()))
	for n, it := range resp.GetItems() {
		out[n] = itemFromProto(it)
	}
	return out, nil
}

func itemFromProto(it *pb.Item) Item {
	out := Item{
		ID: it.GetId(), Kind: it.GetKind(), SpaceID: it.GetSpaceId(), Owner: it.GetOwner(), AuthorID: it.GetAuthorId(),
		Title: it.GetTitle(), Body: it.GetBody(), Restricted: it.GetRestricted(),
	}
	if it.GetCreatedAt() != nil {
		out.CreatedAt = it.GetCreatedAt().AsTime()
	}
	if it.GetUpdatedAt() != nil {
		out.UpdatedAt = it.GetUpdatedAt().AsTime()
	}
	return out
}
