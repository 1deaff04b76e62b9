package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// OpenSQLite opens the SQLite database file at path, creating it and its directory if
// missing, with WAL, a busy timeout and foreign keys on.
func OpenSQLite(ctx context.Context, path string, o Options) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite dir: %w", err)
	}
	pragmas := url.Values{"_pragma": {
		"journal_mode(WAL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"synchronous(NORMAL)", // durable across process crashes in WAL mode; fsync at checkpoints
	}}
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never has to
	// upgrade a read lock (which deadlocks against another writer).
	w := cloneValues(pragmas)
	w.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", sqliteDSN(abs, w))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)

	r := cloneValues(pragmas)
	r.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", sqliteDSN(abs, r))
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(o.maxConns())
	read.SetMaxIdleConns(o.maxConns())

	db := &DB{dialect: SQLite, write: write, read: read}
	// The first write connection switches the file to WAL before readers open it.
	if err := write.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", abs, err)
	}
	return db, nil
}

func sqliteDSN(path string, q url.Values) string {
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
