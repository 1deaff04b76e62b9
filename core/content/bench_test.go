package content_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/demo/scale"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/core/uid"
)

// The benchmarks measure what a typical employee (employee@demo.plein) waits for on a
// well-filled intranet: the demo organisation with 100,000 items, or PLEIN_BENCH_ITEMS.
//
//	go test -run '^$' -bench . -benchtime 200x ./core/content/

// The words of generated text (a Zipf draw: a few common, most rare) and the one in a
// few dozen items only, as plein seed scale writes them.
var benchWords, benchRare = scale.Words, scale.RareWord

type benchFixture struct {
	*demoEnv
	scope content.Scope // employee@demo.plein's
	items int
}

// benchEach runs fn as sub-benchmarks "sqlite" and "postgres", each on a freshly seeded
// database. fn must itself run sub-benchmarks, so the seeding happens once.
func benchEach(b *testing.B, fn func(b *testing.B, f *benchFixture)) {
	for _, d := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(d.name, func(b *testing.B) {
			fn(b, seedBench(b, d.open(b)))
		})
	}
}

func benchItems(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("PLEIN_BENCH_ITEMS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("PLEIN_BENCH_ITEMS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

// seedBench seeds the demo organisation and writes the items straight into the tables:
// multi-row INSERTs in large transactions, then on PostgreSQL the search vectors in one
// UPDATE with the service's expression, then VACUUM ANALYZE as autovacuum would.
func seedBench(b *testing.B, db *store.DB) *benchFixture {
	b.Helper()
	start := time.Now()
	d := seedDemo(b, db)
	n := benchItems(b)
	rng := rand.New(rand.NewPCG(2026, 3))
	zipf := rand.NewZipf(rng, 1.07, 2, uint64(len(benchWords)-1))
	text := func(words int) string {
		ws := make([]string, words)
		for i := range ws {
			ws[i] = benchWords[zipf.Uint64()]
		}
		ws[0] = strings.ToUpper(ws[0][:1]) + ws[0][1:]
		return strings.Join(ws, " ") + "."
	}

	var spaceIDs []string
	members := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(d.org.Spaces)) {
		id := d.org.Spaces[name].ID
		spaceIDs = append(spaceIDs, id)
		list, _, err := d.spaces.Members(d.ctx, id, spaces.MemberQuery{Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range list {
			members[id] = append(members[id], m.UserID)
		}
	}
	admin := d.org.Users["admin@demo.plein"].ID
	roles := d.org.Roles

	const cols = 16
	type row [cols]any
	var items, tags, access, comments [][]any
	base := time.Now().Add(-2 * 365 * 24 * time.Hour)
	step := 2 * 365 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		sp := spaceIDs[rng.IntN(len(spaceIDs))]
		author := admin
		if ms := members[sp]; len(ms) > 0 && rng.IntN(10) > 0 {
			author = ms[rng.IntN(len(ms))]
		}
		kind, title := content.KindPost, ""
		switch r := rng.IntN(10); {
		case r < 2:
			kind, title = content.KindNews, text(3+rng.IntN(6))
		case r < 3:
			kind, title = content.KindPage, text(2+rng.IntN(4))
		}
		body := text(15 + rng.IntN(100))
		if rng.IntN(n) < 40 {
			body += " De " + benchRare + " wordt hersteld."
		}
		var itemTags []string
		if rng.IntN(6) == 0 {
			t := benchWords[20+rng.IntN(60)]
			body += " #" + t
			itemTags = append(itemTags, t)
		}
		created := store.Micros(base.Add(time.Duration(i) * step))
		id := uid.New()
		var commentsText string
		nComments := 0
		if rng.IntN(8) == 0 {
			nComments = 1 + rng.IntN(3)
			for c := range nComments {
				cb := text(5 + rng.IntN(30))
				commentsText = cb + "\n" + commentsText
				comments = append(comments, []any{uid.New(), id, author, cb, created + int64(c+1)*60_000_000})
			}
		}
		restricted := rng.IntN(100) == 0
		if restricted {
			access = append(access, []any{id, "role:" + roles[rng.IntN(len(roles))]})
		}
		for _, t := range itemTags {
			tags = append(tags, []any{id, t})
		}
		r := row{id, kind, "core", sp, author, i, title, body, commentsText, jsonList(itemTags), "[]", nComments, restricted, created, created, nil}
		items = append(items, r[:])
	}
	// In how many items the searched words are, for the report.
	searched := []string{"gemeente", "planning", "wethouder", benchRare}
	df := map[string]int{}
	for _, r := range items {
		words := content.Words(r[6].(string) + " " + r[7].(string) + " " + r[8].(string))
		for _, w := range searched {
			if slices.Contains(words, w) {
				df[w]++
			}
		}
	}

	ctx := context.Background()
	insert(b, db, "items", "id, kind, owner, space_id, author_id, position, title, body, comments_text, tags, mentions, comment_count, restricted, created_at, updated_at, edited_by", items)
	insert(b, db, "item_tags", "item_id, tag", tags)
	insert(b, db, "item_access", "item_id, grantee", access)
	insert(b, db, "comments", "id, item_id, author_id, body, created_at, updated_at", withUpdated(comments))
	if db.Dialect() == store.Postgres {
		if _, err := db.ExecContext(ctx, `UPDATE items SET search =
			setweight(to_tsvector($1::regconfig, title), 'A') ||
			setweight(to_tsvector($1::regconfig, body), 'B') ||
			setweight(to_tsvector($1::regconfig, comments_text), 'C')`, d.svc.Language()); err != nil {
			b.Fatal(err)
		}
		for _, t := range []string{"items", "item_tags", "item_access", "comments"} {
			if _, err := db.ExecContext(ctx, "VACUUM ANALYZE "+t); err != nil {
				b.Fatal(err)
			}
		}
	}
	f := &benchFixture{demoEnv: d, scope: d.scope(b, d.org.Users["employee@demo.plein"].ID), items: n}
	var readable int
	cond, arg := db.InList("space_id", 1, f.scope.Spaces)
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE `+cond, arg).Scan(&readable); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d items, %d comments in %v; employee reads %d spaces, %d items; items with the searched words: %v",
		db.Dialect(), n, len(comments), time.Since(start).Round(time.Millisecond), len(f.scope.Spaces), readable, df)
	return f
}

func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	return `["` + strings.Join(v, `","`) + `"]`
}

func withUpdated(rows [][]any) [][]any {
	for i, r := range rows {
		rows[i] = append(r, r[4])
	}
	return rows
}

// insert writes rows with multi-row INSERTs, 20,000 rows to a transaction.
func insert(b *testing.B, db *store.DB, table, columns string, rows [][]any) {
	b.Helper()
	if len(rows) == 0 {
		return
	}
	width := len(rows[0])
	per := 2000 / width // the SQLite driver binds $n parameters in time quadratic in their number
	ctx := context.Background()
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 20000)]
		rows = rows[len(chunk):]
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for c := chunk; len(c) > 0; {
				part := c[:min(len(c), per)]
				c = c[len(part):]
				var q strings.Builder
				fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, columns)
				args := make([]any, 0, len(part)*width)
				for i, r := range part {
					if i > 0 {
						q.WriteString(", ")
					}
					q.WriteString("(" + store.Placeholders(len(args)+1, width) + ")")
					args = append(args, r...)
				}
				if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("insert into %s: %v", table, err)
		}
	}
}

// measure runs op b.N times and reports the median and 99th percentile latency.
func measure(b *testing.B, op func() (int, error)) {
	b.Helper()
	for range 5 { // warm caches, as a running server has them
		if _, err := op(); err != nil {
			b.Fatal(err)
		}
	}
	var samples []time.Duration
	results := 0
	for b.Loop() {
		start := time.Now()
		n, err := op()
		samples = append(samples, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		results = n
	}
	slices.Sort(samples)
	pct := func(p float64) float64 {
		i := int(float64(len(samples))*p+0.999999) - 1
		return float64(samples[max(0, min(i, len(samples)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(results), "results")
}

func BenchmarkFeed(b *testing.B) {
	benchEach(b, func(b *testing.B, f *benchFixture) {
		b.Run("first-page", func(b *testing.B) {
			measure(b, func() (int, error) {
				items, _, err := f.svc.Feed(f.ctx, f.scope, content.FeedQuery{Limit: 20})
				return len(items), err
			})
		})
		// A page deep in the feed: the cursor must not make it slower.
		items := f.feed(b, f.scope, content.FeedQuery{Limit: 500})
		deep := items[len(items)*3/4]
		b.Run("deep-page", func(b *testing.B) {
			measure(b, func() (int, error) {
				items, _, err := f.svc.Feed(f.ctx, f.scope, content.FeedQuery{Limit: 20, BeforeCreated: store.Micros(deep.CreatedAt), BeforeID: deep.ID})
				return len(items), err
			})
		})
	})
}

func BenchmarkSearch(b *testing.B) {
	benchEach(b, func(b *testing.B, f *benchFixture) {
		for _, q := range []struct{ name, q string }{
			{"very-common", "gemeente"}, // in half of all items
			{"common", "wethouder"},     // in one item of seven
			{"two-words", "gemeente planning"},
			{"rare", benchRare}, // in a few dozen items
		} {
			b.Run(q.name, func(b *testing.B) {
				measure(b, func() (int, error) {
					hits, _, err := f.svc.Search(f.ctx, f.scope, content.SearchQuery{Q: q.q, Limit: 20})
					return len(hits), err
				})
			})
		}
	})
}
