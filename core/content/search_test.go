package content_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

func TestSearchRanksTitleOverBodyOverComments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		// Created worst first, so neither time nor id order can pass for rank order.
		inComment := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Subsidie aanvraag", Body: "Regeling voor de woning in het najaar."})
		e.comment(t, u.ID, inComment.ID, "Geldt dit ook voor een zonnepaneel?", nil)
		inBody := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Subsidie regeling", Body: "Aanvraag voor een zonnepaneel in het najaar."})
		inTitle := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Zonnepaneel subsidie", Body: "Aanvraag voor de regeling in het najaar."})
		e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Subsidie fiets", Body: "Aanvraag voor een fiets in het najaar."})

		hits := e.search(t, reader(u, sp), content.SearchQuery{Q: "zonnepaneel"})
		if got, want := hitIDs(hits), []string{inTitle.ID, inBody.ID, inComment.ID}; !slices.Equal(got, want) {
			t.Fatalf("order %v, want title, body, comment %v", got, want)
		}
		if !(hits[0].Rank > hits[1].Rank && hits[1].Rank > hits[2].Rank && hits[2].Rank > 0) {
			t.Fatalf("ranks %v %v %v", hits[0].Rank, hits[1].Rank, hits[2].Rank)
		}
	})
}

func TestSearchFiltersByScopeSpaceAndKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		a, b, hidden := e.space(t, u.ID, "A"), e.space(t, u.ID, "B"), e.space(t, u.ID, "Verborgen")
		postA := e.post(t, u.ID, a, "De begroting van dit jaar")
		newsA := e.create(t, u.ID, a, content.NewItem{Kind: content.KindNews, Title: "Begroting", Body: "Vastgesteld."})
		pageB := e.create(t, u.ID, b, content.NewItem{Kind: content.KindPage, Title: "Handboek", Body: "Hoe de begroting tot stand komt."})
		e.post(t, u.ID, hidden, "De geheime begroting")
		e.post(t, u.ID, a, "Iets anders")
		sc := reader(u, a, b)
		for _, c := range []struct {
			name string
			sq   content.SearchQuery
			want []string
		}{
			{"all readable", content.SearchQuery{Q: "begroting"}, []string{postA.ID, newsA.ID, pageB.ID}},
			{"space", content.SearchQuery{Q: "begroting", Space: a}, []string{postA.ID, newsA.ID}},
			{"kind", content.SearchQuery{Q: "begroting", Kind: content.KindPage}, []string{pageB.ID}},
			{"space and kind", content.SearchQuery{Q: "begroting", Space: a, Kind: content.KindNews}, []string{newsA.ID}},
			{"unreadable space", content.SearchQuery{Q: "begroting", Space: hidden}, nil},
			{"word only in an unreadable space", content.SearchQuery{Q: "geheime"}, nil},
		} {
			if got := hitIDs(e.search(t, sc, c.sq)); !sameSet(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		if got := hitIDs(e.search(t, content.Scope{UserID: u.ID, AllSpaces: true}, content.SearchQuery{Q: "geheime"})); len(got) != 1 {
			t.Errorf("every space: %v", got)
		}
		if hits, more, err := e.svc.Search(e.ctx, reader(u), content.SearchQuery{Q: "begroting", Limit: 5}); err != nil || more || len(hits) != 0 {
			t.Errorf("empty scope: %v %v %v", hitIDs(hits), more, err)
		}
	})
}

func TestSearchSnippetsAndHighlights(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		// Multi-byte characters before the matches: byte and rune offsets differ.
		it := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Één café op het plein",
			Body: "Het café aan de Dorpsstraat krijgt een terras. De vergunning is verleend na overleg met de buren; " +
				"over de vergunning zelf volgt later meer. " + strings.Repeat("Dit is opvultekst zonder betekenis. ", 40)})
		e.post(t, u.ID, sp, "niets hierover")
		for _, c := range []struct{ q, word string }{{"vergunning", "vergunning"}, {"café", "café"}, {"dorpsstraat", "dorpsstraat"}} {
			hits := e.search(t, reader(u, sp), content.SearchQuery{Q: c.q})
			if len(hits) != 1 || hits[0].ID != it.ID {
				t.Fatalf("%s: hits %v", c.q, hitIDs(hits))
			}
			h := hits[0]
			if len(h.Highlights) == 0 {
				t.Fatalf("%s: no highlights in %q", c.q, h.Snippet)
			}
			if strings.ContainsAny(h.Snippet, content.MarkStart+content.MarkEnd) || len(h.Snippet) > 2000 {
				t.Fatalf("%s: snippet %q", c.q, h.Snippet)
			}
			runes := []rune(h.Snippet)
			for _, r := range h.Highlights {
				if r[0] < 0 || r[1] > len(runes) || r[0] >= r[1] {
					t.Fatalf("%s: range %v outside %q", c.q, r, h.Snippet)
				}
				if got := strings.ToLower(string(runes[r[0]:r[1]])); got != c.word {
					t.Errorf("%s: range %v points at %q in %q", c.q, r, got, h.Snippet)
				}
			}
			if !strings.Contains(strings.ToLower(h.Snippet), c.word) {
				t.Errorf("%s: snippet %q", c.q, h.Snippet)
			}
			if h.Title != it.Title || h.Body != it.Body || h.Author == nil {
				t.Errorf("%s: hit item %+v", c.q, h.Item)
			}
		}
	})
}

// TestSearchPagesReturnEveryHitOnce pages through hits with equal and different ranks.
func TestSearchPagesReturnEveryHitOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		var want []string
		for i := range 23 {
			// Four distinct texts: most hits share their rank with others.
			body := strings.Repeat("rapport ", i%4+1) + "over de begroting en de planning"
			want = append(want, e.post(t, u.ID, sp, body).ID)
		}
		e.post(t, u.ID, sp, "geen treffer")
		sc := reader(u, sp)
		for _, limit := range []int{1, 4, 7, 23, 100} {
			var got []content.Hit
			sq := content.SearchQuery{Q: "rapport", Limit: limit}
			for pages := 0; ; pages++ {
				if pages > 30 {
					t.Fatal("paging does not end")
				}
				hits, more, err := e.svc.Search(e.ctx, sc, sq)
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) > limit || (more && len(hits) != limit) {
					t.Fatalf("limit %d: page of %d, more %v", limit, len(hits), more)
				}
				got = append(got, hits...)
				if !more {
					break
				}
				last := hits[len(hits)-1]
				sq.AfterRank, sq.AfterID = ptr(last.Rank), last.ID
			}
			if !sameSet(hitIDs(got), want) || len(got) != len(want) {
				t.Fatalf("limit %d: %d hits, want each of %d once", limit, len(got), len(want))
			}
			for i := 1; i < len(got); i++ {
				if got[i].Rank > got[i-1].Rank || (got[i].Rank == got[i-1].Rank && got[i].ID >= got[i-1].ID) {
					t.Fatalf("limit %d: hits %d and %d out of order", limit, i-1, i)
				}
			}
			if ranks := distinctRanks(got); ranks != 4 {
				t.Fatalf("%d distinct ranks, want 4", ranks)
			}
		}
	})
}

func distinctRanks(hits []content.Hit) int {
	seen := map[float64]bool{}
	for _, h := range hits {
		seen[h.Rank] = true
	}
	return len(seen)
}

func TestSearchQuerySyntax(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		docs := map[string]string{}
		for name, body := range map[string]string{
			"laptop-printer": "Mijn laptop vindt de printer niet.",
			"laptop-scanner": "De laptop en de scanner doen het.",
			"printer-kapot":  "De printer op de tweede verdieping is kapot.",
			"nieuw-gh":       "Planning van het nieuw gemeentehuis.",
			"gh-nieuw":       "Het gemeentehuis is straks nieuw.",
			"email":          "Stuur een e-mail naar de helpdesk.",
		} {
			docs[e.post(t, u.ID, sp, body).ID] = name
		}
		sc := reader(u, sp)
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"laptop", []string{"laptop-printer", "laptop-scanner"}},
			{"LAPTOP printer", []string{"laptop-printer"}},
			{"laptop -printer", []string{"laptop-scanner"}},
			{`laptop -"de printer"`, []string{"laptop-scanner"}},
			{"scanner OR kapot", []string{"laptop-scanner", "printer-kapot"}},
			{"laptop printer OR kapot", []string{"laptop-printer", "printer-kapot"}},
			{`"nieuw gemeentehuis"`, []string{"nieuw-gh"}},
			{`nieuw gemeentehuis`, []string{"nieuw-gh", "gh-nieuw"}},
			{`"gemeentehuis nieuw"`, nil},
			{"e-mail", []string{"email"}},
			{"helpdesk!", []string{"email"}},
			{"NEAR(laptop printer)", nil}, // FTS5 syntax is only content.Words here: "near" is in no text
			{"(laptop) printer:*", []string{"laptop-printer"}},
			{"onbekend", nil},
		} {
			var got []string
			for _, h := range e.search(t, sc, content.SearchQuery{Q: c.q}) {
				got = append(got, docs[h.ID])
			}
			if !sameSet(got, c.want) {
				t.Errorf("%s: %v, want %v", c.q, got, c.want)
			}
		}
		// Prefixes: SQLite searches them; PostgreSQL's websearch syntax has none and
		// searches the word itself.
		var got []string
		for _, h := range e.search(t, sc, content.SearchQuery{Q: "gemeente*"}) {
			got = append(got, docs[h.ID])
		}
		if db.Dialect() == store.SQLite && !sameSet(got, []string{"nieuw-gh", "gh-nieuw"}) {
			t.Errorf("gemeente*: %v", got)
		}
	})
}

func TestSearchFoldsDiacriticsAndStems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		cafe := e.post(t, u.ID, sp, "Vrijdag borrel in het café om de hoek.")
		plain := e.post(t, u.ID, sp, "Het cafe sluit om tien uur.")
		permits := e.post(t, u.ID, sp, "Alle vergunningen voor evenementen staan online.")
		permit := e.post(t, u.ID, sp, "De vergunning is verleend.")
		sc := reader(u, sp)
		find := func(q string) []string { return hitIDs(e.search(t, sc, content.SearchQuery{Q: q})) }
		for _, q := range []string{"café", "cafe", "CAFÉ", "Cafe"} {
			if got := find(q); !sameSet(got, []string{cafe.ID, plain.ID}) {
				t.Errorf("%s: %v, want both cafés", q, got)
			}
		}
		// Dutch stemming is PostgreSQL's: SQLite's index matches content.Words as written.
		got := find("vergunning")
		if db.Dialect() == store.Postgres && !sameSet(got, []string{permit.ID, permits.ID}) {
			t.Errorf("vergunning: %v, want singular and plural", got)
		}
		if db.Dialect() == store.SQLite && !sameSet(got, []string{permit.ID}) {
			t.Errorf("vergunning: %v, want the singular", got)
		}
		if db.Dialect() == store.SQLite {
			if got := find("vergunning*"); !sameSet(got, []string{permit.ID, permits.ID}) {
				t.Errorf("vergunning*: %v", got)
			}
		}
	})
}

func TestSearchRefusesQueriesWithoutWords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		e.post(t, u.ID, sp, "fietsen")
		for _, q := range []string{"", "   ", "-fietsen", "***", `""`, "OR", "!?.,", "\xff", strings.Repeat("woord ", content.MaxQueryTerms+1), strings.Repeat("x", content.MaxQueryRunes+1)} {
			_, _, err := e.svc.Search(e.ctx, reader(u, sp), content.SearchQuery{Q: q, Limit: 10})
			if !fault.Is(err, fault.Invalid) {
				t.Errorf("%q: %v, want Invalid", q, err)
			}
		}
		// Words made of what FTS5 or tsquery would read as syntax are only content.Words.
		for _, q := range []string{`"a" AND "b"`, "x:*", "a & b | !c", "(fietsen)", "fietsen^2", "body:fietsen", `fietsen"`} {
			if _, _, err := e.svc.Search(e.ctx, reader(u, sp), content.SearchQuery{Q: q, Limit: 10}); err != nil {
				t.Errorf("%q: %v", q, err)
			}
		}
		for _, q := range []string{"(fietsen)", "fietsen:*", "title:fietsen OR fietsen"} {
			if hits := e.search(t, reader(u, sp), content.SearchQuery{Q: q}); len(hits) != 1 {
				t.Errorf("%s: %v", q, hitIDs(hits))
			}
		}
	})
}
