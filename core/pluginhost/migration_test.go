package pluginhost

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
)

// TestThePluginMigrationGoesDownAndUpAgain checks 00005_plugins's Down section on
// both dialects: down to 4 and up again leaves working tables.
func TestThePluginMigrationGoesDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plein.db")
	dbs := []struct {
		dialect store.Dialect
		open    func(t *testing.T) (*store.DB, *sql.DB, error)
	}{
		{store.SQLite, func(*testing.T) (*store.DB, *sql.DB, error) {
			db, err := store.OpenSQLite(ctx, path, store.Options{})
			if err != nil {
				return nil, nil, err
			}
			raw, err := sql.Open("sqlite", path)
			return db, raw, err
		}},
		{store.Postgres, func(t *testing.T) (*store.DB, *sql.DB, error) {
			dsn := testsvc.PostgresURL(t)
			db, err := store.OpenPostgres(ctx, dsn, store.Options{})
			if err != nil {
				return nil, nil, err
			}
			raw, err := sql.Open("pgx", dsn)
			return db, raw, err
		}},
	}
	for _, d := range dbs {
		t.Run(string(d.dialect), func(t *testing.T) {
			db, raw, err := d.open(t)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close(); _ = raw.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			dialect := goose.DialectSQLite3
			if d.dialect == store.Postgres {
				dialect = goose.DialectPostgres
			}
			p, err := goose.NewProvider(dialect, raw, os.DirFS(filepath.Join("..", "store", "migrations", string(d.dialect))))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 4); err != nil {
				t.Fatalf("down: %v", err)
			}
			if _, err := db.ExecContext(ctx, `SELECT 1 FROM plugin_kv`); err == nil {
				t.Fatal("plugin_kv is still there after down")
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
			if _, err := PublishTx(ctx, db, sdk.Event{Type: EventUserDeleted}); err != nil {
				t.Fatalf("the outbox after up: %v", err)
			}
		})
	}
}
