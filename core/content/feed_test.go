package content_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

func TestFeedNewestFirstWithFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		a, b, hidden := e.space(t, u.ID, "A"), e.space(t, u.ID, "B"), e.space(t, u.ID, "Verborgen")
		sc := reader(u, a, b)
		var all []content.Item // oldest first
		for i := range 12 {
			sp := []string{a, b, hidden}[i%3]
			in := content.NewItem{Kind: content.KindPost, Body: fmt.Sprintf("bericht %d", i)}
			switch i % 4 {
			case 1:
				in = content.NewItem{Kind: content.KindNews, Title: fmt.Sprintf("nieuws %d", i), Body: "x #Verkeer"}
			case 2:
				in = content.NewItem{Kind: content.KindPage, Title: fmt.Sprintf("pagina %d", i)}
			}
			all = append(all, e.create(t, u.ID, sp, in))
		}
		newest := func(keep func(content.Item) bool) []string {
			var out []string
			for i := len(all) - 1; i >= 0; i-- {
				if all[i].SpaceID != hidden && keep(all[i]) {
					out = append(out, all[i].ID)
				}
			}
			return out
		}
		for _, c := range []struct {
			name string
			fq   content.FeedQuery
			want []string
		}{
			{"all", content.FeedQuery{}, newest(func(content.Item) bool { return true })},
			{"space", content.FeedQuery{Space: a}, newest(func(it content.Item) bool { return it.SpaceID == a })},
			{"kind", content.FeedQuery{Kind: content.KindNews}, newest(func(it content.Item) bool { return it.Kind == content.KindNews })},
			{"tag", content.FeedQuery{Tag: "verkeer"}, newest(func(it content.Item) bool { return slices.Contains(it.Tags, "verkeer") })},
			{"space and kind", content.FeedQuery{Space: b, Kind: content.KindPage}, newest(func(it content.Item) bool { return it.SpaceID == b && it.Kind == content.KindPage })},
			{"unreadable space", content.FeedQuery{Space: hidden}, nil},
			{"unknown tag", content.FeedQuery{Tag: "niets"}, nil},
		} {
			for _, limit := range []int{1, 3, 50} {
				c.fq.Limit = limit
				if got := ids(e.feed(t, sc, c.fq)); !slices.Equal(got, c.want) {
					t.Errorf("%s, %d a page: %v, want %v", c.name, limit, got, c.want)
				}
			}
		}
		first, more, err := e.svc.Feed(e.ctx, sc, content.FeedQuery{Limit: 3})
		if err != nil || !more || len(first) != 3 {
			t.Fatalf("first page: %d %v %v", len(first), more, err)
		}
		if items, more, err := e.svc.Feed(e.ctx, reader(u), content.FeedQuery{Limit: 3}); err != nil || more || len(items) != 0 {
			t.Fatalf("empty scope: %v %v %v", ids(items), more, err)
		}
	})
}

// TestFeedPagesStayExactWhileItemsArrive walks the feed seven at a time while another
// goroutine adds items, readable and not: every item that was there before the walk
// comes exactly once, and nothing the reader may not read comes at all.
func TestFeedPagesStayExactWhileItemsArrive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		anna := e.user(t, "anna@x.nl", "employee")
		bram := e.user(t, "bram@x.nl", "employee")
		mine, other := e.space(t, anna.ID, "Mijn team"), e.space(t, anna.ID, "Ander team")
		sc := reader(anna, mine)

		// add makes item i: a third in the other space. Before the walk a fifth are also
		// restricted to bram and a fifth to anna; during it, restricting would leave the
		// item open for a moment between two calls, so those stay open.
		add := func(i int, restrict bool) (content.Item, bool, error) {
			sp := mine
			if i%3 == 0 {
				sp = other
			}
			it, err := e.svc.Create(e.ctx, bram.ID, sp, content.NewItem{Kind: content.KindPost, Body: fmt.Sprintf("bericht %d", i)})
			if err != nil || !restrict {
				return it, sp == mine, err
			}
			switch i % 5 {
			case 1:
				return it, false, e.svc.SetAccess(e.ctx, it.ID, []string{"user:" + bram.ID})
			case 2:
				return it, sp == mine, e.svc.SetAccess(e.ctx, it.ID, []string{"user:" + anna.ID})
			}
			return it, sp == mine, nil
		}
		readable := map[string]bool{} // every item there before the walk: may anna read it?
		for i := range 60 {
			it, ok, err := add(i, true)
			if err != nil {
				t.Fatal(err)
			}
			readable[it.ID] = ok
		}

		ctx, stop := context.WithCancel(e.ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		added := map[string]bool{}
		go func() {
			defer wg.Done()
			for i := 1000; ctx.Err() == nil; i++ {
				if it, ok, err := add(i, false); err == nil {
					added[it.ID] = ok
				}
			}
		}()

		seen := map[string]int{}
		fq := content.FeedQuery{Limit: 7}
		var prev *content.Item
		pages := 0
		for {
			items, more, err := e.svc.Feed(e.ctx, sc, fq)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range items {
				seen[it.ID]++
				if it.SpaceID != mine || (it.Restricted && !slices.Contains(e.column(t, `SELECT grantee FROM item_access WHERE item_id = $1`, it.ID), "user:"+anna.ID)) {
					t.Errorf("unreadable item %s in the feed", it.ID)
				}
				if prev != nil && (it.CreatedAt.After(prev.CreatedAt) || (it.CreatedAt.Equal(prev.CreatedAt) && it.ID >= prev.ID)) {
					t.Errorf("feed out of order at %s", it.ID)
				}
				prev = &it
			}
			if !more {
				break
			}
			fq.BeforeCreated, fq.BeforeID = store.Micros(prev.CreatedAt), prev.ID
		}
		stop()
		wg.Wait()
		t.Logf("%d pages, %d items added during the walk", pages, len(added))
		for id, n := range seen {
			if n > 1 {
				t.Errorf("%s came %d times", id, n)
			}
			if _, before := readable[id]; !before && !added[id] {
				t.Errorf("%s is unknown or unreadable", id)
			}
		}
		for id, ok := range readable {
			if ok && seen[id] != 1 {
				t.Errorf("readable item %s came %d times", id, seen[id])
			}
		}
		if len(added) == 0 {
			t.Log("no items were added during the walk")
		}
	})
}
