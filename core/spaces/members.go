package spaces

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
)

// MemberInfo is one member of a space.
type MemberInfo struct {
	UserID   string    `json:"user_id"`
	Name     string    `json:"name"`
	Email    string    `json:"email"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// MemberQuery selects a page of a space's members, ordered by user id.
type MemberQuery struct {
	After string
	Limit int
}

// Members returns a page of the space's members and whether more follow.
func (s *Service) Members(ctx context.Context, spaceID string, q MemberQuery) ([]MemberInfo, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.user_id, u.name, u.email, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.space_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3`, spaceID, q.After, q.Limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var out []MemberInfo
	for rows.Next() {
		var m MemberInfo
		var joined int64
		if err := rows.Scan(&m.UserID, &m.Name, &m.Email, &m.Role, &joined); err != nil {
			return nil, false, err
		}
		m.JoinedAt = store.FromMicros(joined)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}

// MemberRole returns the user's role in the space, or "" if they are not a member.
func (s *Service) MemberRole(ctx context.Context, spaceID, userID string) (string, error) {
	var role string
	err := s.db.QueryRowContext(ctx, `SELECT role FROM memberships WHERE space_id = $1 AND user_id = $2`, spaceID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return role, err
}

var errLastOwner = fault.Conflictf("a space keeps at least one owner; make someone else owner first")

// SetMember makes the user a member with role, or changes their role. It returns
// whether the membership is new. Demoting the last owner is a Conflict fault; an
// unknown user or space is a NotFound fault.
func (s *Service) SetMember(ctx context.Context, spaceID, userID, role string) (bool, error) {
	if !ValidMemberRole(role) {
		return false, fault.Invalidf("role", `must be "owner", "moderator", "member" or "reader"`)
	}
	if !uid.Valid(spaceID) || !uid.Valid(userID) {
		return false, fault.NotFoundf("no such space or user")
	}
	created := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE space_id = $1 AND user_id = $2`, spaceID, userID).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO memberships (space_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
				spaceID, userID, role, store.Micros(s.now()))
			if store.IsForeignKeyViolation(err) {
				return fault.NotFoundf("no such space or user")
			}
			return err
		case err != nil:
			return err
		}
		if cur == Owner && role != Owner {
			if err := s.keepAnOwner(ctx, tx, spaceID, userID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE memberships SET role = $1 WHERE space_id = $2 AND user_id = $3`, role, spaceID, userID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("set member: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: userID})
	return created, nil
}

// RemoveMember ends the user's membership. Removing the last owner is a Conflict fault;
// removing a non-member does nothing.
func (s *Service) RemoveMember(ctx context.Context, spaceID, userID string) error {
	if !uid.Valid(spaceID) || !uid.Valid(userID) {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE space_id = $1 AND user_id = $2`, spaceID, userID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur == Owner {
			if err := s.keepAnOwner(ctx, tx, spaceID, userID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE space_id = $1 AND user_id = $2`, spaceID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: userID})
	return nil
}

func (s *Service) keepAnOwner(ctx context.Context, tx *sql.Tx, spaceID, leaving string) error {
	// Two owners stepping down at once must not each count the other as staying. SQLite
	// runs write transactions one at a time; on PostgreSQL, lock the space first.
	if s.db.Dialect() == store.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE`, spaceID); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE space_id = $1 AND role = 'owner' AND user_id <> $2`,
		spaceID, leaving).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errLastOwner
	}
	return nil
}

// MembershipsOf returns the user's role in each space they belong to.
func (s *Service) MembershipsOf(ctx context.Context, userID string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT space_id, role FROM memberships WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var sid, role string
		if err := rows.Scan(&sid, &role); err != nil {
			return nil, err
		}
		out[sid] = role
	}
	return out, rows.Err()
}
