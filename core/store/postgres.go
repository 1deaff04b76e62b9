package store

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres connects to the PostgreSQL server at dsn (postgres://...).
// It returns an error, without the password, when the server does not answer.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	// Plein's queries are short: JIT compiling them costs more than it saves (measured:
	// +8 ms on a search over 100k items). A jit setting in the URL wins.
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(o.maxConns())
	pool.SetMaxIdleConns(o.maxConns())
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pool.SetConnMaxLifetime(30 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		// pgconn's errors name host, user and database, never the password.
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	// A second pool for relaxed writes (WriteRow with relaxed): its sessions commit
	// without waiting for the WAL flush. It opens connections only when used.
	rcfg := cfg.Copy()
	rcfg.RuntimeParams["synchronous_commit"] = "off"
	relaxed := stdlib.OpenDB(*rcfg)
	relaxed.SetMaxOpenConns(o.maxConns())
	relaxed.SetMaxIdleConns(o.maxConns())
	relaxed.SetConnMaxIdleTime(5 * time.Minute)
	relaxed.SetConnMaxLifetime(30 * time.Minute)
	return &DB{dialect: Postgres, write: pool, read: pool, relaxed: relaxed}, nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
