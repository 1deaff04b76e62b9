package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
)

// NewItem is what Create needs. Pages may have a parent page and a position among
// their siblings (nil: last).
type NewItem struct {
	Kind     string
	Owner    string // "" means the core
	Title    string
	Body     string
	ParentID *string
	Position *int
	// SearchExtra is more text to find the item by, weighted as its title and never
	// shown: a document's file name, say.
	SearchExtra string
	// Attachments are document ids, checked with CheckAttachable.
	Attachments []string
}

// kindPattern is what a plugin's item kind may look like.
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ValidKind reports whether k could be an item kind.
func ValidKind(k string) bool { return kindPattern.MatchString(k) }

// cleanItem checks a new or edited item's text for its kind. Posts and news need a
// body; pages, news and documents a title.
func cleanItem(kind, title, body string) (string, string, error) {
	max, titleRequired, bodyRequired := MaxPostBody, false, false
	switch kind {
	case KindPage:
		max, titleRequired = MaxPageBody, true
	case KindNews:
		titleRequired, bodyRequired = true, true
	case KindPost:
		bodyRequired = true
	case KindDocument:
		titleRequired = true
	}
	t, err := cleanTitle(title, titleRequired)
	if err != nil {
		return "", "", err
	}
	b, err := cleanBody("body", body, max, bodyRequired)
	if err != nil {
		return "", "", err
	}
	return t, b, nil
}

// Create adds an item to a space, written by author. The caller has checked that the
// author may. It returns Invalid faults for bad input, and for a parent that is not a
// page of the same space.
func (s *Service) Create(ctx context.Context, author, spaceID string, in NewItem) (Item, error) {
	var id string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.CreateTx(ctx, tx, author, spaceID, in)
		return err
	})
	if err != nil {
		return Item{}, err
	}
	return s.get(ctx, s.db, id)
}

// CreateTx is Create inside the caller's transaction, for writers that must add more
// rows with the item atomically. It returns the new item's id. A plugin's item may
// have no space (spaceID ""): nobody reads it until the caller restricts it, in the
// same transaction, to its readers.
func (s *Service) CreateTx(ctx context.Context, tx *sql.Tx, author, spaceID string, in NewItem) (string, error) {
	if in.Owner == "" {
		in.Owner = "core"
	}
	if spaceID == "" && in.Owner == "core" {
		return "", fault.Invalidf("space_id", "the core's items belong to a space")
	}
	if !ValidKind(in.Kind) {
		return "", fault.Invalidf("kind", "not an item kind")
	}
	if in.Kind != KindPage && (in.ParentID != nil || in.Position != nil) {
		return "", fault.Invalidf("parent_id", "only pages have a parent and a position")
	}
	title, body, err := cleanItem(in.Kind, in.Title, in.Body)
	if err != nil {
		return "", err
	}
	id := uid.New()
	now := store.Micros(s.now())
	tags := Tags(body)
	mentioned, err := resolveMentions(ctx, tx, Handles(body))
	if err != nil {
		return "", wrap("create item", err)
	}
	pos := 0
	if in.Kind == KindPage {
		if pos, err = s.placePage(ctx, tx, spaceID, "", in.ParentID, in.Position); err != nil {
			return "", wrap("create item", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, kind, owner, space_id, author_id, parent_id, position, title, body,
		tags, mentions, search_extra, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		id, in.Kind, in.Owner, nullIfEmpty(spaceID), author, in.ParentID, pos, title, body, jsonText(tags), jsonText(mentioned), in.SearchExtra, now); err != nil {
		if store.IsForeignKeyViolation(err) {
			return "", fault.NotFoundf("no such space")
		}
		return "", wrap("create item", err)
	}
	if err := recordTags(ctx, tx, id, tags); err != nil {
		return "", wrap("create item", err)
	}
	if err := recordMentions(ctx, tx, id, id, mentioned, now); err != nil {
		return "", wrap("create item", err)
	}
	if len(in.Attachments) > 0 {
		if err := setAttachments(ctx, tx, id, in.Kind, in.Attachments); err != nil {
			return "", wrap("create item", err)
		}
	}
	return id, wrap("create item", s.reindex(ctx, tx, id))
}

// nullIfEmpty is s, or SQL NULL for "".
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RecordEditTx marks an item edited by editor now, with new search_extra text, inside
// the caller's transaction: a document's new version, say. It returns a NotFound fault
// if the item is gone.
func (s *Service) RecordEditTx(ctx context.Context, tx *sql.Tx, id, editor, searchExtra string) error {
	res, err := tx.ExecContext(ctx, `UPDATE items SET search_extra = $1, updated_at = $2, edited_by = $3 WHERE id = $4`,
		searchExtra, store.Micros(s.now()), editor, id)
	if err != nil {
		return wrap("edit item", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFoundf("no such item")
	}
	return wrap("edit item", s.reindex(ctx, tx, id))
}

// SetTrashedTx moves an item to the trash (at > 0: every read leaves it out) or back
// out of it (at == 0), inside the caller's transaction.
func (s *Service) SetTrashedTx(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	var v any
	if !at.IsZero() {
		v = store.Micros(at)
	}
	s.heads.forget(id) // and the caller again after its commit (ForgetHead)
	res, err := tx.ExecContext(ctx, `UPDATE items SET deleted_at = $1 WHERE id = $2`, v, id)
	if err != nil {
		return wrap("trash item", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFoundf("no such item")
	}
	return nil
}

// wrap adds context to unexpected errors and leaves faults, and nil, as they are.
func wrap(what string, err error) error {
	if err == nil || fault.As(err) != nil {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Get returns an item the scope may read, or a NotFound fault: an item the caller may
// not read does not exist for them.
func (s *Service) Get(ctx context.Context, sc Scope, id string) (Item, error) {
	if !uid.Valid(id) {
		return Item{}, fault.NotFoundf("no such item")
	}
	q := &sqlq{db: s.db}
	q.add(`SELECT `, itemColumns, itemFrom, ` WHERE i.id = `, q.arg(id))
	q.readable(sc)
	// The text depends on the scope's shape only (its spaces are one parameter), so
	// a prepared statement serves every reader.
	rows, err := s.db.QueryCached(ctx, q.b.String(), q.args...)
	if err != nil {
		return Item{}, wrap("get item", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Item{}, wrap("get item", err)
		}
		return Item{}, fault.NotFoundf("no such item")
	}
	it, err := scanItem(rows)
	if err != nil {
		return Item{}, wrap("get item", err)
	}
	_ = rows.Close()
	one := []Item{it}
	err = s.attach(ctx, &sc, one)
	return one[0], err
}

// Head is who an item belongs to: what access checks need, without its text.
type Head struct {
	ID, Kind, Owner, SpaceID, AuthorID string
}

// Head returns the head of an item the scope may read, or a NotFound fault: the
// same rule as Get, in at most two statements whose text never changes, so that
// SQLite prepares them once (Get's text holds the scope's spaces and is parsed anew
// for every reader). Route checks use it.
func (s *Service) Head(ctx context.Context, sc Scope, id string) (Head, error) {
	if !uid.Valid(id) {
		return Head{}, fault.NotFoundf("no such item")
	}
	c, ok := s.heads.get(id)
	if !ok {
		gen := s.heads.generation()
		err := s.db.QueryRowCached(ctx, `SELECT i.kind, i.owner, COALESCE(i.space_id, ''), COALESCE(i.author_id, ''), i.restricted
			FROM items i WHERE i.id = $1 AND i.deleted_at IS NULL`, []any{id}, &c.h.Kind, &c.h.Owner, &c.h.SpaceID, &c.h.AuthorID, &c.restricted)
		if errors.Is(err, sql.ErrNoRows) {
			return Head{}, fault.NotFoundf("no such item")
		}
		if err != nil {
			return Head{}, wrap("item head", err)
		}
		c.h.ID = id
		s.heads.put(id, c, gen)
	}
	h, restricted := c.h, c.restricted
	// As access: a space the scope reads, or no space and a restriction; then an
	// unrestricted item, its author, or a grantee.
	inSpace := restricted && h.SpaceID == ""
	if h.SpaceID != "" {
		inSpace = sc.AllSpaces || slices.Contains(sc.Spaces, h.SpaceID)
	}
	if !inSpace {
		return Head{}, fault.NotFoundf("no such item")
	}
	if !restricted || (sc.UserID != "" && h.AuthorID == sc.UserID) {
		return h, nil
	}
	rows, err := s.db.QueryCached(ctx, `SELECT grantee FROM item_access WHERE item_id = $1`, id)
	if err != nil {
		return Head{}, wrap("item head", err)
	}
	defer rows.Close()
	admits := sc.grantees()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return Head{}, wrap("item head", err)
		}
		if slices.Contains(admits, g) {
			return h, nil
		}
	}
	if err := rows.Err(); err != nil {
		return Head{}, wrap("item head", err)
	}
	return Head{}, fault.NotFoundf("no such item")
}

// Load returns an item whoever reads, in the trash or not, for writers that have
// checked already; a NotFound fault if it does not exist.
func (s *Service) Load(ctx context.Context, id string) (Item, error) { return s.get(ctx, s.db, id) }

// GetTrashed returns an item in the trash that the scope could read were it not
// trashed, or a NotFound fault.
func (s *Service) GetTrashed(ctx context.Context, sc Scope, id string) (Item, error) {
	if !uid.Valid(id) {
		return Item{}, fault.NotFoundf("no such item")
	}
	q := &sqlq{db: s.db}
	q.add(`SELECT `, itemColumns, itemFrom, ` WHERE i.id = `, q.arg(id), ` AND i.deleted_at IS NOT NULL`)
	q.access(sc)
	it, err := scanItem(s.db.QueryRowContext(ctx, q.b.String(), q.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, fault.NotFoundf("no such item")
	}
	return it, wrap("get item", err)
}

// TrashQuery pages a space's trash. Before* is the cursor: the last item seen.
type TrashQuery struct {
	Space         string
	Limit         int
	BeforeDeleted int64
	BeforeID      string
}

// Trash lists the items in a space's trash, most recently deleted first, for callers
// who have checked the reader moderates the space. Each item's DeletedAt is set.
func (s *Service) Trash(ctx context.Context, tq TrashQuery) ([]Item, bool, error) {
	q := &sqlq{db: s.db}
	q.add(`SELECT `, itemColumns, `, i.deleted_at`, itemFrom, ` WHERE i.space_id = `, q.arg(tq.Space), ` AND i.deleted_at IS NOT NULL`)
	if tq.BeforeID != "" {
		t := q.arg(tq.BeforeDeleted)
		q.add(` AND (i.deleted_at < `, t, ` OR (i.deleted_at = `, t, ` AND i.id < `, q.arg(tq.BeforeID), `))`)
	}
	q.add(` ORDER BY i.deleted_at DESC, i.id DESC LIMIT `, limit(tq.Limit+1))
	rows, err := s.db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, false, wrap("trash", err)
	}
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		var deleted int64
		it, err := scanItem(scanPlus{rows, &deleted})
		if err != nil {
			return nil, false, wrap("trash", err)
		}
		at := store.FromMicros(deleted)
		it.DeletedAt = &at
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap("trash", err)
	}
	more := len(items) > tq.Limit
	if more {
		items = items[:tq.Limit]
	}
	return items, more, nil
}

// scanPlus scans a row of item columns followed by more.
type scanPlus struct {
	row  interface{ Scan(...any) error }
	more any
}

func (p scanPlus) Scan(dest ...any) error { return p.row.Scan(append(dest, p.more)...) }

// get reads an item whatever the scope, for writers that have checked already.
func (s *Service) get(ctx context.Context, db store.Querier, id string) (Item, error) {
	it, err := scanItem(db.QueryRowContext(ctx, `SELECT `+itemColumns+itemFrom+` WHERE i.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, fault.NotFoundf("no such item")
	}
	if err != nil {
		return Item{}, wrap("get item", err)
	}
	one := []Item{it}
	err = s.attach(ctx, nil, one)
	return one[0], err
}

// ItemPatch changes an item. Nil fields stay. MoveParent set means "move the page
// under ParentID" (nil: to the top level).
type ItemPatch struct {
	Title      *string
	Body       *string
	Kind       *string // post <-> news
	MoveParent bool
	ParentID   *string
	Position   *int
	// Attachments, when not nil, replace the item's attachments (checked with CheckAttachable).
	Attachments *[]string
}

// Update applies a patch by editor, who the caller has checked may edit the item; ""
// records no editor (a plugin changing its item after its author's account went).
func (s *Service) Update(ctx context.Context, editor string, it Item, p ItemPatch) (Item, error) {
	kind := it.Kind
	if p.Kind != nil && *p.Kind != it.Kind {
		if (it.Kind != KindPost && it.Kind != KindNews) || (*p.Kind != KindPost && *p.Kind != KindNews) {
			return Item{}, fault.Invalidf("kind", `only posts and news change kind, to "post" or "news"`)
		}
		kind = *p.Kind
	}
	if it.Kind != KindPage && (p.MoveParent || p.Position != nil) {
		return Item{}, fault.Invalidf("parent_id", "only pages have a parent and a position")
	}
	title, body := it.Title, it.Body
	if p.Title != nil {
		title = *p.Title
	}
	if p.Body != nil {
		body = *p.Body
	}
	title, body, err := cleanItem(kind, title, body)
	if err != nil {
		return Item{}, err
	}
	textChanged := title != it.Title || body != it.Body || kind != it.Kind
	now := store.Micros(s.now())
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if it.Kind == KindPage && (p.MoveParent || p.Position != nil) {
			parent := it.ParentID
			if p.MoveParent {
				parent = p.ParentID
			}
			pos, err := s.placePage(ctx, tx, it.SpaceID, it.ID, parent, p.Position)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE items SET parent_id = $1, position = $2 WHERE id = $3`, parent, pos, it.ID); err != nil {
				return err
			}
		}
		if p.Attachments != nil {
			if err := setAttachments(ctx, tx, it.ID, it.Kind, *p.Attachments); err != nil {
				return err
			}
		}
		if !textChanged {
			return nil
		}
		mentioned, err := resolveMentions(ctx, tx, Handles(body))
		if err != nil {
			return err
		}
		tags := Tags(body)
		if _, err := tx.ExecContext(ctx, `UPDATE items SET kind = $1, title = $2, body = $3, tags = $4, mentions = $5,
			updated_at = $6, edited_by = $7 WHERE id = $8`, kind, title, body, jsonText(tags), jsonText(mentioned), now, nullIfEmpty(editor), it.ID); err != nil {
			return err
		}
		if err := recordTags(ctx, tx, it.ID, tags); err != nil {
			return err
		}
		if err := recordMentions(ctx, tx, it.ID, it.ID, mentioned, now); err != nil {
			return err
		}
		return s.reindex(ctx, tx, it.ID)
	})
	s.heads.forget(it.ID) // its kind may have changed
	if err != nil {
		return Item{}, wrap("update item", err)
	}
	return s.get(ctx, s.db, it.ID)
}

// Delete removes an item with its comments. A page's children move up to its parent,
// so deleting a page never loses the pages under it.
func (s *Service) Delete(ctx context.Context, it Item) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if it.Kind == KindPage {
			if err := s.lockPages(ctx, tx, it.SpaceID); err != nil {
				return err
			}
			var last int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), -1) FROM items WHERE space_id = $1 AND kind = 'page'
				AND parent_id IS NOT DISTINCT FROM $2`, it.SpaceID, it.ParentID).Scan(&last); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE items SET parent_id = $1, position = position + $2 WHERE parent_id = $3`,
				it.ParentID, last+1, it.ID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM items WHERE id = $1`, it.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFoundf("no such item")
		}
		return nil
	})
	s.heads.forget(it.ID)
	return wrap("delete item", err)
}

// SetAccess restricts an item to the grantees ("user:<id>", "role:<name>") and its
// author; no grantees lifts the restriction.
func (s *Service) SetAccess(ctx context.Context, itemID string, grantees []string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The item first: grants for a missing item would break the foreign key.
		res, err := tx.ExecContext(ctx, `UPDATE items SET restricted = $1 WHERE id = $2`, len(grantees) > 0, itemID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFoundf("no such item")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM item_access WHERE item_id = $1`, itemID); err != nil {
			return err
		}
		for _, g := range grantees {
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_access (item_id, grantee) VALUES ($1, $2) ON CONFLICT DO NOTHING`, itemID, g); err != nil {
				return err
			}
		}
		return nil
	})
	s.heads.forget(itemID)
	return wrap("set item access", err)
}
