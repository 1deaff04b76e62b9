package scale

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/store"
)

// itemsPerTx is how many items (with their comments and tags) one transaction writes.
const itemsPerTx = 5000

var (
	itemsTable = newTable("items", "id text", "kind text", "owner text", "space_id text", "author_id text", "position bigint",
		"title text", "body text", "comments_text text", "tags text", "mentions text", "comment_count bigint", "restricted bool",
		"created_at bigint", "updated_at bigint")
	itemTagsTable = newTable("item_tags", "item_id text", "tag text")
	commentsTable = newTable("comments", "id text", "item_id text", "author_id text", "body text", "created_at bigint", "updated_at bigint")
)

// seeded is an item as likes need it.
type seeded struct {
	id      string
	space   int   // index in seeder.spaces
	created int64 // microseconds
}

// items writes n posts, news and pages spread over the spaces and the last two years,
// written by the spaces' members, an eighth with comments by their readers. The
// search index follows: SQLite's by trigger, PostgreSQL's by an UPDATE per batch with
// the content service's expression.
func (s *seeder) items(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	w := newWriter(s.rng)
	now := s.Now()
	span := 2 * 365 * 24 * time.Hour
	base, step := now.Add(-span), span/time.Duration(n)
	s.seeded = make([]seeded, 0, n)
	for from := 0; from < n; from += itemsPerTx {
		var items, tags, comments [][]any
		var ids []string
		for i := from; i < min(n, from+itemsPerTx); i++ {
			sp := s.rng.IntN(len(s.spaces))
			space := s.spaces[sp]
			author := pick(s.rng, space.writers, s.admin)
			kind, title := content.KindPost, ""
			switch r := s.rng.IntN(10); {
			case r < 2:
				kind, title = content.KindNews, w.sentence(3+s.rng.IntN(6))
			case r < 3:
				kind, title = content.KindPage, w.sentence(2+s.rng.IntN(4))
			}
			title = strings.TrimSuffix(title, ".")
			body := w.sentence(15 + s.rng.IntN(100))
			if s.rng.IntN(2500) == 0 {
				body += " De " + RareWord + " wordt hersteld."
			}
			id := newID()
			tagList := "[]"
			if s.rng.IntN(6) == 0 {
				t := w.tag()
				body += " #" + t
				tagList = `["` + t + `"]`
				tags = append(tags, []any{id, t})
			}
			created := store.Micros(base.Add(time.Duration(i) * step))
			var commentsText []string
			if s.rng.IntN(8) == 0 {
				for c := range 1 + s.rng.IntN(3) {
					cb := w.sentence(5 + s.rng.IntN(30))
					at := created + int64(c+1)*60_000_000
					comments = append(comments, []any{newID(), id, pick(s.rng, space.readers, s.admin), cb, at, at})
					commentsText = append([]string{cb}, commentsText...) // newest first, as the service keeps it
				}
			}
			items = append(items, []any{id, kind, "core", space.id, author, int64(i), title, body,
				strings.Join(commentsText, "\n"), tagList, "[]", int64(len(commentsText)), false, created, created})
			ids = append(ids, id)
			s.seeded = append(s.seeded, seeded{id: id, space: sp, created: created})
			c := s.content(sp)
			c.Items = append(c.Items, id)
			s.res.Comments += len(commentsText)
		}
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			d := s.DB.Dialect()
			if err := insert(ctx, tx, d, itemsTable, items); err != nil {
				return err
			}
			if err := insert(ctx, tx, d, itemTagsTable, tags); err != nil {
				return err
			}
			if err := insert(ctx, tx, d, commentsTable, comments); err != nil {
				return err
			}
			if d != store.Postgres {
				return nil
			}
			_, err := tx.ExecContext(ctx, `UPDATE items SET search =
				setweight(to_tsvector($1::regconfig, title || ' ' || search_extra), 'A') ||
				setweight(to_tsvector($1::regconfig, body), 'B') ||
				setweight(to_tsvector($1::regconfig, comments_text), 'C') WHERE id = ANY($2::text[])`, s.Language, ids)
			return err
		})
		if err != nil {
			return err
		}
		s.res.Items += len(items)
		if (from/itemsPerTx)%4 == 3 {
			s.progress("  items %s of %s\n", strconv.Itoa(s.res.Items), strconv.Itoa(n))
		}
	}
	return nil
}
