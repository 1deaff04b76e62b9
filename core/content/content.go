// Package content keeps items (posts, news, knowledge-map pages and what plugins
// register) and their comments, and answers the feed and search. Every read takes a
// Scope and filters inside the SQL query, so lists never fetch and then filter.
package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pleinhq/plein/core/store"
)

// The core's item kinds. Plugins register their own.
const (
	KindPost = "post"
	KindNews = "news"
	KindPage = "page"
	// KindDocument items are files; package documents keeps their versions and bytes.
	KindDocument = "document"
)

// Person is an author or editor as items show them.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Item is one piece of content.
type Item struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Owner        string    `json:"owner"` // "core" or the plugin that registered it
	SpaceID      string    `json:"space_id"`
	Author       *Person   `json:"author"` // null once the author's account is deleted
	Title        string    `json:"title"`
	Body         string    `json:"body"`
	ParentID     *string   `json:"parent_id"` // pages: the parent page
	Position     int       `json:"position"`  // pages: the order among siblings
	Tags         []string  `json:"tags"`
	Mentions     []string  `json:"mentions"` // ids of the users @mentioned
	CommentCount int       `json:"comment_count"`
	Restricted   bool      `json:"restricted"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	EditedBy     *Person   `json:"edited_by"`
	// Document is a document item's current file (package documents writes it); nil for
	// other kinds.
	Document *DocumentInfo `json:"document"`
	// Attachments are the documents attached to a post or page that the reader may read.
	Attachments []Attachment   `json:"attachments"`
	Features    map[string]any `json:"features"`
	// DeletedAt is set on items listed from the trash.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`

	// attached: the item has attachments (readable or not). Most have none, and
	// attach asks only for those that do: an item read is one query fewer.
	attached bool
}

// DocumentInfo is what an item shows of a document's current version.
type DocumentInfo struct {
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Version     int    `json:"version"`
}

// Attachment is a document attached to an item.
type Attachment struct {
	ID    string       `json:"id"`
	Title string       `json:"title"`
	File  DocumentInfo `json:"file"`
}

// Scope is who reads: the spaces they may read and what admits them to restricted items.
type Scope struct {
	UserID    string
	Roles     []string
	AllSpaces bool     // every space (admins, managers)
	Spaces    []string // otherwise: the readable spaces
}

// grantees are the item_access entries that admit the scope.
func (sc Scope) grantees() []string {
	g := []string{"user:" + sc.UserID}
	for _, r := range sc.Roles {
		g = append(g, "role:"+r)
	}
	return g
}

// Options tune the service.
type Options struct {
	// Language is the PostgreSQL text search configuration: "dutch", "english", "simple", ...
	// SQLite's index is language-neutral (Unicode words, diacritics folded).
	Language string
}

// Service reads and writes content on the SQL store.
type Service struct {
	db   *store.DB
	lang string
	now  func() time.Time

	heads *headCache
}

// New returns the service.
func New(db *store.DB, opts Options) *Service {
	if opts.Language == "" {
		opts.Language = "simple"
	}
	return &Service{db: db, lang: opts.Language, now: time.Now, heads: newHeadCache()}
}

// Language is the text search configuration in use.
func (s *Service) Language() string { return s.lang }

// CheckLanguage verifies PostgreSQL knows the configured text search language.
func (s *Service) CheckLanguage(ctx context.Context) error {
	if s.db.Dialect() != store.Postgres {
		return nil
	}
	var ok bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = $1)`, s.lang).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no PostgreSQL text search configuration %q", s.lang)
	}
	return nil
}

// sqlq builds a statement and its arguments together.
type sqlq struct {
	db   *store.DB
	b    strings.Builder
	args []any
}

func (q *sqlq) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// limit is a LIMIT's count as a literal. SQLite plans a statement again on every
// run when its LIMIT is a bound parameter (modernc.org/sqlite 1.60: the plan depends
// on the value), which doubles the cost of parsing a feed query; n is an int, so the
// literal is safe.
func limit(n int) string { return strconv.Itoa(n) }

func (q *sqlq) in(col string, ids []string) string {
	cond, a := q.db.InList(col, len(q.args)+1, ids)
	q.args = append(q.args, a)
	return cond
}

func (q *sqlq) add(parts ...string) {
	for _, p := range parts {
		q.b.WriteString(p)
	}
}

// readable adds the conditions that keep to items the scope may read, for items aliased i.
func (q *sqlq) readable(sc Scope) {
	q.add(" AND i.deleted_at IS NULL")
	q.access(sc)
}

// access adds the conditions of readable but the trash: the scope's spaces, and the
// item's restriction. An item outside spaces (a plugin's, space_id NULL) is read
// through its restriction alone, and by nobody without one.
func (q *sqlq) access(sc Scope) {
	switch {
	case sc.AllSpaces:
		q.add(" AND (i.space_id IS NOT NULL OR i.restricted)")
	case len(sc.Spaces) == 0:
		q.add(" AND i.space_id IS NULL AND i.restricted")
	default:
		q.add(" AND (", q.in("i.space_id", sc.Spaces), " OR (i.space_id IS NULL AND i.restricted))")
	}
	q.add(" AND (NOT i.restricted OR i.author_id = ", q.arg(sc.UserID),
		" OR EXISTS (SELECT 1 FROM item_access a WHERE a.item_id = i.id AND ", q.in("a.grantee", sc.grantees()), "))")
}

const itemColumns = `i.id, i.kind, i.owner, COALESCE(i.space_id, ''), i.author_id, COALESCE(au.name, ''), i.title, i.body, i.parent_id,
	i.position, i.tags, i.mentions, i.comment_count, i.restricted, i.created_at, i.updated_at, i.edited_by, COALESCE(ed.name, ''),
	dv.number, dv.filename, dv.size, dv.content_type, dv.sha256,
	EXISTS (SELECT 1 FROM item_attachments x WHERE x.item_id = i.id)`

const itemJoins = ` LEFT JOIN users au ON au.id = i.author_id LEFT JOIN users ed ON ed.id = i.edited_by` + docJoins

// docJoins bring in a document's current version; other items find nothing there.
const docJoins = ` LEFT JOIN documents d ON d.item_id = i.id LEFT JOIN document_versions dv ON dv.document_id = d.item_id
	AND dv.number = d.current_version`

const itemFrom = ` FROM items i` + itemJoins

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var author, editor sql.NullString
	var authorName, editorName, tags, mentions string
	var created, updated int64
	var docVersion sql.NullInt64
	var docName, docType, docSum sql.NullString
	var docSize sql.NullInt64
	err := row.Scan(&it.ID, &it.Kind, &it.Owner, &it.SpaceID, &author, &authorName, &it.Title, &it.Body, &it.ParentID,
		&it.Position, &tags, &mentions, &it.CommentCount, &it.Restricted, &created, &updated, &editor, &editorName,
		&docVersion, &docName, &docSize, &docType, &docSum, &it.attached)
	if err != nil {
		return Item{}, err
	}
	if docVersion.Valid {
		it.Document = &DocumentInfo{Filename: docName.String, Size: docSize.Int64, ContentType: docType.String,
			SHA256: docSum.String, Version: int(docVersion.Int64)}
	}
	it.Attachments = []Attachment{}
	if author.Valid {
		it.Author = &Person{author.String, authorName}
	}
	if editor.Valid {
		it.EditedBy = &Person{editor.String, editorName}
	}
	_ = json.Unmarshal([]byte(tags), &it.Tags)
	_ = json.Unmarshal([]byte(mentions), &it.Mentions)
	if it.Tags == nil {
		it.Tags = []string{}
	}
	if it.Mentions == nil {
		it.Mentions = []string{}
	}
	it.CreatedAt, it.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	it.Features = map[string]any{}
	return it, nil
}

func jsonText(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// reindex brings the PostgreSQL search vector of an item up to date with its text.
// SQLite's index follows by trigger.
func (s *Service) reindex(ctx context.Context, tx store.Querier, id string) error {
	if s.db.Dialect() != store.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE items SET search =
		setweight(to_tsvector($1::regconfig, title || ' ' || search_extra), 'A') ||
		setweight(to_tsvector($1::regconfig, body), 'B') ||
		setweight(to_tsvector($1::regconfig, comments_text), 'C') WHERE id = $2`, s.lang, id)
	return err
}

// resolveMentions finds the users the handles name: a handle is the part of an email
// address before the @, and must name exactly one user.
func resolveMentions(ctx context.Context, tx store.Querier, handles []string) ([]string, error) {
	var ids []string
	for _, h := range handles {
		// substr, not a range or LIKE: exact whatever the collation, and handles hold no wildcards.
		rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE substr(email, 1, $2) = $1 AND NOT disabled LIMIT 2`, h+"@", len(h)+1)
		if err != nil {
			return nil, err
		}
		var found []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(found) == 1 {
			ids = append(ids, found[0])
		}
	}
	return ids, nil
}

// recordMentions replaces the mentions made by source (an item or a comment).
func recordMentions(ctx context.Context, tx store.Querier, source, itemID string, users []string, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE source_id = $1`, source); err != nil {
		return err
	}
	for _, u := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mentions (source_id, item_id, user_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, source, itemID, u, now); err != nil {
			return err
		}
	}
	return nil
}

// recordTags replaces an item's tags.
func recordTags(ctx context.Context, tx store.Querier, itemID string, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_tags WHERE item_id = $1`, itemID); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO item_tags (item_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, itemID, t); err != nil {
			return err
		}
	}
	return nil
}
