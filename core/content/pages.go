package content

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
)

// maxPageDepth bounds how deep the knowledge map nests.
const maxPageDepth = 32

// lockPages makes the transaction the only one changing the space's knowledge map until
// it ends. Without it, two moves on PostgreSQL (read committed) each pass the cycle
// check before the other commits (A under B, B under A), and both pages drop out of
// the tree. SQLite runs one write transaction at a time already.
func (s *Service) lockPages(ctx context.Context, tx *sql.Tx, spaceID string) error {
	if s.db.Dialect() != store.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE`, spaceID)
	return err
}

// placePage checks that parent (nil: the top level) is a page of the space that is
// not self or under it, makes room at position among its children (nil: last), and
// returns the position self gets there. self is "" for a new page.
func (s *Service) placePage(ctx context.Context, tx *sql.Tx, spaceID, self string, parent *string, position *int) (int, error) {
	if position != nil && *position < 0 {
		return 0, fault.Invalidf("position", "must not be negative")
	}
	if err := s.lockPages(ctx, tx, spaceID); err != nil {
		return 0, err
	}
	if parent != nil {
		depth := 0
		for cur := *parent; ; depth++ {
			if cur == self {
				return 0, fault.New(fault.Conflict, "page_cycle", "a page cannot move under itself or one of its own subpages")
			}
			var sp, kind string
			var up sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT COALESCE(space_id, ''), kind, parent_id FROM items WHERE id = $1`, cur).Scan(&sp, &kind, &up)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && (sp != spaceID || kind != KindPage)) {
				return 0, fault.Invalidf("parent_id", "not a page of this space")
			}
			if err != nil {
				return 0, err
			}
			if depth >= maxPageDepth {
				return 0, fault.Invalidf("parent_id", "pages nest at most %d deep", maxPageDepth)
			}
			if !up.Valid {
				break
			}
			cur = up.String
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, position FROM items WHERE space_id = $1 AND kind = 'page'
		AND parent_id IS NOT DISTINCT FROM $2 AND id <> $3 ORDER BY position, id`, spaceID, parent, self)
	if err != nil {
		return 0, err
	}
	type sibling struct {
		id  string
		pos int
	}
	var sibs []sibling
	for rows.Next() {
		var s sibling
		if err := rows.Scan(&s.id, &s.pos); err != nil {
			rows.Close()
			return 0, err
		}
		sibs = append(sibs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	at := len(sibs)
	if position != nil {
		at = min(*position, len(sibs))
	}
	// Renumber the siblings 0, 1, ... leaving a gap at at; only rows that move are written.
	for i, s := range sibs {
		want := i
		if i >= at {
			want = i + 1
		}
		if s.pos != want {
			if _, err := tx.ExecContext(ctx, `UPDATE items SET position = $1 WHERE id = $2`, want, s.id); err != nil {
				return 0, err
			}
		}
	}
	return at, nil
}

// PageNode is a page in its space's knowledge map.
type PageNode struct {
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	ParentID  *string     `json:"parent_id"`
	Position  int         `json:"position"`
	UpdatedAt time.Time   `json:"updated_at"`
	Children  []*PageNode `json:"children"`
}

// PageTree returns the knowledge map of a space as the scope may read it: the top-level
// pages with their subpages, each level in order. Pages under one the scope may not
// read are left out with it.
func (s *Service) PageTree(ctx context.Context, sc Scope, spaceID string) ([]*PageNode, error) {
	q := &sqlq{db: s.db}
	q.add(`SELECT i.id, i.title, i.parent_id, i.position, i.updated_at FROM items i WHERE i.space_id = `, q.arg(spaceID),
		` AND i.kind = 'page'`)
	q.readable(sc)
	rows, err := s.db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, wrap("page tree", err)
	}
	defer rows.Close()
	byID := map[string]*PageNode{}
	var all []*PageNode
	for rows.Next() {
		n := &PageNode{Children: []*PageNode{}}
		var updated int64
		if err := rows.Scan(&n.ID, &n.Title, &n.ParentID, &n.Position, &updated); err != nil {
			return nil, wrap("page tree", err)
		}
		n.UpdatedAt = store.FromMicros(updated)
		byID[n.ID] = n
		all = append(all, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("page tree", err)
	}
	roots := []*PageNode{}
	for _, n := range all {
		if n.ParentID == nil {
			roots = append(roots, n)
		} else if p, ok := byID[*n.ParentID]; ok {
			p.Children = append(p.Children, n)
		}
	}
	order := func(a, b *PageNode) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		return strings.Compare(a.ID, b.ID)
	}
	for _, n := range all {
		slices.SortFunc(n.Children, order)
	}
	slices.SortFunc(roots, order)
	return roots, nil
}
