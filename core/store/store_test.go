package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

func TestMigrateIsIdempotentAndReportsVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v1, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v1 < 1 || v1 != v2 {
			t.Fatalf("versions %d then %d, want the same positive version", v1, v2)
		}
		status, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range status {
			if s.State != "applied" {
				t.Errorf("migration %s is %s", s.Source.Path, s.State)
			}
		}
	})
}

func TestTxCommitsOnNilAndRollsBackOnErrorOrPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		put := func(tx *sql.Tx, key string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ($1, $2, $3)`, key, `"v"`, store.Micros(time.Now()))
			return err
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return put(tx, "committed") }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := db.Tx(ctx, func(tx *sql.Tx) error {
			if err := put(tx, "rolled-back"); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("Tx returned %v, want boom", err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic was swallowed")
				}
			}()
			_ = db.Tx(ctx, func(tx *sql.Tx) error {
				_ = put(tx, "panicked")
				panic("boom")
			})
		}()
		for key, want := range map[string]bool{"committed": true, "rolled-back": false, "panicked": false} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE key = $1`, key).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if (n == 1) != want {
				t.Errorf("%s: %d rows, want present=%v", key, n, want)
			}
		}
	})
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ins := `INSERT INTO settings(key, value, updated_at) VALUES ('k', '1', 0)`
		if _, err := db.ExecContext(ctx, ins); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, ins)
		if !store.IsUniqueViolation(err) {
			t.Fatalf("second insert: %v, want a unique violation", err)
		}
		if store.IsForeignKeyViolation(err) {
			t.Fatal("unique violation also reported as foreign key violation")
		}
	})
}

// Concurrent read-modify-write transactions must neither fail (SQLITE_BUSY, deadlocks)
// nor lose updates.
func TestConcurrentWriteTransactionsLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, q := range []string{`CREATE TABLE counter (n INTEGER NOT NULL)`, `INSERT INTO counter VALUES (0)`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		const workers, each = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					errs <- db.Tx(ctx, func(tx *sql.Tx) error {
						var n int
						q := `SELECT n FROM counter`
						if db.Dialect() == store.Postgres {
							q += ` FOR UPDATE`
						}
						if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE counter SET n = $1`, n+1)
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var got int
		if err := db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != workers*each {
			t.Fatalf("counter = %d, want %d", got, workers*each)
		}
	})
}

func TestSQLiteReadPoolRefusesWrites(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ('x', '1', 0) RETURNING key`)
	if err == nil {
		rows.Close()
		t.Fatal("a write through the read pool succeeded; it must fail loudly")
	}
}

func TestSQLiteReadsRunBesideAnOpenWriteTransaction(t *testing.T) {
	db := storetest.SQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ('w', '1', 0)`); err != nil {
			return err
		}
		// WAL: a reader sees the last committed state while the writer holds its lock.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM settings`).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("reader saw %d uncommitted rows", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteCreatesTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "plein.db")
	db, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRowContext(context.Background(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %s, want wal", mode)
	}
}

func TestOpenPostgresReportsAnUnreachableServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := store.OpenPostgres(ctx, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2", store.Options{})
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") {
		t.Fatalf("error leaks the password: %s", msg)
	}
}

func TestMicrosRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 30, 0, 123456789, time.FixedZone("CET", 3600))
	got := store.FromMicros(store.Micros(now))
	if !got.Equal(now.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Fatalf("got %v", got)
	}
}

func TestInListMatchesAnyNumberOfIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 300 {
			if _, err := db.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ($1, '1', $2)`, fmt.Sprintf("k%03d", i), i); err != nil {
				t.Fatal(err)
			}
		}
		for _, ids := range [][]string{nil, {"k001"}, {"k001", "k299", "missing", "it's \"quoted\""}} {
			cond, arg := db.InList("key", 2, ids)
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE updated_at >= $1 AND `+cond, 0, arg).Scan(&n); err != nil {
				t.Fatal(err)
			}
			want := min(len(ids), 2)
			if n != want {
				t.Errorf("%v: %d rows, want %d", ids, n, want)
			}
		}
		var all []string
		for i := range 300 {
			all = append(all, fmt.Sprintf("k%03d", i))
		}
		cond, arg := db.InList("key", 1, all)
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE `+cond, arg).Scan(&n); err != nil || n != 300 {
			t.Fatalf("300 ids: %d %v", n, err)
		}
	})
}

// TestRelaxedWritesSkipOnlyTheFlush checks that relaxed writes and transactions run
// with synchronous_commit off on PostgreSQL, the others with the server's setting,
// and that both commit, retry and roll back alike.
func TestRelaxedWritesSkipOnlyTheFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE relaxed_test (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, relaxed := range []bool{false, true} {
			if err := db.WriteRow(ctx, relaxed, `INSERT INTO relaxed_test (k, n) VALUES ('a', 1)
				ON CONFLICT (k) DO UPDATE SET n = relaxed_test.n + 1 RETURNING n`, nil, &n); err != nil {
				t.Fatal(err)
			}
		}
		if n != 2 {
			t.Fatalf("after two writes: %d", n)
		}
		if err := db.WriteRow(ctx, true, `UPDATE relaxed_test SET n = n + 1 WHERE k = 'none' RETURNING n`, nil, &n); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("a write without a row: %v", err)
		}
		if db.Dialect() != store.Postgres {
			return
		}
		setting := func(tx func(context.Context, func(*sql.Tx) error) error) string {
			var v string
			if err := tx(ctx, func(tx *sql.Tx) error {
				return tx.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&v)
			}); err != nil {
				t.Fatal(err)
			}
			return v
		}
		if got := setting(db.RelaxedTx); got != "off" {
			t.Errorf("relaxed: synchronous_commit %s", got)
		}
		if got := setting(db.Tx); got == "off" {
			t.Errorf("not relaxed: synchronous_commit %s", got)
		}
		var v string
		if err := db.WriteRow(ctx, true, `SELECT current_setting('synchronous_commit')`, nil, &v); err != nil || v != "off" {
			t.Errorf("a relaxed write: synchronous_commit %s %v", v, err)
		}
	})
}

// TestPostgresPlansPreparedStatementsOnce checks the session settings Plein asks
// PostgreSQL for: generic plans (see OpenPostgres) and no JIT.
func TestPostgresPlansPreparedStatementsOnce(t *testing.T) {
	db := storetest.Postgres(t)
	for setting, want := range map[string]string{"plan_cache_mode": "force_generic_plan", "jit": "off"} {
		var got string
		if err := db.QueryRowContext(context.Background(), `SELECT current_setting($1)`, setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", setting, got, err, want)
		}
	}
}
