package identity

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
)

// NewUser is what CreateUser needs.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Roles    []string
}

// CreateUser adds a user. It returns a Conflict fault if the email is taken and an
// Invalid fault for bad input or an unknown role.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return User{}, err
	}
	name, err := cleanText("name", in.Name, 200)
	if err != nil {
		return User{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return User{}, err
	}
	roles, err := cleanRoles(in.Roles)
	if err != nil {
		return User{}, err
	}
	hash, err := s.hasher.hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	return s.insertUser(ctx, email, name, hash, roles)
}

// CreateUserWithHash adds a user whose password hash was made by HashPassword: the demo
// seed hashes its one shared password once instead of 190 times.
func (s *Service) CreateUserWithHash(ctx context.Context, email, name, hash string, roles []string) (User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if name, err = cleanText("name", name, 200); err != nil {
		return User{}, err
	}
	if roles, err = cleanRoles(roles); err != nil {
		return User{}, err
	}
	return s.insertUser(ctx, email, name, hash, roles)
}

// HashPassword returns the stored form of password, after checking its length.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	return s.hasher.hash(ctx, password)
}

func (s *Service) insertUser(ctx context.Context, email, name, hash string, roles []string) (User, error) {
	now := s.now().UTC()
	u := User{ID: uid.New(), Email: email, Name: name, Roles: roles, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash, disabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, FALSE, $5, $5)`, u.ID, u.Email, u.Name, hash, store.Micros(now))
		if store.IsUniqueViolation(err) {
			return fault.Conflictf("a user with this email exists")
		}
		if err != nil {
			return err
		}
		return insertRoles(ctx, tx, u.ID, roles)
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	u.Roles = nonNil(u.Roles)
	return u, nil
}

// GetUser returns the user, or a NotFound fault.
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	if !uid.Valid(id) {
		return User{}, fault.NotFoundf("no such user")
	}
	return getUser(ctx, s.db, id)
}

func getUser(ctx context.Context, q store.Querier, id string) (User, error) {
	var u User
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT id, email, name, disabled, created_at, updated_at FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Email, &u.Name, &u.Disabled, &created, &updated)
	if err != nil {
		return User{}, notFoundIfNoRows(err, "such user")
	}
	u.CreatedAt, u.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	roles, err := rolesOf(ctx, q, []string{id})
	if err != nil {
		return User{}, err
	}
	u.Roles = nonNil(roles[id])
	return u, nil
}

// UserQuery selects a page of users, ordered by email.
type UserQuery struct {
	Role  string // only users holding this role; empty: all
	After string // the email the previous page ended with
	Limit int
}

// ListUsers returns a page of users and whether more follow.
func (s *Service) ListUsers(ctx context.Context, q UserQuery) ([]User, bool, error) {
	query := `SELECT u.id, u.email, u.name, u.disabled, u.created_at, u.updated_at FROM users u`
	var args []any
	if q.Role != "" {
		args = append(args, q.Role)
		query += ` JOIN user_roles ur ON ur.user_id = u.id AND ur.role = $1`
	}
	args = append(args, q.After, q.Limit+1)
	query += fmt.Sprintf(` WHERE u.email > $%d ORDER BY u.email LIMIT $%d`, len(args)-1, len(args))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []User
	var ids []string
	for rows.Next() {
		var u User
		var created, updated int64
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Disabled, &created, &updated); err != nil {
			return nil, false, err
		}
		u.CreatedAt, u.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
		users = append(users, u)
		ids = append(ids, u.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(users) > q.Limit
	if more {
		users, ids = users[:q.Limit], ids[:q.Limit]
	}
	roles, err := rolesOf(ctx, s.db, ids)
	if err != nil {
		return nil, false, err
	}
	for i := range users {
		users[i].Roles = nonNil(roles[users[i].ID])
	}
	return users, more, nil
}

// UserPatch changes some of a user's fields; nil fields stay as they are.
type UserPatch struct {
	Email    *string
	Name     *string
	Password *string
	Disabled *bool
}

// UpdateUser applies p. Disabling a user or changing their password revokes their tokens
// at once. Disabling the last enabled admin is a Conflict fault.
func (s *Service) UpdateUser(ctx context.Context, id string, p UserPatch) (User, error) {
	if !uid.Valid(id) {
		return User{}, fault.NotFoundf("no such user")
	}
	var email, name, hash string
	var err error
	if p.Email != nil {
		if email, err = normalizeEmail(*p.Email); err != nil {
			return User{}, err
		}
	}
	if p.Name != nil {
		if name, err = cleanText("name", *p.Name, 200); err != nil {
			return User{}, err
		}
	}
	if p.Password != nil {
		if hash, err = s.HashPassword(ctx, *p.Password); err != nil {
			return User{}, err
		}
	}
	revoke := p.Password != nil || (p.Disabled != nil && *p.Disabled)
	var u User
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Disabled != nil && *p.Disabled && !cur.Disabled && slices.Contains(cur.Roles, RoleAdmin) {
			if n, err := enabledAdmins(ctx, tx, s.db.Dialect(), id); err != nil {
				return err
			} else if n == 0 {
				return errLastAdmin
			}
		}
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, `UPDATE users SET `+col+` = $1, updated_at = $2 WHERE id = $3`, v, store.Micros(s.now()), id)
			return err
		}
		if p.Email != nil {
			if err := set("email", email); store.IsUniqueViolation(err) {
				return fault.Conflictf("a user with this email exists")
			} else if err != nil {
				return err
			}
		}
		if p.Name != nil {
			if err := set("name", name); err != nil {
				return err
			}
		}
		if p.Password != nil {
			if err := set("password_hash", hash); err != nil {
				return err
			}
		}
		if p.Disabled != nil {
			if err := set("disabled", *p.Disabled); err != nil {
				return err
			}
		}
		if revoke {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: id})
	return u, nil
}

// DeleteUser removes a user with their roles, memberships and tokens. Deleting the last
// enabled admin is a Conflict fault; a missing user is a NotFound fault.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if !uid.Valid(id) {
		return fault.NotFoundf("no such user")
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if slices.Contains(cur.Roles, RoleAdmin) && !cur.Disabled {
			if n, err := enabledAdmins(ctx, tx, s.db.Dialect(), id); err != nil {
				return err
			} else if n == 0 {
				return errLastAdmin
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: id})
	return nil
}

// SetRoles replaces the user's roles. Taking admin from the last enabled admin is a
// Conflict fault; an unknown role is an Invalid fault.
func (s *Service) SetRoles(ctx context.Context, id string, roles []string) (User, error) {
	if !uid.Valid(id) {
		return User{}, fault.NotFoundf("no such user")
	}
	roles, err := cleanRoles(roles)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if slices.Contains(cur.Roles, RoleAdmin) && !slices.Contains(roles, RoleAdmin) && !cur.Disabled {
			if n, err := enabledAdmins(ctx, tx, s.db.Dialect(), id); err != nil {
				return err
			} else if n == 0 {
				return errLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1`, id); err != nil {
			return err
		}
		if err := insertRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = $1 WHERE id = $2`, store.Micros(s.now()), id); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("set roles: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: id})
	return u, nil
}

// ChangePassword sets a new password for a user who knows the current one, and revokes
// their tokens. A wrong current password is a Forbidden fault.
func (s *Service) ChangePassword(ctx context.Context, id, current, next string) error {
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&hash); err != nil {
		return notFoundIfNoRows(err, "such user")
	}
	// A stolen token must not become a way to guess the password: failures are limited
	// like logins to one account.
	key := "password:user:" + id
	if r, err := s.limiter.Peek(ctx, key, accountFailures); err == nil && !r.Allowed {
		return &fault.Error{Kind: fault.RateLimited, Code: "rate_limited",
			Detail: "too many wrong passwords; try again later", RetryAfter: r.RetryAfter}
	}
	wrong := fault.New(fault.Forbidden, "invalid_credentials", "the current password is wrong")
	if len(current) > MaxPasswordLen {
		return wrong
	}
	ok, err := s.hasher.verify(ctx, current, hash)
	if err != nil || !ok {
		if _, err := s.limiter.Hit(ctx, key, accountFailures, accountWindow); err != nil {
			s.log.WarnContext(ctx, "password rate limiter unavailable", "err", err)
		}
		return wrong
	}
	_, err = s.UpdateUser(ctx, id, UserPatch{Password: &next})
	return err
}

// UserIDByEmail returns the id of the user with email, or a NotFound fault.
func (s *Service) UserIDByEmail(ctx context.Context, email string) (string, error) {
	e, err := normalizeEmail(email)
	if err != nil {
		return "", fault.NotFoundf("no such user")
	}
	var id string
	err = s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, e).Scan(&id)
	return id, notFoundIfNoRows(err, "such user")
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
