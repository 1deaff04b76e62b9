package pluginhost

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
)

// On PostgreSQL a transaction first goes as one statement: each key's and counter's
// statement of txnStep and txnAdd becomes a data-changing WITH clause, and the main
// query returns every result in one row. A statement is its own transaction, so the
// whole Txn costs one round trip instead of BEGIN, a statement per key and counter,
// and COMMIT (a like: five), and its row locks are held for that one trip only,
// which is what lets many users like the same item at once.
//
// A condition that fails, or a counter that would overflow, leaves its clause
// without a row; the main query then divides by zero, which rolls the statement
// back, and the transaction runs again step by step (as on SQLite) to find out which
// condition failed, or that it holds now. Failed conditions are the rare path.
//
// The main query reads the clauses in the order the steps visit keys and counters,
// and PostgreSQL runs a data-changing clause when the query first reads it, so two
// such statements lock rows in the same order as two step-by-step transactions.

// divisionByZero is the SQLSTATE of the statement whose condition failed.
const divisionByZero = "22012"

// oneStatement reports whether t can go as one statement. A statement may change a
// row only once, so no counter may be added to twice or both added to and deleted.
// And all its clauses read one snapshot, taken before it waits for any row lock:
// writes and locking reads see what committed meanwhile (PostgreSQL rechecks a row
// it waited for), but a plain counter read (a zero delta) would not, so a
// transaction that reads a counter goes step by step.
func oneStatement(t sdk.Txn) bool {
	seen := make(map[string]bool, len(t.Add)+len(t.DeleteCounters))
	for _, d := range t.Add {
		if seen[d.Name] || d.Delta == 0 {
			return false
		}
		seen[d.Name] = true
	}
	for _, name := range t.DeleteCounters {
		if seen[name] {
			return false
		}
		seen[name] = true
	}
	return true
}

// txnStatement builds the statement for steps, deltas and dropped counters, in the
// order given (sorted), and says how to read its row.
type txnStatement struct {
	b      strings.Builder
	args   []any
	guards []string // one factor per clause, in order: 0 fails the statement
	cols   []string // the main query's columns after the guard
}

func (q *txnStatement) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

func (q *txnStatement) clause(name, body string, guarded bool) {
	if q.b.Len() == 0 {
		q.b.WriteString("WITH ")
	} else {
		q.b.WriteString(", ")
	}
	q.b.WriteString(name + " AS (" + body + ")")
	count := "(SELECT count(*) FROM " + name + ")"
	if guarded {
		q.guards = append(q.guards, count)
	} else {
		// Read as well, so the clause runs in its turn; never fails.
		q.guards = append(q.guards, "GREATEST("+count+", 1)")
	}
}

// kvTxnOneStatement runs the transaction as one statement. ok is false when a
// condition failed or a counter would overflow: nothing changed, and the caller
// runs the transaction step by step.
func (s *hostService) kvTxnOneStatement(ctx context.Context, t sdk.Txn, steps []kvStep, deltas []sdk.Delta, dropped []string, now int64) (res sdk.TxnResult, changed []counterValue, ok bool, err error) {
	q := &txnStatement{}
	plugin := q.arg(s.cfg.Plugin)
	// now becomes a parameter when a clause first uses it: PostgreSQL refuses a
	// parameter that no clause uses, as it cannot type it.
	var nowArg string
	at := func() string {
		if nowArg == "" {
			nowArg = q.arg(now)
		}
		return nowArg
	}
	live := func() string { return ` AND (expires_at IS NULL OR expires_at > ` + at() + `)` }
	type read struct {
		put  int    // Txn.Put index whose version the column holds, or -1
		name string // counter whose value and version follow, or ""
		drop bool   // a dropped counter's old version
	}
	var reads []read
	for i, st := range steps {
		name := fmt.Sprintf("k%d", i)
		var c sdk.Cond
		if st.cond >= 0 {
			c = t.If[st.cond]
		}
		switch {
		case st.put >= 0:
			p := t.Put[st.put]
			value := p.Value
			if value == nil {
				value = []byte{}
			}
			var expires any
			if p.TTL > 0 {
				expires = now + p.TTL.Microseconds()
			}
			key, val, exp := q.arg(st.key), q.arg(value), q.arg(expires)
			insert := `INSERT INTO plugin_kv (plugin, key, version, value, expires_at) VALUES (` + plugin + `, ` + key + `, ` + at() + `, ` + val + `, ` + exp + `)
				ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, version = GREATEST(plugin_kv.version + 1, excluded.version), expires_at = excluded.expires_at`
			switch {
			case st.cond < 0:
				q.clause(name, insert+` RETURNING version`, false)
			case c.State == sdk.KeyAbsent:
				q.clause(name, insert+` WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= `+at()+` RETURNING version`, true)
			default:
				body := `UPDATE plugin_kv SET value = ` + val + `, version = GREATEST(version + 1, ` + at() + `), expires_at = ` + exp +
					` WHERE plugin = ` + plugin + ` AND key = ` + key + live()
				if c.State == sdk.KeyAtVersion {
					body += ` AND version = ` + q.arg(c.Version)
				}
				q.clause(name, body+` RETURNING version`, true)
			}
			q.cols = append(q.cols, "(SELECT version FROM "+name+")")
			reads = append(reads, read{put: st.put})
		case st.cond >= 0 && c.State == sdk.KeyAbsent:
			q.clause(name, `INSERT INTO plugin_kv (plugin, key, version, value, expires_at) VALUES (`+plugin+`, `+q.arg(st.key)+`, `+at()+`, `+q.arg([]byte{})+`, 0)
				ON CONFLICT (plugin, key) DO UPDATE SET expires_at = 0
				WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= `+at()+` RETURNING version`, true)
		case st.del:
			body := `DELETE FROM plugin_kv WHERE plugin = ` + plugin + ` AND key = ` + q.arg(st.key)
			if st.cond >= 0 {
				body += live()
				if c.State == sdk.KeyAtVersion {
					body += ` AND version = ` + q.arg(c.Version)
				}
			}
			q.clause(name, body+` RETURNING 1`, st.cond >= 0)
		default:
			body := `SELECT version FROM plugin_kv WHERE plugin = ` + plugin + ` AND key = ` + q.arg(st.key) + live()
			if c.State == sdk.KeyAtVersion {
				body += ` AND version = ` + q.arg(c.Version)
			}
			q.clause(name, body+` FOR SHARE`, true)
		}
	}
	for i, d := range deltas {
		name := fmt.Sprintf("c%d", i)
		cond := `plugin_counters.value <= `
		if d.Delta < 0 {
			cond = `plugin_counters.value >= `
		}
		q.clause(name, `INSERT INTO plugin_counters (plugin, key, value, version) VALUES (`+plugin+`, `+q.arg(d.Name)+`, `+q.arg(d.Delta)+`, `+at()+`)
			ON CONFLICT (plugin, key) DO UPDATE SET value = plugin_counters.value + excluded.value,
				version = GREATEST(plugin_counters.version + 1, excluded.version)
			WHERE `+cond+q.arg(counterBound(d.Delta))+` RETURNING value, version`, true)
		q.cols = append(q.cols, "(SELECT value FROM "+name+")", "(SELECT version FROM "+name+")")
		reads = append(reads, read{put: -1, name: d.Name})
	}
	for i, nameOf := range dropped {
		name := fmt.Sprintf("d%d", i)
		q.clause(name, `DELETE FROM plugin_counters WHERE plugin = `+plugin+` AND key = `+q.arg(nameOf)+` RETURNING version`, false)
		q.cols = append(q.cols, "COALESCE((SELECT version FROM "+name+"), -1)")
		reads = append(reads, read{put: -1, name: nameOf, drop: true})
	}
	if len(q.guards) == 0 {
		return sdk.TxnResult{Versions: []int64{}, Counters: map[string]int64{}}, nil, true, nil
	}
	q.b.WriteString(" SELECT 1 / (" + strings.Join(q.guards, " * ") + ")")
	for _, c := range q.cols {
		q.b.WriteString(", " + c)
	}

	var guard int64
	vals := make([]int64, len(q.cols))
	dest := []any{&guard}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	err = s.cfg.DB.WriteRow(ctx, t.Relaxed, q.b.String(), q.args, dest...)
	if store.ErrorCode(err) == divisionByZero {
		return sdk.TxnResult{}, nil, false, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = errors.New("no row") // a SELECT without FROM always has one
	}
	if err != nil {
		return sdk.TxnResult{}, nil, false, err
	}
	res = sdk.TxnResult{Versions: make([]int64, len(t.Put)), Counters: make(map[string]int64, len(t.Add))}
	n := 0
	for _, r := range reads {
		switch {
		case r.put >= 0:
			res.Versions[r.put] = vals[n]
			n++
		case r.drop:
			if vals[n] >= 0 {
				changed = append(changed, counterValue{counterRef: counterRef{s.cfg.Plugin, r.name}, version: vals[n] + 1})
			}
			n++
		default:
			v := counterValue{counterRef: counterRef{s.cfg.Plugin, r.name}, value: vals[n], version: vals[n+1]}
			res.Counters[r.name] = v.value
			changed = append(changed, v)
			n += 2
		}
	}
	return res, changed, true, nil
}
