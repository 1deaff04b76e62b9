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
	// Every statement is prepared once per connection and has parameters. By default
	// PostgreSQL plans it anew for each execution's values until a generic plan looks
	// as cheap, which can be never: planning then costs more than running (measured:
	// 0.6–1.2 ms to plan an item's attachments, 0.05 ms to run them), and a custom
	// plan trusts the statistics about each value, which lag for plugin KV: a plugin
	// whose rows came after the last ANALYZE looked like one row, and its lookups
	// scanned all of its keys (1.3 ms, 2,600 rows, instead of 0.03). Generic plans
	// look keys up by (plugin, key) whatever the statistics say. Search ranking, which
	// gains from a plan per query, asks for custom plans itself. A plan_cache_mode in
	// the URL wins.
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
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
