package pluginhost

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// HostServiceConfig is what one plugin's host service needs.
type HostServiceConfig struct {
	// Plugin is the plugin the service is bound to: its namespace in KV, counters
	// and blobs, the owner of the items it registers. No request can change it.
	Plugin string
	DB     *store.DB
	Blobs  blob.Store
	Items  Items
	Authz  Authorizer
	Calls  *Calls
	// Publish appends an event to the outbox; nil writes it with PublishTx on DB
	// (the dispatcher then finds it on its next poll).
	Publish func(ctx context.Context, e sdk.Event) error
	// Counters, if set, keeps the plugin's counters in Redis in front of SQL.
	Counters *RedisCounters
	// Changed, if set, hears the KV keys and counter names a write may have
	// changed, after it committed or failed (a failed commit may have happened).
	Changed func(names []string)
	// Spaces returns the spaces the plugin is on (nil: all), for item registration;
	// nil means every space.
	Spaces func() []string
	// MaxBlobSize caps each blob; 0 means 1 GiB.
	MaxBlobSize int64
	// Now is the clock (TTLs, versions); nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// hostService implements pluginrpc.HostService for one plugin.
type hostService struct {
	cfg      HostServiceConfig
	prefix   string      // blob key prefix, "plugins/<name>/"
	sweeping atomic.Bool // a lazy cleanup of expired KV entries is running
}

var _ pluginrpc.HostService = (*hostService)(nil)

// NewHostService returns the host API for one plugin, to serve with
// pluginrpc.Client.ServeHost. Every method resolves the call handle first: ""
// acts as the plugin itself, a live handle as its user, and any other handle fails
// with sdk.ErrForbidden.
func NewHostService(cfg HostServiceConfig) pluginrpc.HostService {
	if cfg.MaxBlobSize <= 0 {
		cfg.MaxBlobSize = 1 << 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Spaces == nil {
		cfg.Spaces = func() []string { return nil }
	}
	if cfg.Changed == nil {
		cfg.Changed = func([]string) {}
	}
	if cfg.Publish == nil {
		db := cfg.DB
		cfg.Publish = func(ctx context.Context, e sdk.Event) error {
			_, err := PublishTx(ctx, db, e)
			return err
		}
	}
	return &hostService{cfg: cfg, prefix: "plugins/" + cfg.Plugin + "/"}
}

// resolve returns the call behind handle: nil for background work.
func (s *hostService) resolve(handle string) (*Call, error) {
	return s.cfg.Calls.Resolve(s.cfg.Plugin, handle)
}

// checkText refuses text PostgreSQL cannot store (NUL), which the sdk limits allow.
func checkText(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s holds a NUL byte or is not UTF-8", sdk.ErrInvalid, what)
	}
	return nil
}

func checkTexts(what string, ss []string) error {
	for _, s := range ss {
		if err := checkText(what, s); err != nil {
			return err
		}
	}
	return nil
}

// internal wraps a storage error for the plugin: it sees an internal error, the
// logs see why.
func (s *hostService) internal(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s.cfg.Log.Error("plugin host call failed", "plugin", s.cfg.Plugin, "op", op, "err", err)
	return fmt.Errorf("%s: %w", op, err)
}

const kvColumns = `key, value, version, expires_at`

// scanEntry reads a KV row and reports whether it has expired.
func (s *hostService) scanEntry(row interface{ Scan(...any) error }, now int64) (sdk.Entry, bool, error) {
	var e sdk.Entry
	var exp sql.NullInt64
	if err := row.Scan(&e.Key, &e.Value, &e.Version, &exp); err != nil {
		return sdk.Entry{}, false, err
	}
	if e.Value == nil {
		e.Value = []byte{}
	}
	if exp.Valid {
		if exp.Int64 <= now {
			return sdk.Entry{}, true, nil
		}
		e.ExpiresAt = store.FromMicros(exp.Int64)
	}
	return e, false, nil
}

// sweepExpired deletes the plugin's expired entries in the background, once at a
// time: readers already skip them, this only reclaims the space.
func (s *hostService) sweepExpired() {
	if !s.sweeping.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.sweeping.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := s.cfg.DB.ExecContext(ctx, `DELETE FROM plugin_kv WHERE plugin = $1 AND expires_at IS NOT NULL AND expires_at <= $2`,
			s.cfg.Plugin, store.Micros(s.cfg.Now()))
		if err != nil {
			s.cfg.Log.Warn("delete expired plugin KV entries", "plugin", s.cfg.Plugin, "err", err)
		}
	}()
}

func (s *hostService) KVGet(ctx context.Context, handle, key string) (sdk.Entry, error) {
	if _, err := s.resolve(handle); err != nil {
		return sdk.Entry{}, err
	}
	if err := checkText("key", key); err != nil {
		return sdk.Entry{}, err
	}
	now := store.Micros(s.cfg.Now())
	e, expired, err := s.scanEntry(s.cfg.DB.QueryRowContext(ctx, `SELECT `+kvColumns+` FROM plugin_kv WHERE plugin = $1 AND key = $2`,
		s.cfg.Plugin, key), now)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sdk.Entry{}, fmt.Errorf("key %q: %w", key, sdk.ErrNotFound)
	case err != nil:
		return sdk.Entry{}, s.internal("kv get", err)
	case expired:
		s.sweepExpired()
		return sdk.Entry{}, fmt.Errorf("key %q: %w", key, sdk.ErrNotFound)
	}
	return e, nil
}

func (s *hostService) KVBatchGet(ctx context.Context, handle string, keys []string) ([]sdk.Entry, error) {
	if _, err := s.resolve(handle); err != nil {
		return nil, err
	}
	if err := checkTexts("key", keys); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return []sdk.Entry{}, nil
	}
	now := store.Micros(s.cfg.Now())
	cond, arg := s.cfg.DB.InList("key", 2, keys)
	rows, err := s.cfg.DB.QueryCached(ctx, `SELECT `+kvColumns+` FROM plugin_kv WHERE plugin = $1 AND `+cond, s.cfg.Plugin, arg)
	if err != nil {
		return nil, s.internal("kv batch get", err)
	}
	defer rows.Close()
	out := make([]sdk.Entry, 0, len(keys))
	sawExpired := false
	for rows.Next() {
		e, expired, err := s.scanEntry(rows, now)
		if err != nil {
			return nil, s.internal("kv batch get", err)
		}
		if expired {
			sawExpired = true
			continue
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.internal("kv batch get", err)
	}
	if sawExpired {
		s.sweepExpired()
	}
	return out, nil
}

// greatest is the dialect's two-argument maximum.
func (s *hostService) greatest() string {
	if s.cfg.DB.Dialect() == store.Postgres {
		return "GREATEST"
	}
	return "max"
}

func (s *hostService) KVPut(ctx context.Context, handle string, w pluginrpc.KVWrite) (int64, error) {
	if _, err := s.resolve(handle); err != nil {
		return 0, err
	}
	if err := checkText("key", w.Key); err != nil {
		return 0, err
	}
	now := s.cfg.Now()
	nowUS := store.Micros(now)
	var expires any
	if w.TTL > 0 {
		expires = store.Micros(now.Add(w.TTL))
	}
	value := w.Value
	if value == nil {
		value = []byte{} // NOT NULL; a nil slice would be NULL
	}
	// A version is at least the write's time, so a key deleted and written again
	// never comes back at a version someone still holds.
	next := s.greatest() + "(plugin_kv.version + 1, excluded.version)"
	var query string
	args := []any{s.cfg.Plugin, w.Key, value, nowUS, expires}
	switch {
	case w.IfVersion == nil:
		query = `INSERT INTO plugin_kv (plugin, key, value, version, expires_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = ` + next + `, expires_at = excluded.expires_at
			RETURNING version`
	case *w.IfVersion == 0: // must not exist; an expired entry does not
		query = `INSERT INTO plugin_kv (plugin, key, value, version, expires_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = ` + next + `, expires_at = excluded.expires_at
			WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= $4
			RETURNING version`
	default:
		query = `UPDATE plugin_kv SET value = $3, version = ` + s.greatest() + `(version + 1, $4), expires_at = $5
			WHERE plugin = $1 AND key = $2 AND version = $6 AND (expires_at IS NULL OR expires_at > $4)
			RETURNING version`
		args = append(args, *w.IfVersion)
	}
	var version int64
	defer s.cfg.Changed([]string{w.Key})
	err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, query, args...).Scan(&version)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows) && w.IfVersion != nil:
		return 0, fmt.Errorf("key %q at version %d: %w", w.Key, *w.IfVersion, sdk.ErrConflict)
	case err != nil:
		return 0, s.internal("kv put", err)
	}
	return version, nil
}

func (s *hostService) KVDelete(ctx context.Context, handle, key string, ifVersion *int64) error {
	if _, err := s.resolve(handle); err != nil {
		return err
	}
	if err := checkText("key", key); err != nil {
		return err
	}
	query, args := `DELETE FROM plugin_kv WHERE plugin = $1 AND key = $2`, []any{s.cfg.Plugin, key}
	if ifVersion != nil {
		query += ` AND version = $3 AND (expires_at IS NULL OR expires_at > $4)`
		args = append(args, *ifVersion, store.Micros(s.cfg.Now()))
	}
	defer s.cfg.Changed([]string{key})
	res, err := s.cfg.DB.ExecContext(ctx, query, args...)
	if err != nil {
		return s.internal("kv delete", err)
	}
	if n, _ := res.RowsAffected(); n == 0 && ifVersion != nil {
		return fmt.Errorf("key %q at version %d: %w", key, *ifVersion, sdk.ErrConflict)
	}
	return nil
}

// prefixEnd returns the least string greater than every string starting with prefix,
// in byte order (which is code point order for UTF-8), and false if there is none.
func prefixEnd(prefix string) (string, bool) {
	rs := []rune(prefix)
	for len(rs) > 0 {
		last := rs[len(rs)-1]
		if last < utf8.MaxRune {
			next := last + 1
			if next == 0xD800 { // skip the surrogates, which UTF-8 cannot hold
				next = 0xE000
			}
			rs[len(rs)-1] = next
			return string(rs), true
		}
		rs = rs[:len(rs)-1]
	}
	return "", false
}

func (s *hostService) KVList(ctx context.Context, handle, prefix, after string, limit int) ([]sdk.Entry, string, error) {
	if _, err := s.resolve(handle); err != nil {
		return nil, "", err
	}
	if err := checkTexts("prefix or after", []string{prefix, after}); err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), sdk.MaxListLimit)
	now := store.Micros(s.cfg.Now())
	query := `SELECT ` + kvColumns + ` FROM plugin_kv WHERE plugin = $1 AND key > $2 AND key >= $3
		AND (expires_at IS NULL OR expires_at > $4)`
	args := []any{s.cfg.Plugin, after, prefix, now}
	if end, ok := prefixEnd(prefix); ok {
		args = append(args, end)
		query += fmt.Sprintf(` AND key < $%d`, len(args))
	}
	// A literal, not a parameter: SQLite replans a statement whose LIMIT is a
	// parameter on every run (see store.go's QueryCached).
	query += ` ORDER BY key LIMIT ` + strconv.Itoa(limit+1)
	rows, err := s.cfg.DB.QueryCached(ctx, query, args...)
	if err != nil {
		return nil, "", s.internal("kv list", err)
	}
	defer rows.Close()
	out := make([]sdk.Entry, 0, min(limit, 64))
	for rows.Next() {
		e, _, err := s.scanEntry(rows, now)
		if err != nil {
			return nil, "", s.internal("kv list", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.internal("kv list", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Key
	}
	return out, next, nil
}

func (s *hostService) CounterAdd(ctx context.Context, handle, name string, delta int64) (int64, error) {
	if _, err := s.resolve(handle); err != nil {
		return 0, err
	}
	if err := checkText("counter", name); err != nil {
		return 0, err
	}
	v := counterValue{counterRef: counterRef{s.cfg.Plugin, name}}
	defer s.cfg.Changed([]string{name})
	err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.counterAddQuery(delta), s.cfg.Plugin, name, delta, counterBound(delta),
			store.Micros(s.cfg.Now())).Scan(&v.value, &v.version)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("counter %q: %w: adding %d overflows", name, sdk.ErrInvalid, delta)
	case err != nil:
		return 0, s.internal("counter add", err)
	}
	if s.cfg.Counters != nil {
		s.cfg.Counters.store(ctx, []counterValue{v})
	}
	return v.value, nil
}

func (s *hostService) CounterBatchGet(ctx context.Context, handle string, names []string) (map[string]int64, error) {
	if _, err := s.resolve(handle); err != nil {
		return nil, err
	}
	if err := checkTexts("counter", names); err != nil {
		return nil, err
	}
	out, err := s.counters(ctx, names)
	maps.DeleteFunc(out, func(_ string, v int64) bool { return v == 0 }) // they read 0 anyway
	return out, err
}

// counters reads the plugin's counters, from Redis when it is configured and holds
// them, else from SQL (then storing them in Redis); missing counters read 0.
func (s *hostService) counters(ctx context.Context, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	if len(names) == 0 {
		return out, nil
	}
	fromSQL, cache := names, false
	if rc := s.cfg.Counters; rc != nil {
		refs := make([]counterRef, len(names))
		for i, n := range names {
			refs[i] = counterRef{s.cfg.Plugin, n}
		}
		found, missing, err := rc.get(ctx, refs)
		if err == nil { // else Redis is away: SQL answers everything
			cache = true
			for i, v := range found {
				out[names[i]] = v
			}
			fromSQL = make([]string, len(missing))
			for j, i := range missing {
				fromSQL[j] = names[i]
			}
		}
		if len(fromSQL) == 0 {
			return out, nil
		}
	}
	cond, arg := s.cfg.DB.InList("key", 2, fromSQL)
	rows, err := s.cfg.DB.QueryCached(ctx, `SELECT key, value, version FROM plugin_counters WHERE plugin = $1 AND `+cond, s.cfg.Plugin, arg)
	if err != nil {
		return nil, s.internal("counter batch get", err)
	}
	defer rows.Close()
	read := make(map[string]counterValue, len(fromSQL))
	for rows.Next() {
		v := counterValue{counterRef: counterRef{plugin: s.cfg.Plugin}}
		if err := rows.Scan(&v.name, &v.value, &v.version); err != nil {
			return nil, s.internal("counter batch get", err)
		}
		read[v.name] = v
	}
	if err := rows.Err(); err != nil {
		return nil, s.internal("counter batch get", err)
	}
	vals := make([]counterValue, 0, len(fromSQL))
	for _, n := range fromSQL {
		v, ok := read[n]
		if !ok {
			v = counterValue{counterRef: counterRef{s.cfg.Plugin, n}} // 0 at version 0
		}
		out[n] = v.value
		vals = append(vals, v)
	}
	if cache {
		s.cfg.Counters.store(ctx, vals)
	}
	return out, nil
}
