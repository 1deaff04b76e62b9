package bookmarks

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Bookmark is one user's bookmark, as stored and as answered.
type Bookmark struct {
	ItemID    string    `json:"item_id"`
	CreatedAt time.Time `json:"created_at"`
}

// put bookmarks an item the user may read: 201 when new, 200 when it already was.
func (p *Plugin) put(w http.ResponseWriter, r *http.Request) {
	user, ok := actingUser(w, r, nil)
	if !ok {
		return
	}
	ctx, itemID := r.Context(), r.PathValue("item_id")
	// Check as the user, although the host checked the route's permission: the
	// plugin must never store what the user may not see.
	if _, err := p.host.Items().Get(ctx, itemID); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	counts, err := p.host.Counters().BatchGet(ctx, []string{countName(user)})
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	if counts[countName(user)] >= int64(p.settings.MaxPerUser) {
		_ = sdk.WriteProblem(w, http.StatusConflict, "bookmark_limit", "at most "+strconv.Itoa(p.settings.MaxPerUser)+" bookmarks per user")
		return
	}
	// The reverse index first: if we stop halfway, cleanup finds a key too many,
	// never a bookmark it cannot find.
	if _, err := p.host.KV().Put(ctx, itemKey(itemID, user), nil); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	b := Bookmark{ItemID: itemID, CreatedAt: time.Now().UTC()}
	value, err := json.Marshal(b)
	if err == nil {
		_, err = p.host.KV().CAS(ctx, userKey(user, itemID), value, 0)
	}
	switch {
	case errors.Is(err, sdk.ErrConflict):
		existing, err := p.bookmark(r, user, itemID)
		if err != nil {
			p.hostFailed(w, r, err)
			return
		}
		_ = sdk.WriteJSON(w, http.StatusOK, existing)
	case err != nil:
		p.hostFailed(w, r, err)
	default:
		if _, err := p.host.Counters().Add(ctx, countName(user), 1); err != nil {
			p.hostFailed(w, r, err)
			return
		}
		_ = sdk.WriteJSON(w, http.StatusCreated, b)
	}
}

// bookmark reads the user's bookmark on an item.
func (p *Plugin) bookmark(r *http.Request, user, itemID string) (Bookmark, error) {
	var b Bookmark
	e, err := p.host.KV().Get(r.Context(), userKey(user, itemID))
	if err == nil {
		err = json.Unmarshal(e.Value, &b)
	}
	return b, err
}

// delete removes the user's bookmark on an item: 204, also when there was none.
func (p *Plugin) delete(w http.ResponseWriter, r *http.Request) {
	user, ok := actingUser(w, r, nil)
	if !ok {
		return
	}
	if err := p.remove(r.Context(), user, r.PathValue("item_id")); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// limits answers how many bookmarks a user may keep, for a client to show "12 of
// 500". It needs nothing from the host.
func (p *Plugin) limits(w http.ResponseWriter, _ *http.Request) {
	_ = sdk.WriteJSON(w, http.StatusOK, map[string]int{"max_per_user": p.settings.MaxPerUser})
}

// list answers the user's bookmarks in item id order, a page at a time: ?limit= (1
// to 100, default 20) and ?cursor= from the previous page's next_cursor.
func (p *Plugin) list(w http.ResponseWriter, r *http.Request) {
	user, ok := actingUser(w, r, []string{"limit", "cursor"})
	if !ok {
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	prefix, after := userPrefix(user), ""
	if c := r.URL.Query().Get("cursor"); c != "" {
		after = prefix + url.PathEscape(c)
	}
	entries, next, err := p.host.KV().List(r.Context(), prefix, after, limit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	page := struct {
		Items      []Bookmark `json:"items"`
		NextCursor *string    `json:"next_cursor"`
	}{Items: make([]Bookmark, 0, len(entries))}
	for _, e := range entries {
		var b Bookmark
		if err := json.Unmarshal(e.Value, &b); err != nil {
			p.hostFailed(w, r, err)
			return
		}
		page.Items = append(page.Items, b)
	}
	if next != "" {
		cursor := page.Items[len(page.Items)-1].ItemID
		page.NextCursor = &cursor
	}
	_ = sdk.WriteJSON(w, http.StatusOK, page)
}

// actingUser returns the acting user, after refusing a request without one (401) or
// with query parameters not in allowed (400).
func actingUser(w http.ResponseWriter, r *http.Request, allowed []string) (string, bool) {
	user := sdk.CallFrom(r.Context()).UserID
	if user == "" {
		_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
		return "", false
	}
	for name := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", "unknown query parameter "+strconv.Quote(name))
			return "", false
		}
	}
	return user, true
}

// hostFailed answers for a failed host call: the sdk sentinels keep their meaning,
// anything else is a 500 whose detail stays in the log.
func (p *Plugin) hostFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such item")
	case errors.Is(err, sdk.ErrForbidden):
		_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "")
	case errors.Is(err, sdk.ErrInvalid):
		_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", "")
	default:
		p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
		_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}
}

// decodeStrict decodes a JSON object into v, refusing unknown fields.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
