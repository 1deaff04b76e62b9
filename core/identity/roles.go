package identity

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
)

// ListRoles returns every role with its number of users, by name.
func (s *Service) ListRoles(ctx context.Context) ([]Role, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.name, r.title, r.description, r.builtin, r.created_at,
			(SELECT count(*) FROM user_roles ur WHERE ur.role = r.name)
		FROM roles r ORDER BY r.name`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []Role
	for rows.Next() {
		var r Role
		var created int64
		if err := rows.Scan(&r.Name, &r.Title, &r.Description, &r.Builtin, &created, &r.Users); err != nil {
			return nil, err
		}
		r.CreatedAt = store.FromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRole returns the role, or a NotFound fault.
func (s *Service) GetRole(ctx context.Context, name string) (Role, error) {
	var r Role
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT r.name, r.title, r.description, r.builtin, r.created_at,
			(SELECT count(*) FROM user_roles ur WHERE ur.role = r.name)
		FROM roles r WHERE r.name = $1`, name).Scan(&r.Name, &r.Title, &r.Description, &r.Builtin, &created, &r.Users)
	if err != nil {
		return Role{}, notFoundIfNoRows(err, "such role")
	}
	r.CreatedAt = store.FromMicros(created)
	return r, nil
}

// CreateRole adds a role. It returns a Conflict fault if the name is taken and an
// Invalid fault for a bad or reserved name.
func (s *Service) CreateRole(ctx context.Context, name, title, description string) (Role, error) {
	if !ValidRoleName(name) {
		return Role{}, fault.Invalidf("name", "2 to 64 characters of a-z, 0-9 and -, starting with a letter")
	}
	if slices.Contains(reserved, name) {
		return Role{}, fault.Invalidf("name", "%q is a space role; choose another name", name)
	}
	title, err := cleanText("title", title, 200)
	if err != nil {
		return Role{}, err
	}
	description = strings.TrimSpace(description)
	if len(description) > 2000 {
		return Role{}, fault.Invalidf("description", "at most 2000 characters")
	}
	now := s.now().UTC()
	_, err = s.db.ExecContext(ctx, `INSERT INTO roles (name, title, description, builtin, created_at) VALUES ($1, $2, $3, FALSE, $4)`,
		name, title, description, store.Micros(now))
	if store.IsUniqueViolation(err) {
		return Role{}, fault.Conflictf("role %q exists", name)
	}
	if err != nil {
		return Role{}, fmt.Errorf("create role: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Roles})
	return Role{Name: name, Title: title, Description: description, CreatedAt: now}, nil
}

// UpdateRole changes a role's title or description (nil: unchanged).
func (s *Service) UpdateRole(ctx context.Context, name string, title, description *string) (Role, error) {
	if title != nil {
		t, err := cleanText("title", *title, 200)
		if err != nil {
			return Role{}, err
		}
		title = &t
	}
	if description != nil && len(*description) > 2000 {
		return Role{}, fault.Invalidf("description", "at most 2000 characters")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE roles SET title = COALESCE($1, title), description = COALESCE($2, description) WHERE name = $3`,
		title, description, name)
	if err != nil {
		return Role{}, fmt.Errorf("update role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Role{}, fault.NotFoundf("no such role")
	}
	return s.GetRole(ctx, name)
}

// DeleteRole removes a role and takes it from every user. Built-in roles, and roles
// that open a space, cannot be deleted (a Conflict fault): removing the last role of
// an open space would open it to every employee.
func (s *Service) DeleteRole(ctx context.Context, name string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var isBuiltin bool
		if err := tx.QueryRowContext(ctx, `SELECT builtin FROM roles WHERE name = $1`, name).Scan(&isBuiltin); err != nil {
			return notFoundIfNoRows(err, "such role")
		}
		if isBuiltin {
			return fault.Conflictf("%q is a built-in role", name)
		}
		var spaces int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM space_roles WHERE role = $1`, name).Scan(&spaces); err != nil {
			return err
		}
		if spaces > 0 {
			return fault.Conflictf("role %q opens %d space(s); change their roles first", name, spaces)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE name = $1`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Roles})
	return nil
}
