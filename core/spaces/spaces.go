// Package spaces keeps spaces (departments, work groups, project teams) and their members.
package spaces

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
)

// Visibility says who may see a space.
type Visibility string

// The visibilities (see API.md, Spaces).
const (
	Open    Visibility = "open"    // content readable by holders of the space's roles (none: every employee)
	Members Visibility = "members" // employees see name and description; members read content
	Private Visibility = "private" // only members know it exists
)

// Member roles in a space, from most to least.
const (
	Owner     = "owner"
	Moderator = "moderator"
	Member    = "member"
	Reader    = "reader"
)

var memberRoles = []string{Owner, Moderator, Member, Reader}

// ValidMemberRole reports whether r is a space role a member can hold.
func ValidMemberRole(r string) bool { return slices.Contains(memberRoles, r) }

// Space is a place for content, with its own members.
type Space struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Visibility  Visibility `json:"visibility"`
	Roles       []string   `json:"roles"`
	CreatedBy   *string    `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Access is what authorization needs to know of a space.
type Access struct {
	ID         string
	Visibility Visibility
	Roles      []string
}

// Service manages spaces and memberships on the SQL store.
type Service struct {
	db      *store.DB
	changes *changes.Notifier
	now     func() time.Time
}

// New returns the service.
func New(db *store.DB, n *changes.Notifier) *Service {
	return &Service{db: db, changes: n, now: time.Now}
}

// NewSpace is what Create needs.
type NewSpace struct {
	Name        string
	Description string
	Visibility  Visibility
	Roles       []string
}

func cleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return "", fault.Invalidf("name", "not valid UTF-8")
	case n == 0:
		return "", fault.Invalidf("name", "must not be empty")
	case n > 200:
		return "", fault.Invalidf("name", "at most 200 characters")
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", fault.Invalidf("name", "must not contain control characters")
	}
	return s, nil
}

func cleanDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 5000 {
		return "", fault.Invalidf("description", "at most 5000 characters of UTF-8")
	}
	return s, nil
}

func checkVisibility(v Visibility) error {
	if v != Open && v != Members && v != Private {
		return fault.Invalidf("visibility", `must be "open", "members" or "private"`)
	}
	return nil
}

func cleanRoles(roles []string, v Visibility) ([]string, error) {
	out := append([]string{}, roles...) // never nil: a space's roles are a list, maybe empty
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && v != Open {
		return nil, fault.Invalidf("roles", "only an open space is opened to roles")
	}
	if len(out) > 100 {
		return nil, fault.Invalidf("roles", "at most 100 roles")
	}
	return out, nil
}

// Create adds a space whose owner is creator. It returns an Invalid fault for bad
// input or an unknown role.
func (s *Service) Create(ctx context.Context, creator string, in NewSpace) (Space, error) {
	name, err := cleanName(in.Name)
	if err != nil {
		return Space{}, err
	}
	desc, err := cleanDescription(in.Description)
	if err != nil {
		return Space{}, err
	}
	if in.Visibility == "" {
		in.Visibility = Members
	}
	if err := checkVisibility(in.Visibility); err != nil {
		return Space{}, err
	}
	roles, err := cleanRoles(in.Roles, in.Visibility)
	if err != nil {
		return Space{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	sp := Space{ID: uid.New(), Name: name, Description: desc, Visibility: in.Visibility, Roles: roles, CreatedBy: &creator, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO spaces (id, name, description, visibility, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, sp.ID, sp.Name, sp.Description, string(sp.Visibility), creator, store.Micros(now)); err != nil {
			return err
		}
		if err := insertRoles(ctx, tx, sp.ID, roles); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (space_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
			sp.ID, creator, Owner, store.Micros(now))
		return err
	})
	if err != nil {
		return Space{}, fmt.Errorf("create space: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Space, ID: sp.ID})
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: creator})
	return sp, nil
}

func insertRoles(ctx context.Context, tx *sql.Tx, spaceID string, roles []string) error {
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO space_roles (space_id, role) VALUES ($1, $2)`, spaceID, r); err != nil {
			if store.IsForeignKeyViolation(err) {
				return fault.Invalidf("roles", "no role %q", r)
			}
			return err
		}
	}
	return nil
}

// Get returns the space, or a NotFound fault.
func (s *Service) Get(ctx context.Context, id string) (Space, error) {
	if !uid.Valid(id) {
		return Space{}, fault.NotFoundf("no such space")
	}
	return get(ctx, s.db, id)
}

const spaceColumns = `id, name, description, visibility, created_by, created_at, updated_at`

func scanSpace(row interface{ Scan(...any) error }) (Space, error) {
	var sp Space
	var vis string
	var created, updated int64
	if err := row.Scan(&sp.ID, &sp.Name, &sp.Description, &vis, &sp.CreatedBy, &created, &updated); err != nil {
		return Space{}, err
	}
	sp.Visibility = Visibility(vis)
	sp.CreatedAt, sp.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	sp.Roles = []string{}
	return sp, nil
}

func get(ctx context.Context, q store.Querier, id string) (Space, error) {
	sp, err := scanSpace(q.QueryRowContext(ctx, `SELECT `+spaceColumns+` FROM spaces WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Space{}, fault.NotFoundf("no such space")
	}
	if err != nil {
		return Space{}, err
	}
	roles, err := rolesOf(ctx, q, []string{id})
	if err != nil {
		return Space{}, err
	}
	if r := roles[id]; r != nil {
		sp.Roles = r
	}
	return sp, nil
}

// rolesOf returns the roles each space in ids is opened to.
func rolesOf(ctx context.Context, q store.Querier, ids []string) (map[string][]string, error) {
	return store.GroupByKey(ctx, q, `SELECT space_id, role FROM space_roles WHERE space_id IN (%s) ORDER BY role`, ids)
}

// Query selects a page of spaces, ordered by name then id.
type Query struct {
	All       bool     // every space; otherwise only IDs
	IDs       []string // the spaces the caller may see
	AfterName string   // where the previous page ended
	AfterID   string
	Limit     int
}

// List returns a page of spaces and whether more follow.
func (s *Service) List(ctx context.Context, q Query) ([]Space, bool, error) {
	args := []any{q.AfterName, q.AfterID, q.Limit + 1}
	where := `(name > $1 OR (name = $1 AND id > $2))`
	if !q.All {
		cond, arg := s.db.InList("id", 4, q.IDs)
		where += ` AND ` + cond
		args = append(args, arg)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+spaceColumns+` FROM spaces WHERE `+where+` ORDER BY name, id LIMIT $3`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list spaces: %w", err)
	}
	defer rows.Close()
	var out []Space
	var ids []string
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, sp)
		ids = append(ids, sp.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > q.Limit
	if more {
		out, ids = out[:q.Limit], ids[:q.Limit]
	}
	roles, err := rolesOf(ctx, s.db, ids)
	if err != nil {
		return nil, false, err
	}
	for i := range out {
		if r := roles[out[i].ID]; r != nil {
			out[i].Roles = r
		}
	}
	return out, more, nil
}

// Patch changes some of a space's fields; nil fields stay as they are.
type Patch struct {
	Name        *string
	Description *string
	Visibility  *Visibility
	Roles       *[]string
}

// Update applies p and returns the space. Roles are only allowed on an open space;
// making a space non-open drops them.
func (s *Service) Update(ctx context.Context, id string, p Patch) (Space, error) {
	if !uid.Valid(id) {
		return Space{}, fault.NotFoundf("no such space")
	}
	var sp Space
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Name != nil {
			if cur.Name, err = cleanName(*p.Name); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if cur.Description, err = cleanDescription(*p.Description); err != nil {
				return err
			}
		}
		if p.Visibility != nil {
			if err := checkVisibility(*p.Visibility); err != nil {
				return err
			}
			cur.Visibility = *p.Visibility
			if cur.Visibility != Open && p.Roles == nil {
				cur.Roles = nil
			}
		}
		if p.Roles != nil {
			cur.Roles = *p.Roles
		}
		if cur.Roles, err = cleanRoles(cur.Roles, cur.Visibility); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spaces SET name = $1, description = $2, visibility = $3, updated_at = $4 WHERE id = $5`,
			cur.Name, cur.Description, string(cur.Visibility), store.Micros(s.now()), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM space_roles WHERE space_id = $1`, id); err != nil {
			return err
		}
		if err := insertRoles(ctx, tx, id, cur.Roles); err != nil {
			return err
		}
		sp, err = get(ctx, tx, id)
		return err
	})
	if err != nil {
		return Space{}, fmt.Errorf("update space: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Space, ID: id})
	return sp, nil
}

// Delete removes the space and its memberships. A missing space is a NotFound fault.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !uid.Valid(id) {
		return fault.NotFoundf("no such space")
	}
	var members []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT user_id FROM memberships WHERE space_id = $1`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			members = append(members, u)
		}
		rows.Close()
		res, err := tx.ExecContext(ctx, `DELETE FROM spaces WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFoundf("no such space")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete space: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Space, ID: id})
	for _, u := range members {
		s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: u})
	}
	return nil
}

// AccessList returns every space's visibility and roles, for authorization.
func (s *Service) AccessList(ctx context.Context) ([]Access, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.visibility, COALESCE(r.role, '') FROM spaces s
		LEFT JOIN space_roles r ON r.space_id = s.id ORDER BY s.id, r.role`)
	if err != nil {
		return nil, fmt.Errorf("space access: %w", err)
	}
	defer rows.Close()
	var out []Access
	for rows.Next() {
		var id, vis, role string
		if err := rows.Scan(&id, &vis, &role); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, Access{ID: id, Visibility: Visibility(vis)})
		}
		if role != "" {
			out[len(out)-1].Roles = append(out[len(out)-1].Roles, role)
		}
	}
	return out, rows.Err()
}

// AccessOf returns one space's visibility and roles; ok is false if it does not exist.
func (s *Service) AccessOf(ctx context.Context, id string) (Access, bool, error) {
	sp, err := get(ctx, s.db, id)
	if fault.Is(err, fault.NotFound) {
		return Access{}, false, nil
	}
	if err != nil {
		return Access{}, false, err
	}
	return Access{ID: sp.ID, Visibility: sp.Visibility, Roles: sp.Roles}, true, nil
}
