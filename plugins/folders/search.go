package main

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// Limits of a search.
const (
	maxQuery = 100
	// maxShared bounds how many shared folders and files one search looks through.
	maxShared = 5000
)

// search answers the caller's folders and files, and those shared with them (in
// shared folders too), whose name holds ?q= (ignoring case), by name; ?limit= (1 to
// 100, default 20). Files are not items, so the core's search never finds them: this
// is where their owner and grantees find them.
func (p *Plugin) search(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r, "q", "limit")
	if !ok {
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if q == "" || utf8.RuneCountInString(q) > maxQuery || !utf8.ValidString(q) {
		invalid(w, "q: the text to look for, 1 to 100 characters")
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); r.URL.Query().Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	ctx := r.Context()
	found, err := p.searchOwn(ctx, call.UserID, q)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	shared, err := p.searchShared(ctx, call, q)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	found = append(found, shared...)
	slices.SortFunc(found, func(a, b node) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	found = slices.CompactFunc(found, func(a, b node) bool { return a.ID == b.ID })
	items := make([]View, 0, min(len(found), limit))
	for _, n := range found[:min(len(found), limit)] {
		items = append(items, viewOf(n, call.UserID))
	}
	_ = sdk.WriteJSON(w, http.StatusOK, newList(items, false, ""))
}

// matches reports whether a node's name holds q, which is lower case.
func matches(n node, q string) bool {
	return strings.Contains(strings.ToLower(n.Name), q)
}

// searchOwn returns the user's own folders and files that match q.
func (p *Plugin) searchOwn(ctx context.Context, user, q string) ([]node, error) {
	var out []node
	for _, kind := range []string{kindFolder, kindFile} {
		ids, err := p.ownedIDs(ctx, kind, user)
		if err != nil {
			return nil, err
		}
		nodes, err := p.loadMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if n.Owner == user && matches(n, q) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// searchShared returns what is shared with the caller now, directly or inside a
// shared folder, that matches q, looking at no more than maxShared nodes.
func (p *Plugin) searchShared(ctx context.Context, call sdk.Call, q string) ([]node, error) {
	var roots []grant
	for after := ""; len(roots) < maxShared; {
		ids, more, err := p.sharedIDs(ctx, call, after, 100)
		if err != nil {
			return nil, err
		}
		page, err := p.sharedNodes(ctx, call, ids)
		if err != nil {
			return nil, err
		}
		roots = append(roots, page...)
		if !more || len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
	}
	var out []node
	seen := 0
	var walk func(n node, d int) error
	walk = func(n node, d int) error {
		if seen++; seen > maxShared {
			return nil
		}
		if matches(n, q) {
			out = append(out, n)
		}
		if n.Kind != kindFolder || d >= maxDepth {
			return nil
		}
		entries, err := p.listAll(ctx, childPrefix(n.Owner, n.ID))
		if err != nil {
			return err
		}
		children, err := p.loadMany(ctx, claimedIDs(entries))
		if err != nil {
			return err
		}
		for _, c := range children {
			if c.Parent == n.ID && c.Owner == n.Owner {
				if err := walk(c, d+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, g := range roots {
		if err := walk(g.node, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}
