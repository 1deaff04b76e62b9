// Package store opens Plein's SQL database (SQLite or PostgreSQL), migrates it and runs transactions.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what both *DB and *sql.Tx offer, so a query function can run inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is a SQL database. Queries use $1, $2, ... placeholders in both dialects.
//
// On SQLite, writes go through a single connection so writers queue in Go instead of
// failing with SQLITE_BUSY, and reads use a separate read-only pool (WAL lets them run
// beside the writer). A write outside Tx and a query inside Tx must therefore use the
// Tx's *sql.Tx, never the DB: the single writer is busy with the transaction.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB // == write on PostgreSQL
	relaxed *sql.DB // PostgreSQL: sessions with synchronous_commit off; SQLite: nil

	stmts  sync.Map     // query text -> *sql.Stmt, for QueryCached
	nstmts atomic.Int64 // how many stmts holds
}

// maxCachedStmts bounds QueryCached's statements; past it, queries run unprepared.
const maxCachedStmts = 256

// Options tune the connection pool.
type Options struct {
	MaxConns int // largest number of open connections (read pool on SQLite); 0 means 16
}

func (o Options) maxConns() int {
	if o.MaxConns <= 0 {
		return 16
	}
	return o.MaxConns
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// ExecContext runs a statement that changes data, outside any transaction.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, query, args...)
}

// QueryContext runs a read-only query. Use Tx for INSERT ... RETURNING.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, query, args...)
}

// QueryCached is QueryContext through a statement prepared once per query text, for
// hot queries whose text repeats: SQLite otherwise parses and plans each query anew
// (PostgreSQL's driver caches on its own, so it gains little there).
func (db *DB) QueryCached(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryContext(ctx, args...)
	}
	if db.nstmts.Load() >= maxCachedStmts {
		return db.read.QueryContext(ctx, query, args...)
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		st = prev.(*sql.Stmt)
	} else {
		db.nstmts.Add(1)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowCached is QueryRowContext through QueryCached: it scans the first row into
// dest, or returns sql.ErrNoRows if there is none.
func (db *DB) QueryRowCached(ctx context.Context, query string, args []any, dest ...any) error {
	rows, err := db.QueryCached(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// WriteRow runs one statement that changes data as its own transaction and scans
// its first row into dest (sql.ErrNoRows if it has none). On PostgreSQL a statement
// aborted by a serialization failure or deadlock runs again, as Tx does.
//
// Relaxed lets PostgreSQL answer before the commit is on disk (synchronous_commit
// off): a server crash may lose the last fraction of a second of such writes, never
// half of one. SQLite always commits so (synchronous NORMAL in WAL mode), so there
// it changes nothing.
func (db *DB) WriteRow(ctx context.Context, relaxed bool, query string, args []any, dest ...any) error {
	pool := db.write
	if relaxed && db.relaxed != nil {
		pool = db.relaxed
	}
	return retry(ctx, func() error { return pool.QueryRowContext(ctx, query, args...).Scan(dest...) })
}

// QueryRowContext runs a read-only query that returns at most one row.
// Scan on the result returns sql.ErrNoRows when there is none.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, query, args...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Stats returns the write pool's statistics (the only pool on PostgreSQL).
func (db *DB) Stats() sql.DBStats { return db.write.Stats() }

// Close closes every connection.
func (db *DB) Close() error {
	db.stmts.Range(func(_, st any) bool { _ = st.(*sql.Stmt).Close(); return true })
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.relaxed != nil {
		err = errors.Join(err, db.relaxed.Close())
	}
	return err
}

// maxTxAttempts bounds retries of transactions that PostgreSQL aborted for a
// serialization failure or a deadlock; such errors say "try again", not "wrong".
const maxTxAttempts = 4

// Tx runs fn in a write transaction and commits it when fn returns nil. It rolls back
// when fn returns an error or panics (the panic goes on). On PostgreSQL a transaction
// aborted by a serialization failure or deadlock is retried, so fn must be safe to run again.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.retryTx(ctx, db.write, fn)
}

// retryTx runs fn in a write transaction on pool, again after a serialization
// failure or deadlock.
func (db *DB) retryTx(ctx context.Context, pool *sql.DB, fn func(tx *sql.Tx) error) error {
	return retry(ctx, func() error { return db.runTx(ctx, pool, nil, fn) })
}

// retry runs attempt up to maxTxAttempts times while PostgreSQL aborts it for a
// serialization failure or a deadlock, waiting a little longer each time.
func retry(ctx context.Context, attempt func() error) error {
	var err error
	for n := 1; n <= maxTxAttempts; n++ {
		err = attempt()
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(n*n) * 5 * time.Millisecond)
	}
	return err
}

// RelaxedTx is Tx for a transaction that may commit before it is on disk, as
// WriteRow with relaxed: on PostgreSQL it runs with synchronous_commit off.
func (db *DB) RelaxedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.relaxed == nil {
		return db.Tx(ctx, fn)
	}
	return db.retryTx(ctx, db.relaxed, fn)
}

// ReadTx runs fn in a read-only transaction, so several queries see one snapshot.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.runTx(ctx, db.read, &sql.TxOptions{ReadOnly: true}, fn)
}

func (db *DB) runTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ErrorCode returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func ErrorCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

func isRetryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err comes from a unique or primary key constraint.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsForeignKeyViolation reports whether err comes from a foreign key constraint.
func IsForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// Placeholders returns "$from, $from+1, ..." for n arguments, for IN lists.
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// GroupByKey runs query, whose "%s" stands for the placeholders of keys, and whose rows
// are (key, value) pairs, and returns the values by key in the order the rows come.
// No keys means no query.
func GroupByKey(ctx context.Context, q Querier, query string, keys []string) (map[string][]string, error) {
	out := make(map[string][]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(query, Placeholders(1, len(keys))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = append(out[k], v)
	}
	return out, rows.Err()
}

// InList returns the condition "col is one of ids" with $n as its only argument, and
// that argument: a text array on PostgreSQL, a JSON array read by json_each on SQLite.
// Unlike an IN list of placeholders it takes any number of ids in one statement shape.
func (db *DB) InList(col string, n int, ids []string) (string, any) {
	if ids == nil {
		ids = []string{}
	}
	if db.dialect == Postgres {
		return fmt.Sprintf("%s = ANY($%d)", col, n), ids
	}
	return fmt.Sprintf("%s IN (SELECT value FROM json_each($%d))", col, n), jsonStrings(ids)
}

// jsonStrings is json.Marshal(ids) for SQLite's json_each, without reflection: a
// feed page's decorations send dozens of keys. A string that needs escaping goes
// through encoding/json; others are written as they are (valid UTF-8 needs none).
func jsonStrings(ids []string) string {
	n := 2
	for _, id := range ids {
		n += len(id) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		plain := utf8.ValidString(id)
		for j := 0; plain && j < len(id); j++ {
			plain = id[j] >= 0x20 && id[j] != '"' && id[j] != '\\'
		}
		if plain {
			b = append(append(append(b, '"'), id...), '"')
		} else {
			q, _ := json.Marshal(id)
			b = append(b, q...)
		}
	}
	return string(append(b, ']'))
}

// Micros encodes t for a BIGINT timestamp column: microseconds since the Unix epoch, UTC.
// Both dialects store times this way, so ordering and cursors behave the same.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros decodes a BIGINT timestamp column written by Micros.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
