package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pleinhq/plein/sdk"
)

// Ranked is an item of a space's ranking.
type Ranked struct {
	ItemID string `json:"item_id"`
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	Summary
}

// ranked is a candidate of the ranking before the reader's checks.
type ranked struct {
	id     string
	score  int64
	status Status
}

// top ranks the items of ?space= (optionally of one ?status=) by score, highest
// first, then by id; a page at a time (?limit=, ?cursor=), only items the acting user
// may read. A space they may not read, or that does not exist, ranks nothing.
//
// The ranking is computed per request from the space's index and its counters (two
// host calls per thousand items), which suits idea boards of thousands of ideas.
func (p *Plugin) top(w http.ResponseWriter, r *http.Request) {
	user, q, ok := request(w, r, "space", "status", "limit", "cursor")
	if !ok {
		return
	}
	space, filter := q["space"], Status(q["status"])
	if space == "" || len(space) > maxSpaceID {
		invalid(w, "space is required: the id of a space")
		return
	}
	if filter != "" && !filter.valid() {
		invalid(w, `status must be "open", "planned", "done" or "declined"`)
		return
	}
	limit, ok := limitOf(w, q)
	if !ok {
		return
	}
	after, ok := parseCursor(q["cursor"])
	if !ok {
		invalid(w, "cursor is not one this route gave")
		return
	}
	ctx := r.Context()
	all, err := p.ranking(ctx, space)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	all = slices.DeleteFunc(all, func(c ranked) bool { return filter != "" && c.status != filter })
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(all, *after, compareRanked)
		if start < len(all) && compareRanked(all[start], *after) == 0 {
			start++
		}
	}
	page, more, err := p.readable(ctx, all[start:], limit)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	out := struct {
		Items      []Ranked `json:"items"`
		NextCursor *string  `json:"next_cursor"`
	}{Items: page}
	if err := p.fillPage(ctx, user, out.Items); err != nil {
		p.failed(w, r, err)
		return
	}
	if more && len(page) > 0 {
		last := page[len(page)-1]
		c := strconv.FormatInt(last.Score, 10) + ":" + last.ItemID
		out.NextCursor = &c
	}
	_ = sdk.WriteJSON(w, http.StatusOK, out)
}

// compareRanked orders the ranking: score, highest first, then id.
func compareRanked(a, b ranked) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// parseCursor reads "<score>:<item id>"; "" is the first page (nil).
func parseCursor(s string) (*ranked, bool) {
	if s == "" {
		return nil, true
	}
	score, id, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(score, 10, 64)
	if !ok || err != nil || id == "" || len(s) > maxCursor {
		return nil, false
	}
	return &ranked{id: id, score: n}, true
}

// ranking returns every ranked item of the space with its score and status, in
// ranking order.
func (p *Plugin) ranking(ctx context.Context, space string) ([]ranked, error) {
	prefix := rankPrefix(space)
	var all []ranked
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return nil, err
		}
		chunk := make([]ranked, len(entries))
		scores, statuses := make([]string, len(entries)), make([]string, len(entries))
		for i, e := range entries {
			id, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", e.Key, err)
			}
			chunk[i].id, scores[i], statuses[i] = id, scoreName(id), statusKey(id)
		}
		counts, err := p.host.Counters().BatchGet(ctx, scores)
		if err != nil {
			return nil, err
		}
		got, err := p.host.KV().BatchGet(ctx, statuses)
		if err != nil {
			return nil, err
		}
		for i := range chunk {
			chunk[i].score = counts[scores[i]]
			if chunk[i].status, err = statusOf(got[statuses[i]]); err != nil {
				return nil, err
			}
		}
		all = append(all, chunk...)
		if next == "" {
			break
		}
		after = next
	}
	slices.SortFunc(all, compareRanked)
	return all, nil
}

// readable returns the first limit candidates the acting user may read, as page
// entries, and whether candidates are left after them. It reads them as the user,
// limit at a time, at once.
func (p *Plugin) readable(ctx context.Context, candidates []ranked, limit int) ([]Ranked, bool, error) {
	page := make([]Ranked, 0, limit)
	for len(candidates) > 0 && len(page) < limit {
		batch := candidates[:min(limit-len(page), len(candidates))]
		candidates = candidates[len(batch):]
		items := make([]*sdk.Item, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, c := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				it, err := p.host.Items().Get(ctx, c.id)
				if err == nil {
					items[i] = &it
				} else if !errors.Is(err, sdk.ErrNotFound) {
					errs[i] = err
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, false, err
		}
		for i, it := range items {
			if it != nil {
				page = append(page, Ranked{ItemID: it.ID, Kind: it.Kind, Title: it.Title,
					Summary: Summary{Score: batch[i].score, Status: batch[i].status}})
			}
		}
	}
	return page, len(candidates) > 0, nil
}

// fillPage adds the up and down votes and the user's own vote to a page.
func (p *Plugin) fillPage(ctx context.Context, user string, page []Ranked) error {
	if len(page) == 0 {
		return nil
	}
	var names, votes []string
	for _, it := range page {
		names = append(names, upName(it.ItemID), downName(it.ItemID))
		votes = append(votes, voteKey(it.ItemID, user))
	}
	counts, err := p.host.Counters().BatchGet(ctx, names)
	if err != nil {
		return err
	}
	got, err := p.host.KV().BatchGet(ctx, votes)
	if err != nil {
		return err
	}
	for i := range page {
		it := &page[i]
		it.Up, it.Down = counts[upName(it.ItemID)], counts[downName(it.ItemID)]
		if e, ok := got[voteKey(it.ItemID, user)]; ok {
			var v int64
			if err := json.Unmarshal(e.Value, &v); err != nil {
				return err
			}
			it.MyVote = &v
		}
	}
	return nil
}
