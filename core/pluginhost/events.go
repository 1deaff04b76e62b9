package pluginhost

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
	"github.com/pleinhq/plein/sdk"
)

// Event types the core publishes. Plugins publish "<name>.<something>".
const (
	EventItemCreated  = "item.created"
	EventItemUpdated  = "item.updated"
	EventItemDeleted  = "item.deleted"
	EventUserDeleted  = "user.deleted"
	EventSpaceDeleted = "space.deleted"
)

// PublishTx appends e to the events outbox through q: pass the transaction that makes
// the change e reports, so the event commits (or not) with it, or a *store.DB. It
// fills in e.ID and e.Time when empty and returns the event as recorded. Plugins that
// subscribe to e.Type receive it within the dispatcher's poll interval, or at once on
// this replica after Host.Wake. It returns an error for an empty type or a payload
// that is not JSON.
func PublishTx(ctx context.Context, q store.Querier, e sdk.Event) (sdk.Event, error) {
	if e.Type == "" {
		return sdk.Event{}, errors.New("publish event: no type")
	}
	if len(e.Payload) > 0 && !json.Valid(e.Payload) {
		return sdk.Event{}, fmt.Errorf("publish %s: payload is not JSON", e.Type)
	}
	if e.ID == "" {
		e.ID = uid.New()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = store.FromMicros(store.Micros(e.Time))
	_, err := q.ExecContext(ctx, `INSERT INTO events (id, type, item_id, space_id, actor, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.Type, e.ItemID, e.SpaceID, e.Actor, string(e.Payload), store.Micros(e.Time))
	if err != nil {
		return sdk.Event{}, fmt.Errorf("publish %s: %w", e.Type, err)
	}
	return e, nil
}

// dispatcher delivers the outbox to the running plugins that subscribe, in order, at
// least once. One replica at a time delivers to a plugin: the one holding its lease
// in plugin_cursors.
type dispatcher struct {
	h     *Host
	owner string // this replica's name on leases
	wake  chan struct{}
}

// Dispatch tuning.
const (
	eventBatch      = 100
	batchesPerRound = 20
	leaseFor        = 30 * time.Second
	deliverTimeout  = 20 * time.Second
	// gapWait is how long a gap in sequence numbers may stay open: on PostgreSQL
	// numbers are taken at insert and committed later, so a transaction in flight
	// fills a gap after a later one committed. Past it the gap is a rollback.
	gapWait = 5 * time.Second
)

func newDispatcher(h *Host) *dispatcher {
	return &dispatcher{h: h, owner: uid.New(), wake: make(chan struct{}, 1)}
}

// poke makes the dispatcher look at the outbox now.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run(ctx context.Context) {
	t := time.NewTicker(d.h.cfg.EventPoll)
	defer t.Stop()
	for {
		d.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// round delivers what is waiting to every running plugin that subscribes, to each
// on its own goroutine so a slow plugin delays only itself.
func (d *dispatcher) round(ctx context.Context) {
	var wg sync.WaitGroup
	for _, in := range d.h.instancesList() {
		p, release, ok := in.acquire()
		if !ok {
			continue
		}
		if len(p.manifest.Events) == 0 {
			release()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			for range batchesPerRound {
				more, err := d.deliver(ctx, in.name, p)
				if err != nil {
					if ctx.Err() == nil {
						d.h.cfg.Log.Warn("deliver events", "plugin", in.name, "err", err)
					}
					return
				}
				if !more {
					return
				}
			}
		}()
	}
	wg.Wait()
}

type cursor struct {
	last       int64
	attempts   int
	nextAt     int64
	owner      string
	leaseUntil int64
}

type outboxRow struct {
	seq     int64
	created int64
	event   sdk.Event
}

// deliver hands the plugin its next batch if this replica may, and reports whether
// there may be more right away.
func (d *dispatcher) deliver(ctx context.Context, name string, p *proc) (more bool, err error) {
	db := d.h.cfg.DB
	now := d.h.cfg.Now()
	nowUS := store.Micros(now)
	var c cursor
	err = db.QueryRowContext(ctx, `SELECT last_seq, attempts, next_attempt_at, lease_owner, lease_until FROM plugin_cursors WHERE plugin = $1`,
		name).Scan(&c.last, &c.attempts, &c.nextAt, &c.owner, &c.leaseUntil)
	if errors.Is(err, sql.ErrNoRows) {
		// A plugin's first delivery starts at the end of the outbox: what happened
		// before it ran is not its business.
		_, err = db.ExecContext(ctx, `INSERT INTO plugin_cursors (plugin, last_seq) SELECT $1, COALESCE(MAX(seq), 0) FROM events WHERE TRUE
			ON CONFLICT (plugin) DO NOTHING`, name)
		return false, err
	}
	if err != nil {
		return false, err
	}
	if (c.owner != d.owner && c.leaseUntil > nowUS) || c.nextAt > nowUS {
		return false, nil
	}
	rows, err := d.read(ctx, c.last)
	if err != nil || len(rows) == 0 {
		return false, err
	}
	rows = settled(rows, c.last, now)
	if len(rows) == 0 {
		return false, nil
	}
	// Take the lease, and make sure nobody moved the cursor since we read it.
	res, err := db.ExecContext(ctx, `UPDATE plugin_cursors SET lease_owner = $1, lease_until = $2
		WHERE plugin = $3 AND last_seq = $4 AND (lease_owner = $1 OR lease_until <= $5)`, d.owner, nowUS+leaseFor.Microseconds(), name, c.last, nowUS)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}

	var batch []sdk.Event
	for _, r := range rows {
		if slices.Contains(p.manifest.Events, r.event.Type) {
			batch = append(batch, r.event)
		}
	}
	handled := map[string]bool{}
	var deliverErr error
	if len(batch) > 0 {
		dctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		ids, err := p.client.Deliver(dctx, batch)
		cancel()
		deliverErr = err
		for _, id := range ids {
			handled[id] = true
		}
	}
	// The cursor moves past what was handled or not wanted, up to the first event
	// the plugin still owes.
	next, complete := c.last, true
	for _, r := range rows {
		if slices.Contains(p.manifest.Events, r.event.Type) && !handled[r.event.ID] {
			complete = false
			break
		}
		next = r.seq
	}
	attempts, nextAt := 0, int64(0)
	if !complete {
		attempts = c.attempts + 1
		nextAt = store.Micros(d.h.cfg.Now().Add(d.h.cfg.Backoff(attempts)))
	}
	if _, err := db.ExecContext(ctx, `UPDATE plugin_cursors SET last_seq = $1, attempts = $2, next_attempt_at = $3
		WHERE plugin = $4 AND lease_owner = $5`, next, attempts, nextAt, name, d.owner); err != nil {
		return false, err
	}
	if !complete {
		if deliverErr != nil {
			return false, fmt.Errorf("attempt %d: %w", attempts, deliverErr)
		}
		return false, fmt.Errorf("attempt %d: the plugin handled %d of %d events", attempts, len(handled), len(batch))
	}
	return len(rows) == eventBatch, nil
}

// read returns the next batch of the outbox after seq.
func (d *dispatcher) read(ctx context.Context, after int64) ([]outboxRow, error) {
	rows, err := d.h.cfg.DB.QueryContext(ctx, `SELECT seq, id, type, item_id, space_id, actor, payload, created_at FROM events
		WHERE seq > $1 ORDER BY seq LIMIT `+strconv.Itoa(eventBatch), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var payload string
		e := &r.event
		if err := rows.Scan(&r.seq, &e.ID, &e.Type, &e.ItemID, &e.SpaceID, &e.Actor, &payload, &r.created); err != nil {
			return nil, err
		}
		if payload != "" {
			e.Payload = json.RawMessage(payload)
		}
		e.Time = store.FromMicros(r.created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// settled returns the rows up to the first gap in sequence numbers that may still be
// filled: one whose next event is younger than gapWait.
func settled(rows []outboxRow, last int64, now time.Time) []outboxRow {
	expect := last + 1
	for i, r := range rows {
		if r.seq != expect && now.Sub(store.FromMicros(r.created)) < gapWait {
			return rows[:i]
		}
		expect = r.seq + 1
	}
	return rows
}

// release gives up this replica's leases, so another replica delivers at once.
func (d *dispatcher) release(ctx context.Context) {
	if _, err := d.h.cfg.DB.ExecContext(ctx, `UPDATE plugin_cursors SET lease_until = 0 WHERE lease_owner = $1`, d.owner); err != nil {
		d.h.cfg.Log.Warn("release event leases", "err", err)
	}
}

// pruneEvents deletes outbox events older than the retention.
func (h *Host) pruneEvents(ctx context.Context) {
	cutoff := store.Micros(h.cfg.Now().Add(-h.cfg.EventRetention))
	if _, err := h.cfg.DB.ExecContext(ctx, `DELETE FROM events WHERE created_at < $1`, cutoff); err != nil && ctx.Err() == nil {
		h.cfg.Log.Warn("prune the events outbox", "err", err)
	}
}
