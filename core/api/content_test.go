package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/internal/testapp"
)

type itemView struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	SpaceID  string `json:"space_id"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	ParentID *string
	Author   *struct{ ID, Name string }
	Tags     []string
	Mentions []string
}

type itemList struct {
	Items      []itemView `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// walk follows a list's cursors to the end and returns every item.
func walk(t *testing.T, e *testapp.Env, token, path string) []itemView {
	t.Helper()
	var all []itemView
	cursor := ""
	sep := "?"
	if slices.Contains([]byte(path), '?') {
		sep = "&"
	}
	for range 1000 {
		p := path
		if cursor != "" {
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		r := e.Do("GET", p, token, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
		var l itemList
		r.JSON(t, &l)
		all = append(all, l.Items...)
		if l.NextCursor == nil {
			return all
		}
		cursor = *l.NextCursor
	}
	t.Fatalf("%s: no end after 1000 pages", path)
	return nil
}

// seedItems writes n posts spread over every demo space, by a member of each (or the admin).
func seedItems(t *testing.T, e *testapp.Env, n int, words []string) []content.Item {
	ctx := context.Background()
	admin := e.UserID("admin@demo.plein")
	var names []string
	for name := range e.Org.Spaces {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []content.Item
	for i := range n {
		sp := e.Org.Spaces[names[i%len(names)]]
		body := fmt.Sprintf("Bericht %d over %s en %s #demo%d", i, words[i%len(words)], words[(i/3)%len(words)], i%4)
		it, err := e.App.Content.Create(ctx, admin, sp.ID, content.NewItem{Kind: content.KindPost, Title: fmt.Sprintf("Titel %d", i), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if _, err := e.App.Content.AddComment(ctx, admin, it.ID, "Reactie over "+words[(i+1)%len(words)], nil); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, it)
	}
	return out
}

// Nobody ever gets, through the feed, search, comments or item reads, anything from a
// space they may not read. Users are drawn at random (the seed is logged).
func TestNobodyReadsContentOfSpacesTheyMayNotRead(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		words := []string{"begroting", "vergunning", "parkeren", "laptop", "bouw", "subsidie"}
		items := seedItems(t, e, 120, words)
		var emails []string
		for email := range e.Org.Users {
			emails = append(emails, email)
		}
		slices.Sort(emails)
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 4))
		picked := []string{"external@demo.plein", "employee@demo.plein", "manager@demo.plein"}
		for range 9 {
			picked = append(picked, emails[rng.IntN(len(emails))])
		}
		for _, email := range picked {
			p, err := e.App.Authz.Principal(context.Background(), e.UserID(email))
			if err != nil {
				t.Fatal(err)
			}
			may := func(spaceID string) bool { return e.App.Authz.Can(p, authz.Space(spaceID), "content", "read") }
			tok := e.Token(email)
			check := func(how string, got []itemView) {
				for _, it := range got {
					if !may(it.SpaceID) {
						t.Errorf("%s got item %s of space %s through %s", email, it.ID, it.SpaceID, how)
					}
				}
			}
			feed := walk(t, e, tok, "/api/v1/feed?limit=50")
			check("the feed", feed)
			for _, w := range words {
				check("search", walk(t, e, tok, "/api/v1/search?limit=50&q="+w))
			}
			readable := 0
			for _, it := range items {
				r := e.Do("GET", "/api/v1/items/"+it.ID, tok, nil)
				c := e.Do("GET", "/api/v1/items/"+it.ID+"/comments", tok, nil)
				want := 404
				if may(it.SpaceID) {
					want = 200
					readable++
				}
				if r.Status != want || c.Status != want {
					t.Errorf("%s: item %s in space %s: GET %d, comments %d; want %d", email, it.ID, it.SpaceID, r.Status, c.Status, want)
				}
			}
			// And the feed holds every readable item: filtering happens in SQL, not by dropping rows.
			seen := 0
			for _, it := range feed {
				if slices.ContainsFunc(items, func(x content.Item) bool { return x.ID == it.ID }) {
					seen++
				}
			}
			if seen != readable {
				t.Errorf("%s: the feed has %d of the %d seeded items they may read", email, seen, readable)
			}
		}
	})
}

// Walking the feed page by page returns every readable item exactly once while other
// clients post.
func TestFeedPagesStayExactWhileItemsArrive(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		before := seedItems(t, e, 90, []string{"a", "b"})
		tok := e.Token("employee@demo.plein")
		news := e.SpaceID("Nieuws & mededelingen")
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if r := e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+news+"/posts", map[string]string{"body": fmt.Sprintf("Taart %d", i)}); r.Status != 201 {
					t.Errorf("post during the walk: %d %s", r.Status, r.Body)
					return
				}
			}
		}()
		got := walk(t, e, tok, "/api/v1/feed?limit=7")
		close(stop)
		wg.Wait()
		count := map[string]int{}
		for _, it := range got {
			count[it.ID]++
			if count[it.ID] > 1 {
				t.Errorf("item %s came twice", it.ID)
			}
		}
		p, _ := e.App.Authz.Principal(context.Background(), e.UserID("employee@demo.plein"))
		for _, it := range before {
			if e.App.Authz.Can(p, authz.Space(it.SpaceID), "content", "read") && count[it.ID] != 1 {
				t.Errorf("readable item %s came %d times", it.ID, count[it.ID])
			}
		}
	})
}

func TestContentThroughTheAPI(t *testing.T) {
	e := testapp.Start(t, testapp.Options{})
	finance := e.SpaceID("Financiën")
	kb := e.SpaceID("Kennisbank")
	news := e.SpaceID("Nieuws & mededelingen")
	emp, sec := "employee@demo.plein", "secretary@demo.plein"

	// A post with a tag and a mention of a colleague.
	r := e.As(emp, "POST", "/api/v1/spaces/"+finance+"/posts", map[string]any{"body": "Wie kijkt mee, @secretary? #begroting"})
	if r.Status != 201 {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	var post itemView
	r.JSON(t, &post)
	if post.Kind != "post" || !slices.Equal(post.Tags, []string{"begroting"}) || !slices.Equal(post.Mentions, []string{e.UserID(sec)}) {
		t.Fatalf("post: %+v", post)
	}
	// News needs a moderator; an employee of the news space only reads.
	if r := e.As(emp, "POST", "/api/v1/spaces/"+finance+"/posts", map[string]any{"kind": "news", "title": "Nieuws", "body": "x"}); r.Status != 403 {
		t.Fatalf("news by a member: %d", r.Status)
	}
	if r := e.As(emp, "POST", "/api/v1/spaces/"+news+"/posts", map[string]any{"body": "x"}); r.Status != 403 {
		t.Fatalf("post in a space one only reads: %d", r.Status)
	}
	// Bad input: clear 4xx problems, nothing written.
	for _, c := range []struct {
		body any
		want int
	}{
		{map[string]any{"body": ""}, 400},
		{map[string]any{"body": "x", "kind": "page"}, 400},
		{map[string]any{"body": "a\u0000b"}, 400},
		{map[string]any{"body": "x", "extra": 1}, 400},
		{[]byte(`{"body": `), 400},
	} {
		if r := e.As(emp, "POST", "/api/v1/spaces/"+finance+"/posts", c.body); r.Status != c.want {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}
	if r := e.As(emp, "POST", "/api/v1/spaces/"+finance+"/posts", map[string]any{"body": string(bytesOf('x', content.MaxPostBody+1))}); r.Status != 413 {
		t.Errorf("a body over the limit: %d", r.Status)
	}

	// Edit: the author may, another member may not, a moderator (the department head, owner) may.
	if r := e.As(emp, "PATCH", "/api/v1/items/"+post.ID, map[string]any{"body": "Bijgewerkt #begroting2027"}); r.Status != 200 {
		t.Fatalf("edit by author: %d %s", r.Status, r.Body)
	}
	got := e.As(emp, "GET", "/api/v1/items/"+post.ID, nil).Map(t)
	if got["edited_by"] == nil || got["created_at"] == got["updated_at"] {
		t.Fatalf("edit kept no trace: %v", got)
	}

	// Pages: a tree, moved, reordered, never a cycle; deleting keeps the children.
	mk := func(title string, parent *string) string {
		r := e.As("admin@demo.plein", "POST", "/api/v1/spaces/"+kb+"/pages", map[string]any{"title": title, "body": "", "parent_id": parent})
		if r.Status != 201 {
			t.Fatalf("page %s: %d %s", title, r.Status, r.Body)
		}
		return r.Map(t)["id"].(string)
	}
	a := mk("A", nil)
	b := mk("B", &a)
	c := mk("C", &b)
	if r := e.As("admin@demo.plein", "PATCH", "/api/v1/items/"+a, map[string]any{"parent_id": c}); r.Status != 409 {
		t.Fatalf("cycle: %d %s", r.Status, r.Body)
	}
	if r := e.As("admin@demo.plein", "PATCH", "/api/v1/items/"+c, map[string]any{"parent_id": nil, "position": 0}); r.Status != 200 {
		t.Fatalf("move to top: %d %s", r.Status, r.Body)
	}
	var tree struct {
		Items []struct {
			ID       string
			Title    string
			Children []struct{ ID string }
		}
	}
	e.As(emp, "GET", "/api/v1/spaces/"+kb+"/pages", nil).JSON(t, &tree)
	if len(tree.Items) < 3 || tree.Items[0].ID != c {
		t.Fatalf("tree after the move: %+v", tree.Items)
	}
	if r := e.As("admin@demo.plein", "DELETE", "/api/v1/items/"+a, nil); r.Status != 204 {
		t.Fatalf("delete page: %d", r.Status)
	}
	if r := e.As(emp, "GET", "/api/v1/items/"+b, nil).Map(t); r["parent_id"] != nil {
		t.Fatalf("the child of a deleted top-level page: parent %v", r["parent_id"])
	}

	// Comments with one level of replies, found by search.
	r = e.As(emp, "POST", "/api/v1/items/"+post.ID+"/comments", map[string]any{"body": "Eerste opmerking over de kasstroom"})
	if r.Status != 201 {
		t.Fatalf("comment: %d %s", r.Status, r.Body)
	}
	first := r.Map(t)["id"].(string)
	r = e.As(emp, "POST", "/api/v1/items/"+post.ID+"/comments", map[string]any{"body": "Antwoord", "parent_id": first})
	reply := r.Map(t)["id"].(string)
	r = e.As(emp, "POST", "/api/v1/items/"+post.ID+"/comments", map[string]any{"body": "Antwoord op antwoord", "parent_id": reply})
	if r.Status != 201 || r.Map(t)["parent_id"] != first {
		t.Fatalf("a reply to a reply: %d %s", r.Status, r.Body)
	}
	hits := walk(t, e, e.Token(emp), "/api/v1/search?q=kasstroom")
	if len(hits) != 1 || hits[0].ID != post.ID {
		t.Fatalf("search by a comment's word: %+v", hits)
	}
	if r := e.As(sec, "PATCH", "/api/v1/comments/"+first, map[string]any{"body": "overgenomen"}); r.Status != 404 {
		t.Fatalf("someone who cannot read the item edits its comment: %d", r.Status)
	}
	if r := e.As(emp, "DELETE", "/api/v1/comments/"+first, nil); r.Status != 204 {
		t.Fatalf("delete comment: %d", r.Status)
	}
	if hits := walk(t, e, e.Token(emp), "/api/v1/search?q=kasstroom"); len(hits) != 0 {
		t.Fatalf("a deleted comment is still found: %+v", hits)
	}

	// Feed and search filters, and their bad input.
	for path, want := range map[string]int{
		"/api/v1/feed?space=" + finance:                      200,
		"/api/v1/feed?kind=news":                             200,
		"/api/v1/feed?tag=begroting2027":                     200,
		"/api/v1/feed?space=" + e.SpaceID("Managementteam"):  404,
		"/api/v1/feed?kind=Bad!":                             400,
		"/api/v1/feed?limit=0":                               400,
		"/api/v1/feed?cursor=garbage":                        400,
		"/api/v1/feed?sort=old":                              400,
		"/api/v1/search":                                     400,
		"/api/v1/search?q=-alleen":                           400,
		"/api/v1/search?q=" + url.QueryEscape(`"NEAR(a b)*`): 200,
	} {
		if r := e.As(emp, "GET", path, nil); r.Status != want {
			t.Errorf("GET %s: %d, want %d: %s", path, r.Status, want, r.Body)
		}
	}
	tagged := walk(t, e, e.Token(emp), "/api/v1/feed?tag=begroting2027")
	if len(tagged) != 1 || tagged[0].ID != post.ID {
		t.Fatalf("feed by tag: %+v", tagged)
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
