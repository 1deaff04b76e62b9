package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
)

// Comment is a comment on an item, or a reply to one (one level deep).
type Comment struct {
	ID        string    `json:"id"`
	ItemID    string    `json:"item_id"`
	ParentID  *string   `json:"parent_id"`
	Author    *Person   `json:"author"`
	Body      string    `json:"body"`
	Mentions  []string  `json:"mentions"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Edited    bool      `json:"edited"`
}

const commentColumns = `c.id, c.item_id, c.parent_id, c.author_id, COALESCE(u.name, ''), c.body, c.mentions, c.created_at, c.updated_at, c.edited`
const commentFrom = ` FROM comments c LEFT JOIN users u ON u.id = c.author_id`

func scanComment(row interface{ Scan(...any) error }) (Comment, error) {
	var c Comment
	var author sql.NullString
	var name, mentions string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.ItemID, &c.ParentID, &author, &name, &c.Body, &mentions, &created, &updated, &c.Edited); err != nil {
		return Comment{}, err
	}
	if author.Valid {
		c.Author = &Person{author.String, name}
	}
	_ = json.Unmarshal([]byte(mentions), &c.Mentions)
	if c.Mentions == nil {
		c.Mentions = []string{}
	}
	c.CreatedAt, c.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	return c, nil
}

// CommentPage is where a list of comments continues: after this comment.
type CommentPage struct {
	AfterCreated int64
	AfterID      string
	Limit        int
}

// Comments lists an item's comments and replies, oldest first; a reply names its
// comment in parent_id. The caller has checked the item is readable.
func (s *Service) Comments(ctx context.Context, itemID string, pg CommentPage) ([]Comment, bool, error) {
	q := &sqlq{db: s.db}
	q.add(`SELECT `, commentColumns, commentFrom, ` WHERE c.item_id = `, q.arg(itemID))
	if pg.AfterID != "" {
		t := q.arg(pg.AfterCreated)
		q.add(` AND (c.created_at > `, t, ` OR (c.created_at = `, t, ` AND c.id > `, q.arg(pg.AfterID), `))`)
	}
	q.add(` ORDER BY c.created_at, c.id LIMIT `, limit(pg.Limit+1))
	rows, err := s.db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, false, wrap("list comments", err)
	}
	defer rows.Close()
	out := []Comment{}
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, false, wrap("list comments", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap("list comments", err)
	}
	more := len(out) > pg.Limit
	if more {
		out = out[:pg.Limit]
	}
	return out, more, nil
}

// GetComment returns a comment whatever the scope; callers check its item.
func (s *Service) GetComment(ctx context.Context, id string) (Comment, error) {
	if !uid.Valid(id) {
		return Comment{}, fault.NotFoundf("no such comment")
	}
	c, err := scanComment(s.db.QueryRowContext(ctx, `SELECT `+commentColumns+commentFrom+` WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, fault.NotFoundf("no such comment")
	}
	return c, wrap("get comment", err)
}

// AddComment comments on an item, or replies to one of its comments (a reply to a
// reply joins the same thread: replies are one level deep).
func (s *Service) AddComment(ctx context.Context, author, itemID, body string, parentID *string) (Comment, error) {
	body, err := cleanBody("body", body, MaxCommentBody, true)
	if err != nil {
		return Comment{}, err
	}
	id := uid.New()
	now := store.Micros(s.now())
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if parentID != nil {
			var item string
			var up sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT item_id, parent_id FROM comments WHERE id = $1`, *parentID).Scan(&item, &up)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && item != itemID) {
				return fault.Invalidf("parent_id", "not a comment on this item")
			}
			if err != nil {
				return err
			}
			if up.Valid {
				parentID = &up.String
			}
		}
		mentioned, err := resolveMentions(ctx, tx, Handles(body))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO comments (id, item_id, parent_id, author_id, body, mentions, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, itemID, parentID, author, body, jsonText(mentioned), now); err != nil {
			if store.IsForeignKeyViolation(err) {
				return fault.NotFoundf("no such item")
			}
			return err
		}
		if err := recordMentions(ctx, tx, id, itemID, mentioned, now); err != nil {
			return err
		}
		return s.refreshComments(ctx, tx, itemID)
	})
	if err != nil {
		return Comment{}, wrap("add comment", err)
	}
	return s.GetComment(ctx, id)
}

// UpdateComment changes a comment's body; the caller has checked the editor may.
func (s *Service) UpdateComment(ctx context.Context, c Comment, body string) (Comment, error) {
	body, err := cleanBody("body", body, MaxCommentBody, true)
	if err != nil {
		return Comment{}, err
	}
	if body == c.Body {
		return c, nil
	}
	now := store.Micros(s.now())
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		mentioned, err := resolveMentions(ctx, tx, Handles(body))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE comments SET body = $1, mentions = $2, updated_at = $3, edited = TRUE WHERE id = $4`,
			body, jsonText(mentioned), now, c.ID); err != nil {
			return err
		}
		if err := recordMentions(ctx, tx, c.ID, c.ItemID, mentioned, now); err != nil {
			return err
		}
		return s.refreshComments(ctx, tx, c.ItemID)
	})
	if err != nil {
		return Comment{}, wrap("update comment", err)
	}
	return s.GetComment(ctx, c.ID)
}

// DeleteComment removes a comment and its replies.
func (s *Service) DeleteComment(ctx context.Context, c Comment) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE source_id IN (SELECT id FROM comments WHERE id = $1 OR parent_id = $1)`, c.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM comments WHERE parent_id = $1`, c.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM comments WHERE id = $1`, c.ID); err != nil {
			return err
		}
		return s.refreshComments(ctx, tx, c.ItemID)
	})
	return wrap("delete comment", err)
}

// refreshComments recounts an item's comments and rebuilds the comment text its search
// entry holds (the newest first, up to maxCommentsIdx bytes).
func (s *Service) refreshComments(ctx context.Context, tx *sql.Tx, itemID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT body FROM comments WHERE item_id = $1 ORDER BY created_at DESC, id DESC`, itemID)
	if err != nil {
		return err
	}
	var b strings.Builder
	n := 0
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return err
		}
		n++
		if b.Len()+len(body)+1 <= maxCommentsIdx {
			b.WriteString(body)
			b.WriteByte('\n')
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	text := b.String()
	if _, err := tx.ExecContext(ctx, `UPDATE items SET comment_count = $1, comments_text = $2 WHERE id = $3`, n, text, itemID); err != nil {
		return err
	}
	return s.reindex(ctx, tx, itemID)
}
