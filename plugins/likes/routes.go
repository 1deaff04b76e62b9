package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// State is an item's likes as one user sees them, the shape of the decoration.
type State struct {
	Count int64 `json:"count"`
	Liked bool  `json:"liked"`
}

// Like is a stored like, and a liker as listed.
type Like struct {
	UserID  string    `json:"user_id,omitempty"`
	LikedAt time.Time `json:"liked_at"`
}

// Lists: ?limit= from 1 to maxLimit, defaultLimit when absent.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxCursor    = 256
)

// like likes the item for the acting user: 200 with the item's state, also when they
// already liked it. One host call: the like, its index entry and the count.
func (p *Plugin) like(w http.ResponseWriter, r *http.Request) {
	user, item, ok := target(w, r)
	if !ok {
		return
	}
	value, err := json.Marshal(Like{LikedAt: time.Now().UTC().Truncate(time.Millisecond)})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	res, err := p.host.Txn(r.Context(), sdk.Txn{
		If:  []sdk.Cond{sdk.IfAbsent(likeKey(item, user))},
		Put: []sdk.Put{{Key: likeKey(item, user), Value: value}, {Key: userKey(user, item)}},
		Add: []sdk.Delta{{Name: countName(item), Delta: 1}},
		// A like is worth a fast answer more than surviving a database crash in
		// the second it was made; it is never half made either way.
		Relaxed: true,
	})
	if err != nil && !errors.Is(err, sdk.ErrConflict) { // a conflict: liked already
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, State{Count: res.Counters[countName(item)], Liked: true})
}

// unlike takes the acting user's like back: 200 with the item's state, also when
// there was none. One host call, as like.
func (p *Plugin) unlike(w http.ResponseWriter, r *http.Request) {
	user, item, ok := target(w, r)
	if !ok {
		return
	}
	t := removeLike(item, user)
	t.Relaxed = true // as a like
	res, err := p.host.Txn(r.Context(), t)
	if err != nil && !errors.Is(err, sdk.ErrConflict) { // a conflict: not liked
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, State{Count: res.Counters[countName(item)], Liked: false})
}

// removeLike is the transaction that removes a user's like of an item, if there is
// one, and counts it down.
func removeLike(item, user string) sdk.Txn {
	return sdk.Txn{
		If:     []sdk.Cond{sdk.IfPresent(likeKey(item, user))},
		Delete: []string{likeKey(item, user), userKey(user, item)},
		Add:    []sdk.Delta{{Name: countName(item), Delta: -1}},
	}
}

// state answers the item's likes as the acting user sees them.
func (p *Plugin) state(w http.ResponseWriter, r *http.Request) {
	user, item, ok := target(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	counts, err := p.host.Counters().BatchGet(ctx, []string{countName(item)})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	liked, err := p.host.KV().BatchGet(ctx, []string{likeKey(item, user)})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	_, mine := liked[likeKey(item, user)]
	_ = sdk.WriteJSON(w, http.StatusOK, State{Count: counts[countName(item)], Liked: mine})
}

// likers lists who liked the item, by user id, a page at a time: ?limit= and ?cursor=
// from the previous page's next_cursor.
func (p *Plugin) likers(w http.ResponseWriter, r *http.Request) {
	_, item, ok := target(w, r, "limit", "cursor")
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			invalid(w, "limit must be an integer from 1 to "+strconv.Itoa(maxLimit))
			return
		}
		limit = n
	}
	prefix, after := likePrefix(item), ""
	if c := q.Get("cursor"); c != "" {
		if len(c) > maxCursor || !utf8.ValidString(c) {
			invalid(w, "cursor is not one this route gave")
			return
		}
		after = prefix + url.PathEscape(c)
	}
	entries, next, err := p.host.KV().List(r.Context(), prefix, after, limit)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	page := struct {
		Items      []Like  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}{Items: make([]Like, 0, len(entries))}
	for _, e := range entries {
		var l Like
		user, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
		if err == nil {
			err = json.Unmarshal(e.Value, &l)
		}
		if err != nil {
			p.failed(w, r, err)
			return
		}
		l.UserID = user
		page.Items = append(page.Items, l)
	}
	if next != "" {
		page.NextCursor = &page.Items[len(page.Items)-1].UserID
	}
	_ = sdk.WriteJSON(w, http.StatusOK, page)
}

// target returns the acting user and the item of the path, after refusing a request
// without a user (401) or with a query parameter not in allowed (400).
func target(w http.ResponseWriter, r *http.Request, allowed ...string) (user, item string, ok bool) {
	user = sdk.CallFrom(r.Context()).UserID
	if user == "" {
		_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
		return "", "", false
	}
	for name, values := range r.URL.Query() {
		if !slices.Contains(allowed, name) || len(values) > 1 {
			invalid(w, "unknown or repeated query parameter "+strconv.Quote(name))
			return "", "", false
		}
	}
	return user, r.PathValue("item_id"), true
}

func invalid(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", detail)
}

// failed answers for a failed host call: the sdk sentinels keep their meaning,
// anything else is a 500 whose detail stays in the log.
func (p *Plugin) failed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such item")
	case errors.Is(err, sdk.ErrForbidden):
		_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "")
	case errors.Is(err, sdk.ErrInvalid):
		invalid(w, "the item id is not one Plein makes")
	default:
		p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
		_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}
}
