package authz

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/pleinhq/plein/core/store"
)

// adapter stores Casbin policy lines in the casbin_rule table. Casbin's adapter API has
// no context, so each call gets its own timeout.
type adapter struct {
	db *store.DB
}

var _ persist.Adapter = (*adapter)(nil)

const adapterTimeout = 10 * time.Second

func (a *adapter) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), adapterTimeout)
}

// LoadPolicy reads every line into m.
func (a *adapter) LoadPolicy(m model.Model) error {
	ctx, cancel := a.ctx()
	defer cancel()
	rows, err := a.db.QueryContext(ctx, `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule ORDER BY id`)
	if err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line [7]string
		if err := rows.Scan(&line[0], &line[1], &line[2], &line[3], &line[4], &line[5], &line[6]); err != nil {
			return err
		}
		if err := persist.LoadPolicyArray(trimEmpty(line[:]), m); err != nil {
			return fmt.Errorf("load policy line %v: %w", line, err)
		}
	}
	return rows.Err()
}

// SavePolicy replaces every stored line with m's, in one transaction.
func (a *adapter) SavePolicy(m model.Model) error {
	ctx, cancel := a.ctx()
	defer cancel()
	return a.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM casbin_rule`); err != nil {
			return err
		}
		for _, sec := range []string{"p", "g"} {
			for ptype, ast := range m[sec] {
				for _, rule := range ast.Policy {
					if err := insertRule(ctx, tx, ptype, rule); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// AddPolicy stores one line.
func (a *adapter) AddPolicy(sec, ptype string, rule []string) error {
	ctx, cancel := a.ctx()
	defer cancel()
	return a.db.Tx(ctx, func(tx *sql.Tx) error { return insertRule(ctx, tx, ptype, rule) })
}

// RemovePolicy deletes one line.
func (a *adapter) RemovePolicy(sec, ptype string, rule []string) error {
	ctx, cancel := a.ctx()
	defer cancel()
	v := padded(rule)
	_, err := a.db.ExecContext(ctx, `DELETE FROM casbin_rule WHERE ptype = $1 AND v0 = $2 AND v1 = $3 AND v2 = $4 AND v3 = $5 AND v4 = $6 AND v5 = $7`,
		ptype, v[0], v[1], v[2], v[3], v[4], v[5])
	return err
}

// RemoveFilteredPolicy deletes the lines whose fields from fieldIndex on equal
// fieldValues (an empty value matches anything).
func (a *adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > 6 {
		return fmt.Errorf("remove filtered policy: fields %d..%d out of range", fieldIndex, fieldIndex+len(fieldValues))
	}
	ctx, cancel := a.ctx()
	defer cancel()
	q := `DELETE FROM casbin_rule WHERE ptype = $1`
	args := []any{ptype}
	for i, v := range fieldValues {
		if v == "" {
			continue
		}
		args = append(args, v)
		q += fmt.Sprintf(" AND v%d = $%d", fieldIndex+i, len(args))
	}
	_, err := a.db.ExecContext(ctx, q, args...)
	return err
}

func insertRule(ctx context.Context, tx *sql.Tx, ptype string, rule []string) error {
	if len(rule) > 6 {
		return fmt.Errorf("policy line %v has more than 6 fields", rule)
	}
	v := padded(rule)
	_, err := tx.ExecContext(ctx, `INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT DO NOTHING`, ptype, v[0], v[1], v[2], v[3], v[4], v[5])
	return err
}

func padded(rule []string) [6]string {
	var v [6]string
	copy(v[:], rule)
	return v
}

// trimEmpty drops the unused trailing fields of a stored line.
func trimEmpty(line []string) []string {
	n := len(line)
	for n > 0 && strings.TrimSpace(line[n-1]) == "" {
		n--
	}
	return line[:n]
}
