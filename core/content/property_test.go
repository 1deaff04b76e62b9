package content_test

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

// vocabulary is what generated texts are made of: no stop content.Words, no two sharing a stem.
var vocabulary = strings.Fields(`begroting vergunning parkeren fietsenstalling gemeentehuis zonnepanelen helpdesk
	laptop printer vergadering planning woningbouw aannemer subsidie afvalinzameling evenement wethouder raadsvoorstel
	inspraak paspoort rijbewijs verkeer onderhoud groenvoorziening budget kantoor thuiswerken deadline roadmap
	burgerzaken speeltuin bibliotheek sportpark`)

// TestScopeHoldsOverTheDemoOrganisation fills the demo organisation's spaces with items,
// comments and a few restricted items, and checks for random users, with the scope the
// real authorizer gives them, that Feed, Search, Get and PageTree return everything they
// may read and nothing else.
func TestScopeHoldsOverTheDemoOrganisation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		d := seedDemo(t, db)
		const seed = 20260302
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		pick := func(list []string) string { return list[rng.IntN(len(list))] }
		text := func(n int) string {
			ws := make([]string, n)
			for i := range ws {
				ws[i] = pick(vocabulary)
			}
			return strings.Join(ws, " ")
		}

		admin := d.org.Users["admin@demo.plein"].ID
		emails := slices.Sorted(maps.Keys(d.org.Users))
		var everyone []string
		for _, e := range emails {
			everyone = append(everyone, d.org.Users[e].ID)
		}
		var spaceIDs []string
		members := map[string][]string{}
		for _, name := range slices.Sorted(maps.Keys(d.org.Spaces)) {
			id := d.org.Spaces[name].ID
			spaceIDs = append(spaceIDs, id)
			list, _, err := d.spaces.Members(d.ctx, id, spaces.MemberQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range list {
				members[id] = append(members[id], m.UserID)
			}
		}
		if len(spaceIDs) != 19 {
			t.Fatalf("%d demo spaces, want 19", len(spaceIDs))
		}

		// The content: 300 items in every space, by members (or the admin).
		var all []*made
		pagesOf := map[string][]string{}
		for i := range 300 {
			sp := spaceIDs[i%len(spaceIDs)]
			author := admin
			if ms := members[sp]; len(ms) > 0 && rng.IntN(6) > 0 {
				author = pick(ms)
			}
			in := content.NewItem{Kind: content.KindPost, Body: text(4 + rng.IntN(12))}
			switch rng.IntN(4) {
			case 0:
				in.Kind, in.Title = content.KindNews, text(3)
			case 1:
				in.Kind, in.Title = content.KindPage, text(2)
				if ps := pagesOf[sp]; len(ps) > 0 && rng.IntN(2) == 0 {
					in.ParentID = ptr(pick(ps))
				}
			}
			if rng.IntN(5) == 0 {
				in.Body += " #" + pick(vocabulary)
			}
			it := d.create(t, author, sp, in)
			m := &made{Item: it, words: map[string]bool{}}
			for _, w := range content.Words(it.Title + " " + it.Body) {
				m.words[w] = true
			}
			all = append(all, m)
			if it.Kind == content.KindPage {
				pagesOf[sp] = append(pagesOf[sp], it.ID)
			}
		}
		var comments []content.Comment
		for range 80 {
			m := all[rng.IntN(len(all))]
			var parent *string
			if rng.IntN(3) == 0 {
				for _, c := range comments {
					if c.ItemID == m.ID {
						parent = &c.ID
						break
					}
				}
			}
			c := d.comment(t, pick(everyone), m.ID, text(3+rng.IntN(6)), parent)
			comments = append(comments, c)
			for _, w := range content.Words(c.Body) {
				m.words[w] = true
			}
		}
		for range 15 {
			m := all[rng.IntN(len(all))]
			g := "role:" + pick(d.org.Roles)
			if rng.IntN(2) == 0 {
				g = "user:" + pick(everyone)
			}
			m.grantees = append(m.grantees, g)
			if err := d.svc.SetAccess(d.ctx, m.ID, m.grantees); err != nil {
				t.Fatal(err)
			}
		}

		// The readers: three sample logins and random others.
		readers := []string{admin, d.org.Users["employee@demo.plein"].ID, d.org.Users["external@demo.plein"].ID}
		n := 20
		if raceEnabled && db.Dialect() == store.SQLite {
			n = 8 // each costs a second there: keep the package's run under half a minute
		}
		for len(readers) < n {
			if id := pick(everyone); !slices.Contains(readers, id) {
				readers = append(readers, id)
			}
		}
		// Each reader is a parallel subtest: they only read.
		for _, uid := range readers {
			user, err := d.users.GetUser(d.ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			sc, own := d.scope(t, uid), rand.New(rand.NewPCG(seed, rng.Uint64()))
			t.Run(user.Email, func(t *testing.T) {
				t.Parallel()
				checkReader(t, d, sc, user, all, spaceIDs, own)
			})
		}
	})
}

// made is an item the property test made, with what it knows of it.
type made struct {
	content.Item
	grantees []string
	words    map[string]bool // every word of its title, body and comments
}

// checkReader checks that Feed, Search, Get and PageTree give the reader everything
// they may read of all and nothing else.
func checkReader(t *testing.T, d *demoEnv, sc content.Scope, user identity.User, all []*made, spaceIDs []string, rng *rand.Rand) {
	byID := map[string]*made{}
	for _, m := range all {
		byID[m.ID] = m
	}
	set := map[string]bool{}
	for _, id := range sc.Spaces {
		set[id] = true
	}
	may := func(m *made) bool {
		if !sc.AllSpaces && !set[m.SpaceID] {
			return false
		}
		if len(m.grantees) == 0 || (m.Author != nil && m.Author.ID == user.ID) || slices.Contains(m.grantees, "user:"+user.ID) {
			return true
		}
		return slices.ContainsFunc(user.Roles, func(r string) bool { return slices.Contains(m.grantees, "role:"+r) })
	}
	var want []string
	for _, m := range all {
		if may(m) {
			want = append(want, m.ID)
		}
	}
	check := func(what, id string) {
		t.Helper()
		if m, ok := byID[id]; !ok {
			t.Errorf("%s returned unknown item %s", what, id)
		} else if !may(m) {
			t.Errorf("%s returned %s (space %s, grantees %v), which they may not read", what, id, m.SpaceID, m.grantees)
		}
	}

	feed := ids(d.feed(t, sc, content.FeedQuery{Limit: 25}))
	for _, id := range feed {
		check("feed", id)
	}
	if !sameSet(feed, want) || len(feed) != len(want) {
		t.Errorf("feed has %d items, want each of %d readable once", len(feed), len(want))
	}

	for range 4 {
		w := vocabulary[rng.IntN(len(vocabulary))]
		hits := hitIDs(d.search(t, sc, content.SearchQuery{Q: w, Limit: 20}))
		for _, id := range hits {
			check("search "+w, id)
		}
		for _, m := range all {
			if may(m) && m.words[w] && !slices.Contains(hits, m.ID) {
				t.Errorf("search %s misses %s", w, m.ID)
			}
		}
	}

	for _, m := range all {
		_, err := d.svc.Get(d.ctx, sc, m.ID)
		switch {
		case may(m) && err != nil:
			t.Errorf("Get readable %s: %v", m.ID, err)
		case !may(m) && !fault.Is(err, fault.NotFound):
			t.Errorf("Get unreadable %s: %v, want NotFound", m.ID, err)
		}
	}

	for _, sp := range spaceIDs {
		nodes, err := d.svc.PageTree(d.ctx, sc, sp)
		if err != nil {
			t.Fatal(err)
		}
		var walk func([]*content.PageNode)
		walk = func(ns []*content.PageNode) {
			for _, n := range ns {
				check("page tree", n.ID)
				walk(n.Children)
			}
		}
		walk(nodes)
	}
	t.Logf("roles %s, all spaces %v, %d spaces, %d readable items", strings.Join(user.Roles, ","), sc.AllSpaces, len(sc.Spaces), len(want))
}
