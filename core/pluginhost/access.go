package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/sdk"
)

// Authorizer is what the plugin host asks of the core's authorization.
// *authz.Authorizer satisfies it as it is.
type Authorizer interface {
	// Readable returns the spaces whose content p may read.
	Readable(p *authz.Principal) authz.SpaceSet
	// Can reports whether p may do act on obj in dom; false on any doubt.
	Can(p *authz.Principal, dom, obj, act string) bool
	// RequireSpace returns nil if p may do act on obj in the space, a NotFound fault
	// if p may not see the space (or it does not exist), else a Forbidden fault.
	RequireSpace(p *authz.Principal, spaceID, obj, act string) error
	// CheckCreateItem returns nil if p may add an item of kind to the space, else a
	// NotFound or Forbidden fault as RequireSpace.
	CheckCreateItem(p *authz.Principal, spaceID, kind string) error
	// CheckEditContent returns nil if p may change or delete an item of authorID in
	// the space, else a Forbidden fault.
	CheckEditContent(p *authz.Principal, spaceID, authorID string) error
}

// Reader is whose eyes an item read uses: a user and the spaces whose content they
// may read. Items implementations filter by it inside their queries.
type Reader struct {
	UserID string
	Roles  []string
	Spaces authz.SpaceSet
}

// ItemQuery is a search among items.
type ItemQuery struct {
	// Query is the search text; "" matches every item, newest first.
	Query   string
	SpaceID string
	Kind    string
	// Owner, if set, keeps the items of that owner ("core" or a plugin's name).
	Owner string
	// Limit is the most results, 1 to sdk.MaxSearchLimit.
	Limit int
}

// Items is the core's item store as the host API uses it. The plugin host decides who
// may do what; Items only stores and filters. Errors are core faults (a NotFound
// fault for a missing item) or errors matching the sdk sentinels; the host maps both
// to the plugin's sdk errors. Package contentitems adapts core/content to it.
type Items interface {
	// Get returns the item if r may read it; a NotFound fault if it is missing or r
	// may not read it.
	Get(ctx context.Context, r Reader, id string) (sdk.Item, error)
	// Head is Get for access checks: the item's ID, Kind, Owner, SpaceID and
	// AuthorID only (no text, no restriction list), at the cost of one query.
	Head(ctx context.Context, r Reader, id string) (sdk.Item, error)
	// Load returns the item whoever reads it, for checks the host makes itself; a
	// NotFound fault if it is missing.
	Load(ctx context.Context, id string) (sdk.Item, error)
	// Search returns up to q.Limit items that r may read and that match q; none is
	// an empty slice.
	Search(ctx context.Context, r Reader, q ItemQuery) ([]sdk.Item, error)
	// Create adds an item owned by owner (a plugin's name) and written by author (a
	// user id) to it.SpaceID, restricted to it.Restricted if not empty, and returns
	// its id. A missing space is a NotFound fault; bad text an Invalid fault.
	Create(ctx context.Context, owner, author string, it sdk.NewItem) (string, error)
	// Update replaces an item's title, body and restriction; editor is the user who
	// edits, or "" for the plugin itself. A missing item is a NotFound fault.
	Update(ctx context.Context, editor, id string, u sdk.ItemUpdate) error
	// Delete removes an item and records "item.deleted" in the events outbox, as
	// every deletion of an item must; actor is the user id or "plugin:<name>". A
	// missing item is a NotFound fault.
	Delete(ctx context.Context, actor, id string) error
}

// Core item kinds a plugin may never create or own: they belong to the core.
var coreKinds = []string{"post", "news", "page", "document"}

// sdkError maps a core fault to the sdk sentinel the plugin sees. Errors that already
// match a sentinel, and context errors, pass unchanged; anything else is internal.
func sdkError(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{sdk.ErrNotFound, sdk.ErrForbidden, sdk.ErrConflict, sdk.ErrInvalid} {
		if errors.Is(err, s) {
			return err
		}
	}
	var sentinel error
	switch fault.KindOf(err) {
	case fault.NotFound:
		sentinel = sdk.ErrNotFound
	case fault.Forbidden, fault.Unauthenticated:
		sentinel = sdk.ErrForbidden
	case fault.Conflict:
		sentinel = sdk.ErrConflict
	case fault.Invalid, fault.TooLarge:
		sentinel = sdk.ErrInvalid
	default:
		return err
	}
	return fmt.Errorf("%w: %v", sentinel, err)
}

// itemAllowed reports whether p may do action on an item p may read: "read" is
// already true; "edit" and "delete" are its author's and its space's moderators';
// any other action is that action on content in the item's space ("moderate",
// "create", ...).
func itemAllowed(az Authorizer, p *authz.Principal, action string, it sdk.Item) bool {
	switch action {
	case "read":
		return true
	case "edit", "delete":
		return az.CheckEditContent(p, it.SpaceID, it.AuthorID) == nil
	default:
		return az.Can(p, authz.Space(it.SpaceID), "content", action)
	}
}

// inScope reports whether the plugin's scope list (nil: everything) holds v.
func inScope(scope []string, v string) bool {
	return scope == nil || slices.Contains(scope, v)
}
