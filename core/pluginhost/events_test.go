package pluginhost

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
)

func cursorOf(t *testing.T, db *store.DB, plugin string) (last int64, attempts int) {
	t.Helper()
	if err := db.QueryRowContext(context.Background(), `SELECT last_seq, attempts FROM plugin_cursors WHERE plugin = $1`, plugin).
		Scan(&last, &attempts); err != nil {
		t.Fatal(err)
	}
	return last, attempts
}

func maxSeq(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEventsAreDeliveredAtLeastOnceInOrderPastFailures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		cfg := e.config(t)
		cfg.Backoff = func(int) time.Duration { return time.Minute }
		h := newHost(t, cfg)
		p := newEcho("echo")
		serveInProcess(t, h, Record{}, p)
		ctx := ctxT(t)

		if _, err := h.Publish(ctx, sdk.Event{Type: EventItemDeleted, ItemID: "before"}); err != nil {
			t.Fatal(err)
		}
		h.disp.round(ctx) // the first round places the cursor at the end: history is not delivered
		if last, _ := cursorOf(t, db, "echo"); last != maxSeq(t, db) || len(p.got()) != 0 {
			t.Fatalf("cursor %d of %d, delivered %v", last, maxSeq(t, db), p.got())
		}

		publish := func(typ string) string {
			ev, err := h.Publish(ctx, sdk.Event{Type: typ, ItemID: "i1", Actor: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			return ev.ID
		}
		e1, e2, e3, e4 := publish(EventItemDeleted), publish("other.thing"), publish("echo.ping"), publish(EventItemDeleted)
		p.mu.Lock()
		p.fail[e3] = 1
		p.mu.Unlock()

		h.disp.round(ctx)
		// e1 handled, e2 not wanted, e3 failed: the cursor waits before e3; e4 was
		// handled but comes again with e3.
		if got := p.got(); !slices.Equal(got, []string{e1, e4}) {
			t.Fatalf("first round handled %v", got)
		}
		last, attempts := cursorOf(t, db, "echo")
		var seq2 int64
		if err := db.QueryRowContext(ctx, `SELECT seq FROM events WHERE id = $1`, e2).Scan(&seq2); err != nil {
			t.Fatal(err)
		}
		if last != seq2 || attempts != 1 {
			t.Fatalf("cursor at %d (attempt %d), want %d (attempt 1)", last, attempts, seq2)
		}
		h.disp.round(ctx) // within the backoff: nothing
		if len(p.got()) != 2 {
			t.Fatalf("delivered during the backoff: %v", p.got())
		}
		e.clock.Advance(2 * time.Minute)
		h.disp.round(ctx)
		if got := p.got(); !slices.Equal(got, []string{e1, e4, e3, e4}) {
			t.Fatalf("after the backoff handled %v", got)
		}
		if last, attempts := cursorOf(t, db, "echo"); last != maxSeq(t, db) || attempts != 0 {
			t.Fatalf("cursor %d (attempt %d), want %d", last, attempts, maxSeq(t, db))
		}

		// Another replica does not deliver while this one holds the lease.
		other := newDispatcher(h)
		e5 := publish(EventItemDeleted)
		if more, err := other.deliver(ctx, "echo", h.slots["echo"].proc); more || err != nil || slices.Contains(p.got(), e5) {
			t.Fatalf("the other replica delivered under our lease: %v %v %v", more, err, p.got())
		}
		e.clock.Advance(leaseFor + time.Second)
		if _, err := other.deliver(ctx, "echo", h.slots["echo"].proc); err != nil || !slices.Contains(p.got(), e5) {
			t.Fatalf("the other replica did not take over an expired lease: %v %v", err, p.got())
		}
	})
}

func TestPublishTxCommitsWithItsTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		boom := errors.New("rolled back")
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := PublishTx(ctx, tx, sdk.Event{Type: EventUserDeleted, Actor: "admin"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || maxSeq(t, db) != 0 {
			t.Fatalf("a rolled-back event was kept: %v, max seq %d", err, maxSeq(t, db))
		}
		var ev sdk.Event
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			ev, err = PublishTx(ctx, tx, sdk.Event{Type: EventSpaceDeleted, SpaceID: "s1", Payload: []byte(`{"name":"IT"}`)})
			return err
		})
		if err != nil || ev.ID == "" || ev.Time.IsZero() {
			t.Fatalf("committed: %+v %v", ev, err)
		}
		rows, err := (&dispatcher{h: &Host{cfg: Config{DB: db}}}).read(ctx, 0)
		if err != nil || len(rows) != 1 || rows[0].event.ID != ev.ID || string(rows[0].event.Payload) != `{"name":"IT"}` ||
			!rows[0].event.Time.Equal(ev.Time) || rows[0].event.SpaceID != "s1" {
			t.Fatalf("read back %+v %v", rows, err)
		}
		if _, err := PublishTx(ctx, db, sdk.Event{Type: "x", Payload: []byte("{")}); err == nil {
			t.Fatal("published a payload that is not JSON")
		}
		if _, err := PublishTx(ctx, db, sdk.Event{}); err == nil {
			t.Fatal("published an event without a type")
		}
	})
}

func TestGapsInSequenceNumbersWaitForTransactionsInFlight(t *testing.T) {
	t.Parallel()
	now := time.Now()
	old, young := store.Micros(now.Add(-time.Minute)), store.Micros(now.Add(-time.Second))
	rows := []outboxRow{{seq: 11, created: old}, {seq: 13, created: young}, {seq: 14, created: young}}
	if got := settled(rows, 10, now); len(got) != 1 {
		t.Fatalf("passed a young gap: %d rows", len(got))
	}
	rows[1].created = old
	if got := settled(rows, 10, now); len(got) != 3 {
		t.Fatalf("held an old gap: %d rows", len(got))
	}
	if got := settled(rows[1:], 10, now); len(got) != 2 {
		t.Fatalf("held an old gap after the cursor: %d rows", len(got))
	}
}
