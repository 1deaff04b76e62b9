package pluginhost

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// Transactions (sdk.Host.Txn): conditions, KV writes and counter changes in one SQL
// transaction. Each key's condition is checked by the statement that writes the key,
// or, for a key the transaction does not write, by a statement that locks it until
// commit, so no concurrent writer can slip in between the check and the commit:
//
//   - absent, then put: an insert that may only replace an expired entry;
//   - present or at a version, then put or delete: an update or delete of the live
//     entry (at that version);
//   - present or at a version, no write: SELECT ... FOR SHARE on PostgreSQL (SQLite
//     has one writer at a time anyway);
//   - absent, no write (or a delete): an expired placeholder entry, which readers
//     treat as absent, takes the key's row lock; writers of the key wait for commit.
//
// Keys are visited in order, then counters in order, so two transactions lock rows in
// the same order and never deadlock on each other.

var _ pluginrpc.TxnService = (*hostService)(nil)

// errCondition rolls back a transaction whose condition failed.
var errCondition = errors.New("condition failed")

// kvStep is what a transaction does to one key.
type kvStep struct {
	key  string
	cond int // index in Txn.If, or -1
	put  int // index in Txn.Put, or -1
	del  bool
}

// kvSteps merges a transaction's conditions and writes by key, in key order.
func kvSteps(t sdk.Txn) []kvStep {
	byKey := map[string]*kvStep{}
	step := func(key string) *kvStep {
		s, ok := byKey[key]
		if !ok {
			s = &kvStep{key: key, cond: -1, put: -1}
			byKey[key] = s
		}
		return s
	}
	for i, c := range t.If {
		step(c.Key).cond = i
	}
	for i, p := range t.Put {
		step(p.Key).put = i
	}
	for _, k := range t.Delete {
		step(k).del = true
	}
	out := make([]kvStep, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b kvStep) int { return cmp.Compare(a.key, b.key) })
	return out
}

func (s *hostService) KVTxn(ctx context.Context, handle string, t sdk.Txn) (sdk.TxnResult, error) {
	if _, err := s.resolve(handle); err != nil {
		return sdk.TxnResult{}, err
	}
	if err := checkTxnText(t); err != nil {
		return sdk.TxnResult{}, err
	}
	steps := kvSteps(t)
	defer s.cfg.Changed(txnWrites(t))
	deltas := slices.SortedFunc(slices.Values(t.Add), func(a, b sdk.Delta) int { return cmp.Compare(a.Name, b.Name) })
	dropped := slices.Sorted(slices.Values(t.DeleteCounters))
	now := store.Micros(s.cfg.Now())
	if s.cfg.DB.Dialect() == store.Postgres && oneStatement(t) {
		res, changed, ok, err := s.kvTxnOneStatement(ctx, t, steps, deltas, dropped, now)
		if err != nil {
			return sdk.TxnResult{}, s.internal("kv txn", err)
		}
		if ok {
			if s.cfg.Counters != nil {
				s.cfg.Counters.store(ctx, changed)
			}
			return res, nil
		}
	}
	var res sdk.TxnResult
	var changed []counterValue
	failed := -1
	run := s.cfg.DB.Tx
	if t.Relaxed {
		run = s.cfg.DB.RelaxedTx
	}
	err := run(ctx, func(tx *sql.Tx) error {
		res = sdk.TxnResult{Versions: make([]int64, len(t.Put)), Counters: make(map[string]int64, len(t.Add))}
		changed, failed = changed[:0], -1
		for _, st := range steps {
			ok, version, err := s.txnStep(ctx, tx, t, st, now)
			if err != nil {
				return err
			}
			if !ok {
				failed = st.cond
				return errCondition
			}
			if st.put >= 0 {
				res.Versions[st.put] = version
			}
		}
		for _, d := range deltas {
			v, err := s.txnAdd(ctx, tx, d, now)
			if err != nil {
				return err
			}
			res.Counters[d.Name] = v.value
			if d.Delta != 0 {
				changed = append(changed, v)
			}
		}
		for _, name := range dropped {
			// A deleted counter reads 0; Redis keeps that at the version after the
			// row's, so a read that raced the delete cannot bring the row back, and
			// the counter added to again (at a version of its time) replaces it.
			var version int64
			err := tx.QueryRowContext(ctx, `DELETE FROM plugin_counters WHERE plugin = $1 AND key = $2 RETURNING version`,
				s.cfg.Plugin, name).Scan(&version)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				changed = append(changed, counterValue{counterRef: counterRef{s.cfg.Plugin, name}, version: version + 1})
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errCondition):
		names := make([]string, len(t.Add))
		for i, d := range t.Add {
			names[i] = d.Name
		}
		current, err := s.counters(ctx, names)
		if err != nil {
			return sdk.TxnResult{}, err
		}
		return sdk.TxnResult{Counters: current}, &sdk.TxnConflict{Index: failed, Key: t.If[failed].Key}
	case errors.Is(err, sdk.ErrInvalid):
		return sdk.TxnResult{}, err
	case err != nil:
		return sdk.TxnResult{}, s.internal("kv txn", err)
	}
	if s.cfg.Counters != nil {
		s.cfg.Counters.store(ctx, changed)
	}
	return res, nil
}

// txnWrites names the keys and counters a transaction may change.
func txnWrites(t sdk.Txn) []string {
	out := make([]string, 0, len(t.Put)+len(t.Delete)+len(t.Add)+len(t.DeleteCounters))
	for _, p := range t.Put {
		out = append(out, p.Key)
	}
	out = append(out, t.Delete...)
	for _, d := range t.Add {
		out = append(out, d.Name)
	}
	return append(out, t.DeleteCounters...)
}

// checkTxnText refuses keys and counter names PostgreSQL cannot store.
func checkTxnText(t sdk.Txn) error {
	keys := make([]string, 0, len(t.If)+len(t.Put)+len(t.Delete)+len(t.Add)+len(t.DeleteCounters))
	for _, c := range t.If {
		keys = append(keys, c.Key)
	}
	for _, p := range t.Put {
		keys = append(keys, p.Key)
	}
	for _, d := range t.Add {
		keys = append(keys, d.Name)
	}
	keys = append(append(keys, t.Delete...), t.DeleteCounters...)
	return checkTexts("key", keys)
}

// txnStep checks and writes one key in tx. It reports whether the key's condition
// holds and, for a put, the entry's new version.
func (s *hostService) txnStep(ctx context.Context, tx *sql.Tx, t sdk.Txn, st kvStep, now int64) (bool, int64, error) {
	live := ` AND (expires_at IS NULL OR expires_at > $3)`
	var c sdk.Cond
	if st.cond >= 0 {
		c = t.If[st.cond]
	}
	switch {
	case st.put >= 0:
		p := t.Put[st.put]
		value := p.Value
		if value == nil {
			value = []byte{} // NOT NULL
		}
		var expires any
		if p.TTL > 0 {
			expires = now + p.TTL.Microseconds()
		}
		next := s.greatest() + "(plugin_kv.version + 1, excluded.version)"
		var query string
		args := []any{s.cfg.Plugin, st.key, now, value, expires}
		switch {
		case st.cond < 0:
			query = `INSERT INTO plugin_kv (plugin, key, version, value, expires_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = ` + next + `, expires_at = excluded.expires_at
				RETURNING version`
		case c.State == sdk.KeyAbsent:
			query = `INSERT INTO plugin_kv (plugin, key, version, value, expires_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = ` + next + `, expires_at = excluded.expires_at
				WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= $3
				RETURNING version`
		default:
			query = `UPDATE plugin_kv SET value = $4, version = ` + s.greatest() + `(version + 1, $3), expires_at = $5
				WHERE plugin = $1 AND key = $2` + live
			if c.State == sdk.KeyAtVersion {
				args = append(args, c.Version)
				query += ` AND version = $6`
			}
			query += ` RETURNING version`
		}
		var version int64
		err := tx.QueryRowContext(ctx, query, args...).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return false, 0, nil
		}
		return err == nil, version, err
	case st.cond >= 0 && c.State == sdk.KeyAbsent:
		// The placeholder expired at the epoch: absent to every reader, whatever
		// their clock.
		var version int64
		err := tx.QueryRowContext(ctx, `INSERT INTO plugin_kv (plugin, key, version, value, expires_at) VALUES ($1, $2, $3, $4, 0)
			ON CONFLICT (plugin, key) DO UPDATE SET expires_at = 0
			WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= $3
			RETURNING version`, s.cfg.Plugin, st.key, now, []byte{}).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return false, 0, nil
		}
		return err == nil, 0, err
	case st.del:
		query, args := `DELETE FROM plugin_kv WHERE plugin = $1 AND key = $2`, []any{s.cfg.Plugin, st.key}
		if st.cond >= 0 {
			args = append(args, now)
			query += live
			if c.State == sdk.KeyAtVersion {
				args = append(args, c.Version)
				query += ` AND version = $4`
			}
		}
		r, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return false, 0, err
		}
		n, err := r.RowsAffected()
		return st.cond < 0 || n > 0, 0, err
	default: // a condition on a key the transaction does not write
		query := `SELECT version FROM plugin_kv WHERE plugin = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)`
		if s.cfg.DB.Dialect() == store.Postgres {
			query += ` FOR SHARE`
		}
		var version int64
		err := tx.QueryRowContext(ctx, query, s.cfg.Plugin, st.key, now).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return false, 0, nil
		}
		return err == nil && (c.State == sdk.KeyPresent || version == c.Version), 0, err
	}
}

// txnAdd adds a delta to a counter in tx (a zero delta reads it) and returns the
// counter as it then is.
func (s *hostService) txnAdd(ctx context.Context, tx *sql.Tx, d sdk.Delta, now int64) (counterValue, error) {
	v := counterValue{counterRef: counterRef{s.cfg.Plugin, d.Name}}
	if d.Delta == 0 {
		err := tx.QueryRowContext(ctx, `SELECT value, version FROM plugin_counters WHERE plugin = $1 AND key = $2`,
			s.cfg.Plugin, d.Name).Scan(&v.value, &v.version)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return v, err
	}
	err := tx.QueryRowContext(ctx, s.counterAddQuery(d.Delta), s.cfg.Plugin, d.Name, d.Delta, counterBound(d.Delta), now).
		Scan(&v.value, &v.version)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("counter %q: %w: adding %d overflows", d.Name, sdk.ErrInvalid, d.Delta)
	}
	return v, err
}

// counterAddQuery adds $3 to counter $2 at version ($5 or newer) and returns its
// value and version, or no row if the sum would leave int64 ($4 bounds the old value).
func (s *hostService) counterAddQuery(delta int64) string {
	// SQLite would turn an overflow into a float, PostgreSQL into an error.
	cond := `plugin_counters.value <= $4`
	if delta < 0 {
		cond = `plugin_counters.value >= $4`
	}
	return `INSERT INTO plugin_counters (plugin, key, value, version) VALUES ($1, $2, $3, $5)
		ON CONFLICT (plugin, key) DO UPDATE SET value = plugin_counters.value + excluded.value,
			version = ` + s.greatest() + `(plugin_counters.version + 1, excluded.version)
		WHERE ` + cond + ` RETURNING value, version`
}

// counterBound is the old value past which adding delta overflows.
func counterBound(delta int64) int64 {
	if delta < 0 {
		return math.MinInt64 - delta
	}
	return math.MaxInt64 - delta
}
