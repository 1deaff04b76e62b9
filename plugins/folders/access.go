package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// errOwnerOnly is a change asked by a grantee, who may only read: 403, since they
// know the node exists.
var errOwnerOnly = fmt.Errorf("only the owner may change it: %w", sdk.ErrForbidden)

// share is who a node is shared with, read-only, and until when.
type share struct {
	Users     []string   `json:"users"`
	Roles     []string   `json:"roles"`
	ExpiresAt *time.Time `json:"expires_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func shareKey(id string) string { return "s/" + id }

// grants reports whether the share lets the caller read at now.
func (s share) grants(call sdk.Call, now time.Time) bool {
	if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
		return false
	}
	return slices.Contains(s.Users, call.UserID) || slices.ContainsFunc(s.Roles, call.HasRole)
}

// readable returns the node id of the kind if the caller may read it: they own it,
// or it or a folder holding it is shared with them (or one of their roles) and has
// not expired, and its owner was not deleted. Anything else is errNoNode, so nobody
// learns what exists that they may not read.
func (p *Plugin) readable(ctx context.Context, call sdk.Call, kind, id string) (node, error) {
	n, err := p.load(ctx, id)
	if err != nil {
		return node{}, err
	}
	if n.Kind != kind {
		return node{}, errNoNode
	}
	if n.Owner == call.UserID {
		return n, nil
	}
	ok, err := p.sharedWith(ctx, call, n)
	if err != nil {
		return node{}, err
	}
	if !ok {
		return node{}, errNoNode
	}
	return n, nil
}

// ownedNode returns the node id of the kind if the caller owns it; errOwnerOnly if they
// may only read it, errNoNode if they may not even do that.
func (p *Plugin) ownedNode(ctx context.Context, call sdk.Call, kind, id string) (node, error) {
	n, err := p.readable(ctx, call, kind, id)
	if err != nil {
		return node{}, err
	}
	if n.Owner != call.UserID {
		return node{}, errOwnerOnly
	}
	return n, nil
}

// sharedWith reports whether n, or a folder holding it, is shared with the caller
// now, its owner not deleted.
func (p *Plugin) sharedWith(ctx context.Context, call sdk.Call, n node) (bool, error) {
	ids := []string{n.ID}
	for cur := n; cur.Parent != "" && len(ids) <= maxDepth; {
		parent, err := p.load(ctx, cur.Parent)
		if errors.Is(err, errNoNode) {
			break // being deleted
		}
		if err != nil {
			return false, err
		}
		ids = append(ids, parent.ID)
		cur = parent
	}
	keys := []string{deletedKey(n.Owner)}
	for _, id := range ids {
		keys = append(keys, shareKey(id))
	}
	found, err := p.host.KV().BatchGet(ctx, keys)
	if err != nil {
		return false, err
	}
	if _, gone := found[deletedKey(n.Owner)]; gone {
		return false, nil
	}
	now := p.now()
	for _, id := range ids {
		e, ok := found[shareKey(id)]
		if !ok {
			continue
		}
		var s share
		if err := json.Unmarshal(e.Value, &s); err != nil {
			return false, fmt.Errorf("share of %s: %w", id, err)
		}
		if s.grants(call, now) {
			return true, nil
		}
	}
	return false, nil
}
