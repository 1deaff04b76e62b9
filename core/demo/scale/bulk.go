package scale

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pleinhq/plein/core/store"
)

// table is where bulk rows go: its name and columns with their PostgreSQL types
// ("text", "bigint", "bool", "bytea"), which say how a row's values are typed.
type table struct {
	name  string
	cols  []string
	types []string
}

func newTable(name string, cols ...string) table {
	t := table{name: name}
	for _, c := range cols {
		n, typ, _ := strings.Cut(c, " ")
		t.cols, t.types = append(t.cols, n), append(t.types, typ)
	}
	return t
}

// sqlitePerStatement bounds the parameters of one SQLite statement: the driver binds
// $n parameters in time quadratic in their number.
const sqlitePerStatement = 400

// insert writes rows into t inside tx. On PostgreSQL one statement takes them all as
// column arrays (unnest), close to COPY's speed; on SQLite multi-row INSERTs.
func insert(ctx context.Context, tx *sql.Tx, dialect store.Dialect, t table, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if dialect == store.Postgres {
		return insertUnnest(ctx, tx, t, rows)
	}
	width := len(t.cols)
	per := max(1, sqlitePerStatement/width)
	head := fmt.Sprintf("INSERT INTO %s (%s) VALUES ", t.name, strings.Join(t.cols, ", "))
	for len(rows) > 0 {
		part := rows[:min(len(rows), per)]
		rows = rows[len(part):]
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, len(part)*width)
		for i, r := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(" + store.Placeholders(len(args)+1, width) + ")")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	return nil
}

func insertUnnest(ctx context.Context, tx *sql.Tx, t table, rows [][]any) error {
	args := make([]any, len(t.cols))
	casts := make([]string, len(t.cols))
	for c, typ := range t.types {
		casts[c] = fmt.Sprintf("$%d::%s[]", c+1, typ)
		var err error
		if args[c], err = column(rows, c, typ); err != nil {
			return fmt.Errorf("insert into %s, column %s: %w", t.name, t.cols[c], err)
		}
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM unnest(%s)", t.name, strings.Join(t.cols, ", "), strings.Join(casts, ", "))
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	return nil
}

// column returns column c of rows as a typed slice for pgx to send as an array.
func column(rows [][]any, c int, typ string) (any, error) {
	switch typ {
	case "text":
		return typed[string](rows, c)
	case "bigint":
		return typed[int64](rows, c)
	case "bool":
		return typed[bool](rows, c)
	case "bytea":
		return typed[[]byte](rows, c)
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

func typed[T any](rows [][]any, c int) ([]T, error) {
	out := make([]T, len(rows))
	for i, r := range rows {
		v, ok := r[c].(T)
		if !ok {
			return nil, fmt.Errorf("row %d holds %T", i, r[c])
		}
		out[i] = v
	}
	return out, nil
}
