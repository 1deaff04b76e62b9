package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// Limits of a share.
const (
	maxShareUsers = 100
	maxShareRoles = 20
	maxGranteeID  = 64
)

// granteeKey indexes a node shared with grantee ("user:<id>" or "role:<name>").
func granteeKey(grantee, id string) string { return granteePrefix(grantee) + id }

func granteePrefix(grantee string) string { return "g/" + url.PathEscape(grantee) + "/" }

// grantees returns who a share names, as index entries name them.
func (s share) grantees() []string {
	out := make([]string, 0, len(s.Users)+len(s.Roles))
	for _, u := range s.Users {
		out = append(out, "user:"+u)
	}
	for _, r := range s.Roles {
		out = append(out, "role:"+r)
	}
	return out
}

// ShareView is a node's share as the API answers it.
type ShareView struct {
	Users     []string   `json:"users"`
	Roles     []string   `json:"roles"`
	ExpiresAt *time.Time `json:"expires_at"`
	// UpdatedAt is null for a node not shared.
	UpdatedAt *time.Time `json:"updated_at"`
}

func (s share) view() ShareView {
	v := ShareView{Users: s.Users, Roles: s.Roles, ExpiresAt: s.ExpiresAt}
	if v.Users == nil {
		v.Users = []string{}
	}
	if v.Roles == nil {
		v.Roles = []string{}
	}
	if !s.UpdatedAt.IsZero() {
		v.UpdatedAt = &s.UpdatedAt
	}
	return v
}

// shareOf reads a node's share; the zero share if it has none (or it expired).
func (p *Plugin) shareOf(ctx context.Context, id string) (share, error) {
	var s share
	e, err := p.host.KV().Get(ctx, shareKey(id))
	if errors.Is(err, sdk.ErrNotFound) {
		return s, nil
	}
	if err == nil {
		err = json.Unmarshal(e.Value, &s)
	}
	return s, err
}

// getShare answers who one of the caller's nodes is shared with.
func (p *Plugin) getShare(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		n, err := p.ownedNode(r.Context(), call, kind, r.PathValue("id"))
		var s share
		if err == nil {
			s, err = p.shareOf(r.Context(), n.ID)
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if s.ExpiresAt != nil && !p.now().Before(*s.ExpiresAt) {
			s = share{}
		}
		_ = sdk.WriteJSON(w, http.StatusOK, s.view())
	}
}

// shareRequest is PUT .../shares: it replaces the node's share.
type shareRequest struct {
	Users     []string   `json:"users"`
	Roles     []string   `json:"roles"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// check returns the share to keep, or "" and what is wrong.
func (req shareRequest) check(owner string, now time.Time) (share, string) {
	s := share{Users: unique(req.Users), Roles: unique(req.Roles), UpdatedAt: now}
	switch {
	case len(s.Users)+len(s.Roles) == 0:
		return s, "share with at least one user or role; DELETE the share to stop sharing"
	case len(s.Users) > maxShareUsers:
		return s, "at most 100 users"
	case len(s.Roles) > maxShareRoles:
		return s, "at most 20 roles"
	case slices.Contains(s.Users, owner):
		return s, "users: the owner always has access"
	case slices.ContainsFunc(append(slices.Clone(s.Users), s.Roles...), badGrantee):
		return s, "users and roles are ids of at most 64 letters, digits, dots, dashes, underscores or @"
	case req.ExpiresAt != nil && !req.ExpiresAt.After(now):
		return s, "expires_at must be in the future"
	}
	if req.ExpiresAt != nil {
		t := req.ExpiresAt.UTC()
		s.ExpiresAt = &t
	}
	return s, ""
}

// unique returns list sorted without repeats.
func unique(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// badGrantee reports whether s cannot be a user id or role name.
func badGrantee(s string) bool {
	if s == "" || len(s) > maxGranteeID || !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r))
	})
}

// putShare shares one of the caller's nodes read-only with users and roles, until
// expires_at if given, replacing any share it had. A folder's share reaches
// everything in it.
func (p *Plugin) putShare(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		n, err := p.ownedNode(ctx, call, kind, r.PathValue("id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		var req shareRequest
		if !readJSON(w, r, &req) {
			return
		}
		s, why := req.check(call.UserID, p.now().UTC())
		if why != "" {
			invalid(w, why)
			return
		}
		if err := p.share(ctx, n.ID, s); err != nil {
			p.fail(w, r, err)
			return
		}
		_ = sdk.WriteJSON(w, http.StatusOK, s.view())
	}
}

// share replaces the share of node id with s. The share is written first, so who
// lost access loses it at once; the index of who was given access follows.
func (p *Plugin) share(ctx context.Context, id string, s share) error {
	old, err := p.shareOf(ctx, id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	kv := p.host.KV()
	put := func(key string, value []byte) error {
		if s.ExpiresAt == nil {
			_, err := kv.Put(ctx, key, value)
			return err
		}
		ttl := s.ExpiresAt.Sub(p.now())
		if ttl <= 0 { // expired while we wrote: nothing to keep
			return kv.Delete(ctx, key)
		}
		_, err := kv.PutTTL(ctx, key, value, ttl)
		return err
	}
	if err := put(shareKey(id), data); err != nil {
		return err
	}
	for _, g := range old.grantees() {
		if !slices.Contains(s.grantees(), g) {
			if err := kv.Delete(ctx, granteeKey(g, id)); err != nil {
				return err
			}
		}
	}
	for _, g := range s.grantees() {
		if err := put(granteeKey(g, id), nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteShare stops sharing one of the caller's nodes, at once: 204, also when it
// was not shared.
func (p *Plugin) deleteShare(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		n, err := p.ownedNode(r.Context(), call, kind, r.PathValue("id"))
		if err == nil {
			err = p.unshare(r.Context(), n.ID)
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// unshare removes a node's share, then its index entries.
func (p *Plugin) unshare(ctx context.Context, id string) error {
	s, err := p.shareOf(ctx, id)
	if err != nil {
		return err
	}
	kv := p.host.KV()
	if err := kv.Delete(ctx, shareKey(id)); err != nil {
		return err
	}
	for _, g := range s.grantees() {
		if err := kv.Delete(ctx, granteeKey(g, id)); err != nil {
			return err
		}
	}
	return nil
}

// Shared is a node shared with the caller, as GET /shared-with-me answers it.
type Shared struct {
	View
	ExpiresAt *time.Time `json:"expires_at"`
}

// sharedWithMe answers the folders and files shared with the caller or one of their
// roles, that have not expired, in id order, a page at a time. What is in a shared
// folder is listed with GET /folders/{id}/items.
func (p *Plugin) sharedWithMe(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r, "limit", "cursor")
	if !ok {
		return
	}
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	if pg.cursor != "" && !validID(pg.cursor) {
		invalid(w, "cursor: not a cursor this list gave out")
		return
	}
	ids, more, err := p.sharedIDs(r.Context(), call, pg.cursor, pg.limit)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	grants, err := p.sharedNodes(r.Context(), call, ids)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	items := make([]Shared, len(grants))
	for i, g := range grants {
		items[i] = Shared{View: viewOf(g.node, call.UserID), ExpiresAt: g.share.ExpiresAt}
	}
	last := ""
	if len(ids) > 0 {
		last = ids[len(ids)-1]
	}
	_ = sdk.WriteJSON(w, http.StatusOK, newList(items, more, last))
}

// sharedIDs returns the first limit ids after the cursor that the index says are
// shared with the caller or one of their roles, and whether there are more. Each
// grantee's entries are in id order, so the first limit of each, merged, hold the
// first limit of all.
func (p *Plugin) sharedIDs(ctx context.Context, call sdk.Call, after string, limit int) ([]string, bool, error) {
	grantees := []string{"user:" + call.UserID}
	for _, r := range call.Roles {
		grantees = append(grantees, "role:"+r)
	}
	var ids []string
	more := false
	for _, g := range grantees {
		prefix := granteePrefix(g)
		from := ""
		if after != "" {
			from = prefix + after
		}
		entries, next, err := p.host.KV().List(ctx, prefix, from, limit)
		if err != nil {
			return nil, false, err
		}
		more = more || next != ""
		for _, e := range entries {
			ids = append(ids, strings.TrimPrefix(e.Key, prefix))
		}
	}
	ids = unique(ids)
	if len(ids) > limit {
		ids, more = ids[:limit], true
	}
	return ids, more, nil
}

// grant is a node shared with the caller, and the share that says so.
type grant struct {
	node  node
	share share
}

// sharedNodes returns the nodes of ids that are shared with the caller now: the
// share itself decides, not the index, which may lag behind it.
func (p *Plugin) sharedNodes(ctx context.Context, call sdk.Call, ids []string) ([]grant, error) {
	nodes, err := p.loadMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, shareKey(id))
		if n, ok := nodes[id]; ok {
			keys = append(keys, deletedKey(n.Owner))
		}
	}
	found, err := p.host.KV().BatchGet(ctx, unique(keys))
	if err != nil {
		return nil, err
	}
	now := p.now()
	var out []grant
	for _, id := range ids {
		n, ok := nodes[id]
		e, shared := found[shareKey(id)]
		_, ownerGone := found[deletedKey(n.Owner)]
		if !ok || !shared || ownerGone || n.Owner == call.UserID {
			continue
		}
		var s share
		if err := json.Unmarshal(e.Value, &s); err != nil {
			return nil, err
		}
		if s.grants(call, now) {
			out = append(out, grant{node: n, share: s})
		}
	}
	return out, nil
}
