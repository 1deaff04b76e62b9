package pluginhost

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/sdk"
)

// Decorate asks every running plugin that declares decorations and is on for p's
// roles for its fields on the items in its spaces, all at once, each within
// DecorateTimeout, acting as p. It returns item id -> plugin name -> the plugin's
// JSON object, for the API to put under each item's "features". A plugin that is
// slow, fails or is down only loses its own fields; items no plugin decorated are
// absent; no plugin at all is an empty map, never an error.
func (h *Host) Decorate(ctx context.Context, p *authz.Principal, requestID string, items []sdk.ItemRef) map[string]map[string]json.RawMessage {
	out := map[string]map[string]json.RawMessage{}
	if p == nil || len(items) == 0 {
		return out
	}
	var readable *authz.SpaceSet // computed once, when a plugin needs it
	var mu sync.Mutex
	var wg sync.WaitGroup
	var declared []declaredFields
	for _, in := range h.instancesList() {
		rec, _, ok := h.lookup(in.name)
		if !ok || !rec.Enabled || !rolesAllow(rec.Roles, p) {
			continue
		}
		if m := in.manifestOr(rec.Manifest); m != nil && len(m.Fields) > 0 {
			// Read by the host from the plugin's own data: no call, and it works
			// while the process restarts.
			d := declaredFields{plugin: in.name, fields: m.Fields}
			for _, it := range items {
				if inScope(rec.Spaces, it.SpaceID) {
					d.items = append(d.items, it.ID)
				}
			}
			if len(d.items) > 0 {
				declared = append(declared, d)
			}
			continue
		}
		pr, release, ok := in.acquire()
		if !ok {
			continue
		}
		if len(pr.manifest.Decorations) == 0 {
			release()
			continue
		}
		refs := make([]sdk.ItemRef, 0, len(items))
		for _, it := range items {
			if inScope(rec.Spaces, it.SpaceID) {
				refs = append(refs, it)
			}
		}
		if len(refs) == 0 {
			release()
			continue
		}
		if readable == nil {
			r := h.cfg.Authz.Readable(p)
			readable = &r
		}
		dctx, cancel := context.WithTimeout(ctx, h.cfg.DecorateTimeout)
		call, end := h.calls.Begin(in.name, p, *readable, requestID, h.cfg.Now().Add(h.cfg.DecorateTimeout))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			defer end()
			defer cancel()
			fields, err := pr.client.Decorate(dctx, call, refs)
			if err != nil {
				in.log.Debug("decoration left out", "request_id", requestID, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ref := range refs { // only what was asked for
				v, ok := fields[ref.ID]
				if !ok {
					continue
				}
				if out[ref.ID] == nil {
					out[ref.ID] = map[string]json.RawMessage{}
				}
				out[ref.ID][in.name] = v
			}
		}()
	}
	if len(declared) > 0 {
		fields, err := h.readFields(ctx, p.UserID, declared, len(items) > 1)
		if err != nil {
			h.cfg.Log.Warn("decoration fields left out", "request_id", requestID, "err", err)
		}
		mu.Lock()
		for id, byPlugin := range fields {
			if out[id] == nil {
				out[id] = map[string]json.RawMessage{}
			}
			maps.Copy(out[id], byPlugin)
		}
		mu.Unlock()
	}
	wg.Wait()
	return out
}

// declaredFields are a plugin's manifest Fields to read for some items.
type declaredFields struct {
	plugin string
	fields []sdk.Field
	items  []string
}

// readFields reads declared decoration fields from the plugins' KV and counters, and
// returns item id -> plugin -> its JSON object. Values come from the host's field
// cache when it holds them; of the rest, counters come from Redis when it is
// configured and holds them, and everything else from one SQL query. What was read
// is kept in the cache (see fieldCache) if keep is set: for lists (feeds, search),
// which are read again and again, not for a single item, which mostly is not (the
// counters it shows are often there from the feed it was found in). Keeping every
// random item's fields cost random reads 10-16 % at 100k items: puts, evictions,
// and the garbage collector scanning a larger cache.
//
// It runs under the request's context, not DecorateTimeout: this is the host's own
// query, as cheap as the feed's, and cutting it short under load dropped fields
// from items for nothing, and made the PostgreSQL driver close the connection.
func (h *Host) readFields(ctx context.Context, userID string, ds []declaredFields, keep bool) (map[string]map[string]json.RawMessage, error) {
	type counter struct{ n, version int64 }
	counters := map[counterRef]counter{} // counters read, by plugin and name
	kvs := map[counterRef][]byte{}       // KV entries read, by plugin and key
	now := store.Micros(h.cfg.Now())
	// keys[d][i][f] is the key of d's field f for d's item i, built once.
	keys := make([][][]string, len(ds))
	for n, d := range ds {
		keys[n] = make([][]string, len(d.items))
		for i, id := range d.items {
			keys[n][i] = make([]string, len(d.fields))
			for f, field := range d.fields {
				keys[n][i][f] = field.KeyFor(id, userID)
			}
		}
	}
	// What the cache does not hold, with its stripe's generation before the reads.
	type miss struct {
		ref counterRef
		gen uint64
	}
	var counterMisses, kvMisses []miss
	for n, d := range ds {
		for f, field := range d.fields {
			kind := fieldKV
			if field.From == sdk.FromCounter {
				kind = fieldCounter
			}
			for i := range d.items {
				ref := counterRef{d.plugin, keys[n][i][f]}
				v, ok := h.fields.get(kind, ref.plugin, ref.name)
				switch {
				case !ok:
					m := miss{ref: ref}
					if keep {
						m.gen = h.fields.generation(ref.plugin, ref.name)
					}
					if kind == fieldCounter {
						counterMisses = append(counterMisses, m)
					} else {
						kvMisses = append(kvMisses, m)
					}
				case kind == fieldCounter:
					counters[ref] = counter{n: v.n}
				case v.present && (v.expires == 0 || v.expires > now):
					kvs[ref] = v.value
				}
			}
		}
	}
	rc := h.cfg.Counters
	fromSQL := counterMisses // counter misses Redis does not answer
	if rc != nil && len(counterMisses) > 0 {
		refs := make([]counterRef, len(counterMisses))
		for i, m := range counterMisses {
			refs[i] = m.ref
		}
		vals, _, err := rc.get(ctx, refs)
		if err != nil {
			rc = nil // Redis is away: SQL answers, and nothing is stored back
		}
		fromSQL = make([]miss, 0, len(counterMisses)-len(vals))
		for i, m := range counterMisses {
			if v, ok := vals[i]; ok {
				counters[m.ref] = counter{n: v}
				if keep {
					h.fields.put(fieldCounter, m.ref.plugin, m.ref.name, fieldValue{n: v}, m.gen)
				}
			} else {
				fromSQL = append(fromSQL, m)
			}
		}
	}
	var q strings.Builder
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	nowArg := "" // the clock's parameter, added with the first KV branch
	byPlugin := func(ms []miss) map[string][]string {
		out := map[string][]string{}
		for _, m := range ms {
			out[m.ref.plugin] = append(out[m.ref.plugin], m.ref.name)
		}
		return out
	}
	sqlCounters, sqlKV := byPlugin(fromSQL), byPlugin(kvMisses)
	for _, d := range ds {
		counters, kv := sqlCounters[d.plugin], sqlKV[d.plugin]
		if len(counters) == 0 && len(kv) == 0 {
			continue
		}
		delete(sqlCounters, d.plugin) // a plugin's branches once
		delete(sqlKV, d.plugin)
		plugin := arg(d.plugin)
		if len(counters) > 0 {
			if q.Len() > 0 {
				q.WriteString(" UNION ALL ")
			}
			cond, a := h.cfg.DB.InList("key", len(args)+1, counters)
			args = append(args, a)
			q.WriteString(`SELECT 'c', plugin, key, value, NULL, version FROM plugin_counters WHERE plugin = ` + plugin + ` AND ` + cond)
		}
		if len(kv) > 0 {
			if q.Len() > 0 {
				q.WriteString(" UNION ALL ")
			}
			if nowArg == "" {
				nowArg = arg(now)
			}
			cond, a := h.cfg.DB.InList("key", len(args)+1, kv)
			args = append(args, a)
			// The last column is the entry's expiry, for the cache.
			q.WriteString(`SELECT 'k', plugin, key, 0, value, COALESCE(expires_at, 0) FROM plugin_kv WHERE plugin = ` + plugin + ` AND ` + cond +
				` AND (expires_at IS NULL OR expires_at > ` + nowArg + `)`)
		}
	}
	kvExpires := map[counterRef]int64{}
	if q.Len() > 0 {
		rows, err := h.cfg.DB.QueryCached(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var kind string
			var ref counterRef
			var c counter
			var v []byte
			if err := rows.Scan(&kind, &ref.plugin, &ref.name, &c.n, &v, &c.version); err != nil {
				return nil, err
			}
			if kind == "k" {
				kvs[ref] = v
				kvExpires[ref] = c.version
			} else {
				counters[ref] = c
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, m := range fromSQL {
		if keep {
			h.fields.put(fieldCounter, m.ref.plugin, m.ref.name, fieldValue{n: counters[m.ref].n}, m.gen)
		}
	}
	for _, m := range kvMisses {
		if v, ok := kvs[m.ref]; keep {
			h.fields.put(fieldKV, m.ref.plugin, m.ref.name, fieldValue{value: v, present: ok, expires: kvExpires[m.ref]}, m.gen)
		}
	}
	if rc != nil && len(fromSQL) > 0 {
		vals := make([]counterValue, len(fromSQL))
		for i, m := range fromSQL {
			vals[i] = counterValue{counterRef: m.ref, value: counters[m.ref].n, version: counters[m.ref].version}
		}
		rc.store(ctx, vals)
	}
	out := map[string]map[string]json.RawMessage{}
	for n, d := range ds {
		values := sdk.FieldValues{
			Counter: func(key string) int64 { return counters[counterRef{d.plugin, key}].n },
			KV: func(key string) ([]byte, bool) {
				v, ok := kvs[counterRef{d.plugin, key}]
				return v, ok
			},
		}
		for i, id := range d.items {
			if out[id] == nil {
				out[id] = map[string]json.RawMessage{}
			}
			out[id][d.plugin] = sdk.FieldsJSONOfKeys(d.fields, keys[n][i], values)
		}
	}
	return out, nil
}
