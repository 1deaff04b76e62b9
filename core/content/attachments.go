package content

import (
	"context"
	"database/sql"

	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/uid"
)

// MaxAttachments is the most documents one item carries.
const MaxAttachments = 20

// CheckAttachable returns an Invalid fault unless every id is a document the scope may
// read, listed once, and there are at most MaxAttachments.
func (s *Service) CheckAttachable(ctx context.Context, sc Scope, ids []string) error {
	if len(ids) > MaxAttachments {
		return fault.Invalidf("attachments", "at most %d documents", MaxAttachments)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !uid.Valid(id) || seen[id] {
			return fault.Invalidf("attachments", "document ids, each once")
		}
		seen[id] = true
	}
	if len(ids) == 0 {
		return nil
	}
	q := &sqlq{db: s.db}
	q.add(`SELECT COUNT(*) FROM items i WHERE `, q.in("i.id", ids), ` AND i.kind = `, q.arg(KindDocument))
	q.readable(sc)
	var n int
	if err := s.db.QueryRowContext(ctx, q.b.String(), q.args...).Scan(&n); err != nil {
		return wrap("check attachments", err)
	}
	if n != len(ids) {
		return fault.Invalidf("attachments", "not a document you can read")
	}
	return nil
}

// setAttachments replaces an item's attachments, in order. The caller has checked them
// with CheckAttachable; a document deleted meanwhile is a NotFound fault.
func setAttachments(ctx context.Context, tx *sql.Tx, itemID, kind string, ids []string) error {
	if kind == KindDocument && len(ids) > 0 {
		return fault.Invalidf("attachments", "documents carry no attachments")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_attachments WHERE item_id = $1`, itemID); err != nil {
		return err
	}
	for i, id := range ids {
		res, err := tx.ExecContext(ctx, `INSERT INTO item_attachments (item_id, document_id, position)
			SELECT $1, id, $2 FROM items WHERE id = $3 AND kind = 'document' AND deleted_at IS NULL`, itemID, i, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFoundf("attached document %s is gone", id)
		}
	}
	return nil
}

// attach fills the items' attachments with the documents the scope may read (all of
// them when sc is nil), in one query for the whole list.
func (s *Service) attach(ctx context.Context, sc *Scope, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	var ids []string
	at := make(map[string]int, len(items))
	for n, it := range items {
		if it.attached {
			ids = append(ids, it.ID)
			at[it.ID] = n
		}
	}
	if len(ids) == 0 {
		return nil
	}
	q := &sqlq{db: s.db}
	q.add(`SELECT a.item_id, i.id, i.title, dv.number, dv.filename, dv.size, dv.content_type, dv.sha256
		FROM item_attachments a JOIN items i ON i.id = a.document_id`, docJoins, ` WHERE `, q.in("a.item_id", ids))
	if sc != nil {
		q.readable(*sc)
	} else {
		q.add(` AND i.deleted_at IS NULL`)
	}
	q.add(` ORDER BY a.item_id, a.position`)
	rows, err := s.db.QueryCached(ctx, q.b.String(), q.args...)
	if err != nil {
		return wrap("attachments", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner string
		var a Attachment
		var f DocumentInfo
		if err := rows.Scan(&owner, &a.ID, &a.Title, &f.Version, &f.Filename, &f.Size, &f.ContentType, &f.SHA256); err != nil {
			return wrap("attachments", err)
		}
		a.File = f
		it := &items[at[owner]]
		it.Attachments = append(it.Attachments, a)
	}
	return wrap("attachments", rows.Err())
}
