// Package storetest runs store tests against both SQLite and PostgreSQL.
package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/store"
)

// Each runs fn as two subtests, "sqlite" and "postgres", each on a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated database in a new file, closed when the test ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plein.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, ctx, db)
}

// Postgres returns a migrated database in a new schema of the test server, dropped when the test ends.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	dsn := testsvc.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.OpenPostgres(ctx, dsn, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, ctx, db)
}

func migrated(t testing.TB, ctx context.Context, db *store.DB) *store.DB {
	t.Helper()
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
