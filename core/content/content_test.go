package content_test

import (
	"database/sql"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

func TestCheckLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if got := content.New(db, content.Options{}).Language(); got != "simple" {
			t.Errorf("default language %q, want simple", got)
		}
		if err := content.New(db, content.Options{Language: "dutch"}).CheckLanguage(e.ctx); err != nil {
			t.Errorf("dutch: %v", err)
		}
		err := content.New(db, content.Options{Language: "klingon"}).CheckLanguage(e.ctx)
		if db.Dialect() == store.Postgres && err == nil {
			t.Error("klingon accepted on PostgreSQL")
		}
		if db.Dialect() == store.SQLite && err != nil {
			t.Errorf("SQLite's index is language-neutral, yet: %v", err)
		}
	})
}

func TestCreateValidatesInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		other := e.space(t, u.ID, "Elders")
		post := e.post(t, u.ID, sp, "een bericht")
		foreign := e.page(t, u.ID, other, "Elders", nil)
		for _, c := range []struct {
			name string
			in   content.NewItem
			want fault.Kind
		}{
			{"news needs a title", content.NewItem{Kind: content.KindNews, Body: "tekst"}, fault.Invalid},
			{"news title of spaces", content.NewItem{Kind: content.KindNews, Title: "  \t ", Body: "tekst"}, fault.Invalid},
			{"page needs a title", content.NewItem{Kind: content.KindPage, Body: "tekst"}, fault.Invalid},
			{"post needs a body", content.NewItem{Kind: content.KindPost, Title: "titel"}, fault.Invalid},
			{"post body of spaces", content.NewItem{Kind: content.KindPost, Body: " \n\t "}, fault.Invalid},
			{"post body too large", content.NewItem{Kind: content.KindPost, Body: strings.Repeat("a", content.MaxPostBody+1)}, fault.TooLarge},
			{"news body too large", content.NewItem{Kind: content.KindNews, Title: "t", Body: strings.Repeat("a", content.MaxPostBody+1)}, fault.TooLarge},
			{"page body too large", content.NewItem{Kind: content.KindPage, Title: "t", Body: strings.Repeat("a", content.MaxPageBody+1)}, fault.TooLarge},
			{"bell in body", content.NewItem{Kind: content.KindPost, Body: "ding\adong"}, fault.Invalid},
			{"NUL in body", content.NewItem{Kind: content.KindPost, Body: "a\x00b"}, fault.Invalid},
			{"escape in body", content.NewItem{Kind: content.KindPost, Body: "\x1b[31mrood"}, fault.Invalid},
			{"C1 control in body", content.NewItem{Kind: content.KindPost, Body: "a\u0085b"}, fault.Invalid},
			{"invalid UTF-8 in body", content.NewItem{Kind: content.KindPost, Body: "caf\xe9"}, fault.Invalid},
			{"invalid UTF-8 in title", content.NewItem{Kind: content.KindNews, Title: "caf\xe9", Body: "x"}, fault.Invalid},
			{"line break in title", content.NewItem{Kind: content.KindNews, Title: "twee\nregels", Body: "x"}, fault.Invalid},
			{"title too long", content.NewItem{Kind: content.KindNews, Title: strings.Repeat("é", content.MaxTitle+1), Body: "x"}, fault.Invalid},
			{"bad kind", content.NewItem{Kind: "Post!", Body: "x"}, fault.Invalid},
			{"no kind", content.NewItem{Body: "x"}, fault.Invalid},
			{"post with a parent", content.NewItem{Kind: content.KindPost, Body: "x", ParentID: &post.ID}, fault.Invalid},
			{"post with a position", content.NewItem{Kind: content.KindPost, Body: "x", Position: ptr(0)}, fault.Invalid},
			{"page under a post", content.NewItem{Kind: content.KindPage, Title: "t", ParentID: &post.ID}, fault.Invalid},
			{"page under another space's page", content.NewItem{Kind: content.KindPage, Title: "t", ParentID: &foreign.ID}, fault.Invalid},
			{"page under nothing", content.NewItem{Kind: content.KindPage, Title: "t", ParentID: ptr("06h0fznpw94qarcr9ez33qwe08")}, fault.Invalid},
			{"negative position", content.NewItem{Kind: content.KindPage, Title: "t", Position: ptr(-1)}, fault.Invalid},
		} {
			_, err := e.svc.Create(e.ctx, u.ID, sp, c.in)
			if !fault.Is(err, c.want) {
				t.Errorf("%s: got %v, want kind %d", c.name, err, c.want)
			}
		}
		_, err := e.svc.Create(e.ctx, u.ID, "06h0fznpw94qarcr9ez33qwe08", content.NewItem{Kind: content.KindPost, Body: "x"})
		wantKind(t, err, fault.NotFound)
		if n := e.count(t, `SELECT COUNT(*) FROM items`); n != 2 {
			t.Fatalf("%d items after refused creates, want 2", n)
		}

		// What is allowed: the limits themselves, tabs and line breaks, trailing white
		// space trimmed, a page without a body, a plugin's kind.
		for _, in := range []content.NewItem{
			{Kind: content.KindPost, Body: strings.Repeat("a", content.MaxPostBody)},
			{Kind: content.KindPost, Body: strings.Repeat("a", content.MaxPostBody) + " \n\n"},
			{Kind: content.KindPage, Title: "Groot", Body: strings.Repeat("a", content.MaxPageBody)},
			{Kind: content.KindNews, Title: strings.Repeat("é", content.MaxTitle), Body: "x"},
			{Kind: content.KindPost, Body: "kolom\tkolom\r\nregel\n"},
			{Kind: content.KindPage, Title: "Leeg"},
			{Kind: "idea", Owner: "votes", Title: "Idee", Body: "fietsenstalling"},
		} {
			it, err := e.svc.Create(e.ctx, u.ID, sp, in)
			if err != nil {
				t.Errorf("%s %.20q: %v", in.Kind, in.Body, err)
				continue
			}
			if strings.TrimRight(in.Body, " \n") != it.Body || it.Kind != in.Kind {
				t.Errorf("%s stored as %s %.20q", in.Kind, it.Kind, it.Body)
			}
		}
	})
}

func TestCreateReturnsTheItem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		it := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "  Nieuw gemeentehuis ", Body: "De bouw begint."})
		if it.Kind != content.KindNews || it.Owner != "core" || it.SpaceID != sp || it.Title != "Nieuw gemeentehuis" || it.Body != "De bouw begint." ||
			it.Author == nil || it.Author.ID != u.ID || it.Author.Name != u.Name || it.ParentID != nil || it.CommentCount != 0 ||
			it.Restricted || it.EditedBy != nil || !it.CreatedAt.Equal(it.UpdatedAt) || it.CreatedAt.IsZero() ||
			it.Tags == nil || it.Mentions == nil || it.Features == nil {
			t.Fatalf("%+v", it)
		}
		got, err := e.svc.Get(e.ctx, reader(u, sp), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, it) {
			t.Fatalf("Get %+v\nCreate %+v", got, it)
		}
	})
}

func TestCreateRecordsTagsAndMentions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		anna := e.user(t, "anna.devries@x.nl")
		bram := e.user(t, "bram.jansen@x.nl")
		e.user(t, "piet@a.nl") // two users share the handle "piet": it names no one
		e.user(t, "piet@b.nl")
		gone := e.user(t, "gone@x.nl")
		if _, err := e.users.UpdateUser(e.ctx, gone.ID, identity.UserPatch{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		sp := e.space(t, anna.ID, "Financiën")
		it := e.post(t, anna.ID, sp, "Overleg over #Begroting en #begroting-2027 met @Bram.Jansen, @anna.devries, @piet, @gone en @onbekend.\n"+
			"Mail anna.devries@x.nl; #begroting nogmaals, @bram.jansen nogmaals; geen tag: issue#4 &#39;")
		if want := []string{"begroting", "begroting-2027"}; !slices.Equal(it.Tags, want) {
			t.Errorf("tags %v, want %v", it.Tags, want)
		}
		if want := []string{bram.ID, anna.ID}; !slices.Equal(it.Mentions, want) {
			t.Errorf("mentions %v, want %v (bram, anna)", it.Mentions, want)
		}
		if got := e.column(t, `SELECT tag FROM item_tags WHERE item_id = $1 ORDER BY tag`, it.ID); !slices.Equal(got, []string{"begroting", "begroting-2027"}) {
			t.Errorf("item_tags %v", got)
		}
		if got := e.column(t, `SELECT user_id FROM mentions WHERE source_id = $1 AND item_id = $1`, it.ID); !sameSet(got, []string{anna.ID, bram.ID}) {
			t.Errorf("mentions table %v", got)
		}
		// The tag filters the feed whatever its case.
		got, _, err := e.svc.Feed(e.ctx, reader(anna, sp), content.FeedQuery{Tag: "BEGROTING", Limit: 10})
		if err != nil || !slices.Equal(ids(got), []string{it.ID}) {
			t.Fatalf("feed by tag: %v %v", ids(got), err)
		}
	})
}

// TestGetKeepsToTheScope checks that an item outside the reader's spaces does not exist for them.
func TestGetKeepsToTheScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		a, b := e.space(t, u.ID, "A"), e.space(t, u.ID, "B")
		inB := e.post(t, u.ID, b, "in B")
		for _, c := range []struct {
			name string
			sc   content.Scope
			ok   bool
		}{
			{"other space", reader(u, a), false},
			{"no spaces", reader(u), false},
			{"its space", reader(u, a, b), true},
			{"every space", content.Scope{UserID: u.ID, AllSpaces: true}, true},
			{"no user, its space", content.Scope{Spaces: []string{b}}, true},
		} {
			_, err := e.svc.Get(e.ctx, c.sc, inB.ID)
			sameAnswer(t, e, c.sc, inB.ID, err)
			if c.ok && err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			if !c.ok && !fault.Is(err, fault.NotFound) {
				t.Errorf("%s: got %v, want NotFound", c.name, err)
			}
		}
		for _, id := range []string{"06h0fznpw94qarcr9ez33qwe08", "", "'; DROP TABLE items; --", strings.ToUpper(inB.ID)} {
			_, err := e.svc.Get(e.ctx, content.Scope{AllSpaces: true}, id)
			wantKind(t, err, fault.NotFound)
			sameAnswer(t, e, content.Scope{AllSpaces: true}, id, err)
		}
	})
}

// sameAnswer checks that Head finds the item exactly when Get did (getErr), with
// the same space and author.
func sameAnswer(t *testing.T, e *env, sc content.Scope, id string, getErr error) {
	t.Helper()
	h, err := e.svc.Head(e.ctx, sc, id)
	switch {
	case (err == nil) != (getErr == nil):
		t.Errorf("Head(%s): %v, but Get: %v", id, err, getErr)
	case err != nil:
		wantKind(t, err, fault.NotFound)
	default:
		it, _ := e.svc.Get(e.ctx, sc, id)
		if h.ID != it.ID || h.SpaceID != it.SpaceID || h.Kind != it.Kind || h.Owner != it.Owner || it.Author == nil || h.AuthorID != it.Author.ID {
			t.Errorf("Head(%s) = %+v, item %+v", id, h, it)
		}
	}
}

// TestRestrictedItemsReachOnlyGrantees checks Get, Feed, Search and PageTree for items
// restricted to a user, to a role, and a restricted page with a subpage.
func TestRestrictedItemsReachOnlyGrantees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.role(t, "dept-finance")
		author := e.user(t, "auteur@x.nl", "employee")
		granted := e.user(t, "gekozen@x.nl", "employee")
		finance := e.user(t, "financien@x.nl", "employee", "dept-finance")
		other := e.user(t, "ander@x.nl", "employee")
		sp := e.space(t, author.ID, "Team")

		open := e.post(t, author.ID, sp, "open geheim")
		toUser := e.post(t, author.ID, sp, "geheim voor een persoon")
		toRole := e.post(t, author.ID, sp, "geheim voor financien")
		page := e.page(t, author.ID, sp, "Geheim dossier", nil)
		sub := e.page(t, author.ID, sp, "Bijlage", &page.ID)
		openPage := e.page(t, author.ID, sp, "Openbaar", nil)
		for id, g := range map[string][]string{
			toUser.ID: {"user:" + granted.ID},
			toRole.ID: {"role:dept-finance"},
			page.ID:   {"user:" + granted.ID, "role:dept-finance"},
		} {
			if err := e.svc.SetAccess(e.ctx, id, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.SetAccess(e.ctx, "06h0fznpw94qarcr9ez33qwe08", []string{"role:x"}); !fault.Is(err, fault.NotFound) {
			t.Fatalf("SetAccess on nothing: %v", err)
		}
		if !e.get(t, toUser.ID).Restricted || e.get(t, open.ID).Restricted {
			t.Fatal("restricted flag not kept")
		}

		everything := []string{open.ID, toUser.ID, toRole.ID, page.ID, sub.ID, openPage.ID}
		for _, c := range []struct {
			who  string
			sc   content.Scope
			want []string
			tree string
		}{
			{"author", reader(author, sp), everything, "Geheim dossier(Bijlage) Openbaar"},
			{"granted user", reader(granted, sp), []string{open.ID, toUser.ID, page.ID, sub.ID, openPage.ID}, "Geheim dossier(Bijlage) Openbaar"},
			{"role holder", reader(finance, sp), []string{open.ID, toRole.ID, page.ID, sub.ID, openPage.ID}, "Geheim dossier(Bijlage) Openbaar"},
			{"someone else", reader(other, sp), []string{open.ID, sub.ID, openPage.ID}, "Openbaar"},
			// Reading every space does not open restricted items.
			{"admin", content.Scope{UserID: other.ID, Roles: []string{"admin"}, AllSpaces: true}, []string{open.ID, sub.ID, openPage.ID}, "Openbaar"},
		} {
			for _, id := range everything {
				_, err := e.svc.Get(e.ctx, c.sc, id)
				sameAnswer(t, e, c.sc, id, err)
				if slices.Contains(c.want, id) != (err == nil) {
					t.Errorf("%s: Get %s: %v", c.who, e.get(t, id).Title+e.get(t, id).Body, err)
				}
			}
			if got := ids(e.feed(t, c.sc, content.FeedQuery{Limit: 2})); !sameSet(got, c.want) {
				t.Errorf("%s: feed %v, want %v", c.who, got, c.want)
			}
			var wantHits []string
			for _, id := range c.want {
				if id != sub.ID && id != openPage.ID {
					wantHits = append(wantHits, id)
				}
			}
			if got := hitIDs(e.search(t, c.sc, content.SearchQuery{Q: "geheim", Limit: 2})); !sameSet(got, wantHits) {
				t.Errorf("%s: search %v, want %v", c.who, got, wantHits)
			}
			tree, err := e.svc.PageTree(e.ctx, c.sc, sp)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(tree); got != c.tree {
				t.Errorf("%s: tree %q, want %q", c.who, got, c.tree)
			}
		}

		// No grantees lifts the restriction.
		if err := e.svc.SetAccess(e.ctx, toUser.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Get(e.ctx, reader(other, sp), toUser.ID); err != nil {
			t.Fatalf("after lifting: %v", err)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM item_access WHERE item_id = $1`, toUser.ID); n != 0 {
			t.Fatalf("%d grants left", n)
		}
	})
}

func TestUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		anna := e.user(t, "anna@x.nl")
		bram := e.user(t, "bram@x.nl")
		carla := e.user(t, "carla@x.nl")
		sp := e.space(t, anna.ID, "Team")
		sc := reader(anna, sp)
		it := e.post(t, anna.ID, sp, "Eerste versie over #fietsen met @bram")

		got, err := e.svc.Update(e.ctx, carla.ID, it, content.ItemPatch{Body: ptr("Tweede versie over #parkeren met @carla")})
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(it.CreatedAt) || !got.UpdatedAt.After(it.UpdatedAt) || got.EditedBy == nil ||
			*got.EditedBy != (content.Person{carla.ID, carla.Name}) || *got.Author != (content.Person{anna.ID, anna.Name}) || got.Body != "Tweede versie over #parkeren met @carla" {
			t.Fatalf("%+v", got)
		}
		if !slices.Equal(got.Tags, []string{"parkeren"}) || !slices.Equal(got.Mentions, []string{carla.ID}) {
			t.Fatalf("tags %v mentions %v", got.Tags, got.Mentions)
		}
		if tags := e.column(t, `SELECT tag FROM item_tags WHERE item_id = $1`, it.ID); !slices.Equal(tags, []string{"parkeren"}) {
			t.Fatalf("item_tags %v", tags)
		}
		if m := e.column(t, `SELECT user_id FROM mentions WHERE source_id = $1`, it.ID); !slices.Equal(m, []string{carla.ID}) {
			t.Fatalf("mentions %v", m)
		}
		// The search index follows the text.
		if hits := e.search(t, sc, content.SearchQuery{Q: "fietsen"}); len(hits) != 0 {
			t.Fatalf("old text still found: %v", hitIDs(hits))
		}
		if hits := e.search(t, sc, content.SearchQuery{Q: "tweede"}); !slices.Equal(hitIDs(hits), []string{it.ID}) {
			t.Fatalf("new text not found: %v", hitIDs(hits))
		}

		// A patch that changes nothing keeps the item as it was.
		same, err := e.svc.Update(e.ctx, bram.ID, got, content.ItemPatch{Body: ptr(got.Body + "\n\n")})
		if err != nil || !same.UpdatedAt.Equal(got.UpdatedAt) || same.EditedBy.ID != carla.ID {
			t.Fatalf("no-op update: %+v %v", same, err)
		}

		// post -> news needs a title; news -> post keeps it.
		_, err = e.svc.Update(e.ctx, anna.ID, got, content.ItemPatch{Kind: ptr(content.KindNews)})
		wantKind(t, err, fault.Invalid)
		news, err := e.svc.Update(e.ctx, anna.ID, got, content.ItemPatch{Kind: ptr(content.KindNews), Title: ptr("Parkeren")})
		if err != nil || news.Kind != content.KindNews || news.Title != "Parkeren" {
			t.Fatalf("to news: %+v %v", news, err)
		}
		if items, _, _ := e.svc.Feed(e.ctx, sc, content.FeedQuery{Kind: content.KindNews, Limit: 5}); !slices.Equal(ids(items), []string{it.ID}) {
			t.Fatalf("news feed %v", ids(items))
		}
		post, err := e.svc.Update(e.ctx, anna.ID, news, content.ItemPatch{Kind: ptr(content.KindPost)})
		if err != nil || post.Kind != content.KindPost || post.Title != "Parkeren" {
			t.Fatalf("to post: %+v %v", post, err)
		}

		// What cannot change.
		page := e.page(t, anna.ID, sp, "Handboek", nil)
		for name, c := range map[string]struct {
			it content.Item
			p  content.ItemPatch
		}{
			"page to post":       {page, content.ItemPatch{Kind: ptr(content.KindPost)}},
			"post to page":       {post, content.ItemPatch{Kind: ptr(content.KindPage)}},
			"post to idea":       {post, content.ItemPatch{Kind: ptr("idea")}},
			"post under a page":  {post, content.ItemPatch{MoveParent: true, ParentID: &page.ID}},
			"post position":      {post, content.ItemPatch{Position: ptr(1)}},
			"page without title": {page, content.ItemPatch{Title: ptr(" ")}},
			"post without body":  {post, content.ItemPatch{Body: ptr("")}},
			"body too large":     {post, content.ItemPatch{Body: ptr(strings.Repeat("x", content.MaxPostBody+1))}},
			"control character":  {post, content.ItemPatch{Body: ptr("x\x00")}},
		} {
			_, err := e.svc.Update(e.ctx, anna.ID, c.it, c.p)
			if !fault.Is(err, fault.Invalid) && !fault.Is(err, fault.TooLarge) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if e.get(t, page.ID).Kind != content.KindPage || e.get(t, post.ID).Body != post.Body {
			t.Fatal("refused update changed the item")
		}
	})
}

func TestDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		it := e.post(t, u.ID, sp, "weg ermee #tag @anna")
		c := e.comment(t, u.ID, it.ID, "reactie @anna", nil)
		e.comment(t, u.ID, it.ID, "antwoord", &c.ID)
		if err := e.svc.SetAccess(e.ctx, it.ID, []string{"role:employee"}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(e.ctx, it); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Get(e.ctx, reader(u, sp), it.ID)
		wantKind(t, err, fault.NotFound)
		for _, table := range []string{"comments", "item_tags", "mentions", "item_access"} {
			if n := e.count(t, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Errorf("%d rows left in %s", n, table)
			}
		}
		if hits := e.search(t, reader(u, sp), content.SearchQuery{Q: "weg"}); len(hits) != 0 {
			t.Errorf("deleted item found")
		}
		wantKind(t, e.svc.Delete(e.ctx, it), fault.NotFound)
	})
}

// TestHeadFollowsChanges checks that Head, which keeps what it read, sees every
// change this service makes at once: a restriction, its lifting, a change of kind, a
// move to the trash and back, a deletion; and that a reader's spaces are checked at
// every call, never kept.
func TestHeadFollowsChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		author, other := e.user(t, "auteur@x.nl", "employee"), e.user(t, "ander@x.nl", "employee")
		sp := e.space(t, author.ID, "Team")
		it := e.post(t, author.ID, sp, "eerst open")
		reads := func(sc content.Scope) bool {
			t.Helper()
			_, err := e.svc.Head(e.ctx, sc, it.ID)
			if err != nil && !fault.Is(err, fault.NotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		for range 2 { // the second read finds the kept head
			if !reads(reader(other, sp)) {
				t.Fatal("an open item")
			}
		}
		if reads(reader(other)) {
			t.Fatal("a reader without the space, after the item was read by one with it")
		}
		if err := e.svc.SetAccess(e.ctx, it.ID, []string{"user:" + author.ID}); err != nil {
			t.Fatal(err)
		}
		if reads(reader(other, sp)) || !reads(reader(author, sp)) {
			t.Fatal("after restricting it")
		}
		if err := e.svc.SetAccess(e.ctx, it.ID, nil); err != nil {
			t.Fatal(err)
		}
		if !reads(reader(other, sp)) {
			t.Fatal("after lifting the restriction")
		}
		if _, err := e.svc.Update(e.ctx, author.ID, e.get(t, it.ID), content.ItemPatch{Kind: ptr(content.KindNews), Title: ptr("Nieuws")}); err != nil {
			t.Fatal(err)
		}
		if h, err := e.svc.Head(e.ctx, reader(other, sp), it.ID); err != nil || h.Kind != content.KindNews {
			t.Fatalf("after a change of kind: %+v %v", h, err)
		}
		trash := func(at time.Time) {
			t.Helper()
			if err := db.Tx(e.ctx, func(tx *sql.Tx) error { return e.svc.SetTrashedTx(e.ctx, tx, it.ID, at) }); err != nil {
				t.Fatal(err)
			}
			e.svc.ForgetHead(it.ID)
		}
		trash(time.Now())
		if reads(reader(other, sp)) {
			t.Fatal("an item in the trash")
		}
		trash(time.Time{})
		if !reads(reader(other, sp)) {
			t.Fatal("an item back from the trash")
		}
		if err := e.svc.Delete(e.ctx, e.get(t, it.ID)); err != nil {
			t.Fatal(err)
		}
		if reads(reader(author, sp)) {
			t.Fatal("a deleted item")
		}
	})
}
