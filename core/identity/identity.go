// Package identity keeps users, their global roles, password hashes and bearer tokens.
package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/store"
)

// The built-in roles, which always exist and cannot be deleted.
const (
	RoleAdmin    = "admin"
	RoleManager  = "manager"
	RoleEmployee = "employee"
	RoleExternal = "external"
)

// Builtin lists the built-in roles.
var builtin = []Role{
	{Name: RoleAdmin, Title: "Administrator", Description: "Manages users, credentials, policies and the system.", Builtin: true},
	{Name: RoleManager, Title: "Manager", Description: "Manages roles, spaces and features.", Builtin: true},
	{Name: RoleEmployee, Title: "Employee", Description: "Staff of the organisation.", Builtin: true},
	{Name: RoleExternal, Title: "External party", Description: "Someone from outside the organisation.", Builtin: true},
}

// Reserved names a global role may not take: they are space roles, and a global role of
// the same name would grant that space role in every space.
var reserved = []string{"owner", "moderator", "member", "reader", "viewer"}

// User is a person who can log in.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Role is a global group of users, such as a department or a project team.
type Role struct {
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Users       int       `json:"users"`
	CreatedAt   time.Time `json:"created_at"`
}

// Options tune the service.
type Options struct {
	TokenTTL time.Duration // how long a login lasts; 0 means 7 days
	HashCost HashCost      // cost of new password hashes; zero means the OWASP recommendation
}

// Service manages users, roles and tokens on the SQL store.
type Service struct {
	db      *store.DB
	limiter ratelimit.Limiter
	changes *changes.Notifier
	log     *slog.Logger
	hasher  *hasher
	tokens  *tokenCache
	ttl     time.Duration
	now     func() time.Time
}

// New returns the service. It listens to changes to drop cached tokens.
func New(db *store.DB, limiter ratelimit.Limiter, n *changes.Notifier, log *slog.Logger, opts Options) *Service {
	s := &Service{
		db: db, limiter: limiter, changes: n, log: log,
		hasher: newHasher(opts.HashCost),
		tokens: newTokenCache(100_000),
		ttl:    opts.TokenTTL,
		now:    time.Now,
	}
	if s.ttl <= 0 {
		s.ttl = 7 * 24 * time.Hour
	}
	n.Handle(s.tokens.onChange)
	return s
}

// EnsureBuiltinRoles creates the built-in roles that are missing.
func (s *Service) EnsureBuiltinRoles(ctx context.Context) error {
	now := store.Micros(s.now())
	for _, r := range builtin {
		_, err := s.db.ExecContext(ctx, `INSERT INTO roles (name, title, description, builtin, created_at)
			VALUES ($1, $2, $3, TRUE, $4) ON CONFLICT (name) DO NOTHING`, r.Name, r.Title, r.Description, now)
		if err != nil {
			return fmt.Errorf("builtin role %s: %w", r.Name, err)
		}
	}
	return nil
}

// normalizeEmail lower-cases and checks an address. It returns a fault on invalid input.
func normalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", fault.Invalidf("email", "not a valid email address")
	}
	return e, nil
}

// cleanText trims s and checks it has between 1 and max characters and no control characters.
func cleanText(field, s string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return "", fault.Invalidf(field, "not valid UTF-8")
	case n == 0:
		return "", fault.Invalidf(field, "must not be empty")
	case n > maxLen:
		return "", fault.Invalidf(field, "at most %d characters", maxLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", fault.Invalidf(field, "must not contain control characters")
	}
	return s, nil
}

func checkPassword(p string) error {
	switch n := utf8.RuneCountInString(p); {
	case n < MinPasswordLen:
		return fault.Invalidf("password", "at least %d characters", MinPasswordLen)
	case len(p) > MaxPasswordLen:
		return fault.Invalidf("password", "at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// ValidRoleName reports whether name can name a role: 2 to 64 of [a-z0-9-], starting with a letter.
func ValidRoleName(name string) bool {
	if len(name) < 2 || len(name) > 64 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// cleanRoles sorts and de-duplicates roles and checks their names (not that they exist).
func cleanRoles(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if !ValidRoleName(r) {
			return nil, fault.Invalidf("roles", "%q is not a role name", r)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// rolesOf returns the roles of each user in ids.
func rolesOf(ctx context.Context, q store.Querier, ids []string) (map[string][]string, error) {
	return store.GroupByKey(ctx, q, `SELECT user_id, role FROM user_roles WHERE user_id IN (%s) ORDER BY role`, ids)
}

// insertRoles gives user the roles; an unknown role is a validation fault.
func insertRoles(ctx context.Context, tx *sql.Tx, userID string, roles []string) error {
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, userID, r); err != nil {
			if store.IsForeignKeyViolation(err) {
				return fault.Invalidf("roles", "no role %q", r)
			}
			return err
		}
	}
	return nil
}

// enabledAdmins counts enabled admins other than except.
func enabledAdmins(ctx context.Context, tx *sql.Tx, d store.Dialect, except string) (int, error) {
	// Two admins demoting each other at once must not both see the other staying: on
	// PostgreSQL every such transaction first locks the admin role's row. (SQLite runs
	// write transactions one at a time.)
	if d == store.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM roles WHERE name = 'admin' FOR UPDATE`); err != nil {
			return 0, err
		}
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id
		WHERE ur.role = 'admin' AND NOT u.disabled AND u.id <> $1`, except).Scan(&n)
	return n, err
}

var errLastAdmin = fault.Conflictf("this is the last enabled admin; make someone else admin first")

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// notFoundIfNoRows turns sql.ErrNoRows into a NotFound fault.
func notFoundIfNoRows(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFoundf("no %s", what)
	}
	return err
}
