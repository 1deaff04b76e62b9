package content

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pleinhq/plein/core/store"
)

// FeedQuery narrows and pages the feed. Before* is the cursor: the last item seen.
type FeedQuery struct {
	Space         string
	Kind          string
	Tag           string
	Limit         int
	BeforeCreated int64
	BeforeID      string
}

// Feed returns the newest items the scope may read, newest first. Paging by the last
// item seen (not by offset) keeps pages exact while items are added.
func (s *Service) Feed(ctx context.Context, sc Scope, fq FeedQuery) ([]Item, bool, error) {
	// The page's ids first, then their columns: SQLite sorted whole rows (bodies and all)
	// of every readable item, 100 ms for the first page at 100,000 items instead of 0.4.
	q := &sqlq{db: s.db}
	q.add(`SELECT `, itemColumns, ` FROM (SELECT i.id FROM items i WHERE 1 = 1`)
	q.readable(sc)
	if fq.Space != "" {
		q.add(` AND i.space_id = `, q.arg(fq.Space))
	}
	if fq.Kind != "" {
		q.add(` AND i.kind = `, q.arg(fq.Kind))
	}
	if fq.Tag != "" {
		q.add(` AND EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.tag = `, q.arg(strings.ToLower(fq.Tag)), `)`)
	}
	if fq.BeforeID != "" {
		// The first bound is implied by the second; it lets the index start at the cursor
		// instead of filtering every newer item.
		t := q.arg(fq.BeforeCreated)
		q.add(` AND i.created_at <= `, t, ` AND (i.created_at < `, t, ` OR (i.created_at = `, t, ` AND i.id < `, q.arg(fq.BeforeID), `))`)
	}
	q.add(` ORDER BY i.created_at DESC, i.id DESC LIMIT `, limit(fq.Limit+1), `) page JOIN items i ON i.id = page.id`, itemJoins,
		` ORDER BY i.created_at DESC, i.id DESC`)
	items, err := s.queryItems(ctx, q)
	if err != nil {
		return nil, false, wrap("feed", err)
	}
	more := len(items) > fq.Limit
	if more {
		items = items[:fq.Limit]
	}
	if err := s.attach(ctx, &sc, items); err != nil {
		return nil, false, err
	}
	return items, more, nil
}

// queryItems runs a query for whole items through a prepared statement: the texts
// of the feed's and search's queries vary with the filters' shape and the page
// size only (values are parameters), and parsing the feed's took SQLite longer than
// running it.
func (s *Service) queryItems(ctx context.Context, q *sqlq) ([]Item, error) {
	rows, err := s.db.QueryCached(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// SearchQuery is a search. After* is the cursor: the rank and id of the last hit seen.
type SearchQuery struct {
	Q         string
	Space     string
	Kind      string
	Limit     int
	AfterRank *float64
	AfterID   string
}

// Hit is an item that matched, with a snippet of where and the ranges of the matched
// words in the snippet (in characters), so clients highlight without trusting markup.
type Hit struct {
	Item
	Snippet    string   `json:"snippet"`
	Highlights [][2]int `json:"highlights"`
	Rank       float64  `json:"rank"`
}

// Search returns the items the scope may read that match the query, best first. The
// permission filter is part of the SQL query. It returns an Invalid fault for a query
// without words.
func (s *Service) Search(ctx context.Context, sc Scope, sq SearchQuery) ([]Hit, bool, error) {
	parsed, err := parseQuery(sq.Q)
	if err != nil {
		return nil, false, err
	}
	// Step 1: the page of matching ids and their ranks, filtered and ordered in SQL.
	q := &sqlq{db: s.db}
	if s.db.Dialect() == store.Postgres {
		q.add(`SELECT id, rank FROM (SELECT i.id, ts_rank_cd(i.search, websearch_to_tsquery(`, q.arg(s.lang), `::regconfig, `,
			q.arg(parsed.raw), `), 1)::float8 AS rank FROM items i WHERE i.search @@ websearch_to_tsquery($1::regconfig, $2)`)
	} else {
		q.add(`SELECT id, rank FROM (SELECT i.id, -bm25(items_fts, 10.0, 4.0, 1.0) AS rank FROM items_fts
			JOIN items i ON i.seq = items_fts.rowid WHERE items_fts MATCH `, q.arg(parsed.fts5()))
	}
	q.readable(sc)
	if sq.Space != "" {
		q.add(` AND i.space_id = `, q.arg(sq.Space))
	}
	if sq.Kind != "" {
		q.add(` AND i.kind = `, q.arg(sq.Kind))
	}
	q.add(`) hits`)
	if sq.AfterRank != nil {
		r := q.arg(*sq.AfterRank)
		q.add(` WHERE rank < `, r, ` OR (rank = `, r, ` AND id < `, q.arg(sq.AfterID), `)`)
	}
	q.add(` ORDER BY rank DESC, id DESC LIMIT `, limit(sq.Limit+1))
	ids, ranks, err := s.matches(ctx, q)
	if err != nil {
		return nil, false, wrap("search", err)
	}
	more := len(ids) > sq.Limit
	if more {
		ids = ids[:sq.Limit]
	}
	if len(ids) == 0 {
		return []Hit{}, false, nil
	}
	// Step 2: the items and their snippets, for this page only.
	snippets, err := s.snippets(ctx, parsed, ids)
	if err != nil {
		return nil, false, wrap("search snippets", err)
	}
	iq := &sqlq{db: s.db}
	iq.add(`SELECT `, itemColumns, itemFrom, ` WHERE `, iq.in("i.id", ids))
	items, err := s.queryItems(ctx, iq)
	if err != nil {
		return nil, false, wrap("search items", err)
	}
	if err := s.attach(ctx, &sc, items); err != nil {
		return nil, false, err
	}
	byID := map[string]Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	hits := make([]Hit, 0, len(ids))
	for _, id := range ids {
		it, ok := byID[id]
		if !ok {
			continue // deleted between the two steps
		}
		text, ranges := highlight(snippets[id])
		hits = append(hits, Hit{Item: it, Snippet: text, Highlights: ranges, Rank: ranks[id]})
	}
	return hits, more, nil
}

// matches runs a search's first step: ids and ranks. On PostgreSQL it asks for a plan
// made for these values. The driver prepares and caches statements, and after five runs
// PostgreSQL may switch to a generic plan, which cannot tell a word in half the items
// from a rare one: at 100,000 items it took 62 ms where the custom plan takes 27.
func (s *Service) matches(ctx context.Context, q *sqlq) ([]string, map[string]float64, error) {
	var ids []string
	ranks := map[string]float64{}
	read := func(db store.Querier) error {
		rows, err := db.QueryContext(ctx, q.b.String(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var rank float64
			if err := rows.Scan(&id, &rank); err != nil {
				return err
			}
			ids = append(ids, id)
			ranks[id] = rank
		}
		return rows.Err()
	}
	if s.db.Dialect() != store.Postgres {
		return ids, ranks, read(s.db)
	}
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return err
		}
		return read(tx)
	})
	return ids, ranks, err
}

// snippets returns a marked snippet of the best-matching text of each item.
func (s *Service) snippets(ctx context.Context, parsed searchQuery, ids []string) (map[string]string, error) {
	q := &sqlq{db: s.db}
	if s.db.Dialect() == store.Postgres {
		opts := fmt.Sprintf(`StartSel=%s, StopSel=%s, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`, markStart, markEnd)
		q.add(`SELECT i.id, ts_headline(`, q.arg(s.lang), `::regconfig, i.title || E'\n' || i.search_extra || E'\n' || left(i.body, 20000) || E'\n' || left(i.comments_text, 20000),
			websearch_to_tsquery($1::regconfig, `, q.arg(parsed.raw), `), `, q.arg(opts), `) FROM items i WHERE `, q.in("i.id", ids))
	} else {
		// CROSS JOIN keeps SQLite from starting at the full-text side, which walked every
		// match of the query (half the items, for a common word) to find this page's.
		q.add(`SELECT i.id, snippet(items_fts, -1, char(1), char(2), '…', 24) FROM items i CROSS JOIN items_fts
			WHERE items_fts.rowid = i.seq AND items_fts MATCH `, q.arg(parsed.fts5()), ` AND `, q.in("i.id", ids))
	}
	rows, err := s.db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, snip string
		if err := rows.Scan(&id, &snip); err != nil {
			return nil, err
		}
		out[id] = snip
	}
	return out, rows.Err()
}
