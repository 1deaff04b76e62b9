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

func TestComments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		anna := e.user(t, "anna@x.nl")
		bram := e.user(t, "bram@x.nl")
		sp := e.space(t, anna.ID, "Team")
		it := e.post(t, anna.ID, sp, "Wie gaat er mee lunchen?")
		elsewhere := e.post(t, anna.ID, sp, "Ander bericht")
		otherThread := e.comment(t, anna.ID, elsewhere.ID, "hier", nil)

		c1 := e.comment(t, anna.ID, it.ID, "Ik! @bram ook?", nil)
		c2 := e.comment(t, bram.ID, it.ID, "Ik ook", nil)
		r1 := e.comment(t, bram.ID, it.ID, "Zeker @anna", &c1.ID)
		r2 := e.comment(t, anna.ID, it.ID, "Mooi", &r1.ID) // a reply to a reply joins c1's thread
		if c1.ParentID != nil || r1.ParentID == nil || *r1.ParentID != c1.ID || r2.ParentID == nil || *r2.ParentID != c1.ID {
			t.Fatalf("threads: c1 %v r1 %v r2 %v", c1.ParentID, r1.ParentID, r2.ParentID)
		}
		if c1.ItemID != it.ID || c1.Author == nil || *c1.Author != (content.Person{anna.ID, anna.Name}) || c1.Edited || !c1.CreatedAt.Equal(c1.UpdatedAt) {
			t.Fatalf("%+v", c1)
		}
		if !slices.Equal(c1.Mentions, []string{bram.ID}) || !slices.Equal(c2.Mentions, []string{}) {
			t.Fatalf("mentions %v %v", c1.Mentions, c2.Mentions)
		}
		if got := e.column(t, `SELECT user_id FROM mentions WHERE source_id = $1 AND item_id = $2`, r1.ID, it.ID); !slices.Equal(got, []string{anna.ID}) {
			t.Fatalf("mentions table for a reply: %v", got)
		}
		if n := e.get(t, it.ID).CommentCount; n != 4 {
			t.Fatalf("comment_count %d, want 4", n)
		}

		// Refused.
		for name, c := range map[string]struct {
			item, body string
			parent     *string
			want       fault.Kind
		}{
			"parent on another item":    {it.ID, "x", &otherThread.ID, fault.Invalid},
			"parent that is no comment": {it.ID, "x", &elsewhere.ID, fault.Invalid},
			"empty":                     {it.ID, " \n ", nil, fault.Invalid},
			"too large":                 {it.ID, strings.Repeat("ü", content.MaxCommentBody/2+1), nil, fault.TooLarge},
			"control character":         {it.ID, "a\x07", nil, fault.Invalid},
			"invalid UTF-8":             {it.ID, "\xc3", nil, fault.Invalid},
			"no such item":              {"06h0fznpw94qarcr9ez33qwe08", "x", nil, fault.NotFound},
		} {
			_, err := e.svc.AddComment(e.ctx, anna.ID, c.item, c.body, c.parent)
			if !fault.Is(err, c.want) {
				t.Errorf("%s: got %v, want kind %d", name, err, c.want)
			}
		}
		if _, err := e.svc.AddComment(e.ctx, anna.ID, it.ID, strings.Repeat("ü", content.MaxCommentBody/2), nil); err != nil {
			t.Fatalf("a comment of the largest size: %v", err)
		}
		c5 := e.comment(t, bram.ID, it.ID, "laatste", nil)

		// Oldest first, two by two.
		want := []string{c1.ID, c2.ID, r1.ID, r2.ID, "", c5.ID}
		var got []string
		pg := content.CommentPage{Limit: 2}
		for range 10 {
			list, more, err := e.svc.Comments(e.ctx, it.ID, pg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list {
				got = append(got, c.ID)
			}
			if !more {
				break
			}
			if len(list) != 2 {
				t.Fatalf("a page of %d before the last", len(list))
			}
			last := list[len(list)-1]
			pg.AfterCreated, pg.AfterID = store.Micros(last.CreatedAt), last.ID
		}
		want[4] = got[4]
		if !slices.Equal(got, want) {
			t.Fatalf("comments %v, want %v", got, want)
		}

		// Edit.
		ed, err := e.svc.UpdateComment(e.ctx, c2, "Ik ook, met @anna")
		if err != nil {
			t.Fatal(err)
		}
		if !ed.Edited || ed.Body != "Ik ook, met @anna" || !ed.UpdatedAt.After(ed.CreatedAt) || !ed.CreatedAt.Equal(c2.CreatedAt) || !slices.Equal(ed.Mentions, []string{anna.ID}) {
			t.Fatalf("%+v", ed)
		}
		if again, err := e.svc.UpdateComment(e.ctx, ed, ed.Body+"  "); err != nil || !again.UpdatedAt.Equal(ed.UpdatedAt) {
			t.Fatalf("same text again: %+v %v", again, err)
		}
		_, err = e.svc.UpdateComment(e.ctx, ed, "")
		wantKind(t, err, fault.Invalid)
		if got, err := e.svc.GetComment(e.ctx, c2.ID); err != nil || got.Body != ed.Body || !got.Edited {
			t.Fatalf("GetComment %+v %v", got, err)
		}

		// Deleting a comment deletes its replies and their mentions.
		if err := e.svc.DeleteComment(e.ctx, c1); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{c1.ID, r1.ID, r2.ID} {
			_, err := e.svc.GetComment(e.ctx, id)
			wantKind(t, err, fault.NotFound)
			if n := e.count(t, `SELECT COUNT(*) FROM mentions WHERE source_id = $1`, id); n != 0 {
				t.Fatalf("%d mentions left of a deleted comment", n)
			}
		}
		if n := e.get(t, it.ID).CommentCount; n != 3 {
			t.Fatalf("comment_count %d after delete, want 3", n)
		}
		if n := e.get(t, elsewhere.ID).CommentCount; n != 1 {
			t.Fatalf("the other item's comment_count %d, want 1", n)
		}
		for _, id := range []string{"06h0fznpw94qarcr9ez33qwe08", "x"} {
			_, err := e.svc.GetComment(e.ctx, id)
			wantKind(t, err, fault.NotFound)
		}
	})
}

func TestCommentTextIsSearchable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Team")
		sc := reader(u, sp)
		it := e.create(t, u.ID, sp, content.NewItem{Kind: content.KindNews, Title: "Vergadering", Body: "De agenda volgt."})
		e.post(t, u.ID, sp, "Iets anders")
		find := func(q string) []string { return hitIDs(e.search(t, sc, content.SearchQuery{Q: q})) }
		if got := find("zonnepanelen"); len(got) != 0 {
			t.Fatalf("found before the comment: %v", got)
		}
		c := e.comment(t, u.ID, it.ID, "Komen de zonnepanelen ook aan bod?", nil)
		if got := find("zonnepanelen"); !slices.Equal(got, []string{it.ID}) {
			t.Fatalf("found %v, want the item", got)
		}
		r := e.comment(t, u.ID, it.ID, "Ja, en de warmtepomp", &c.ID)
		if got := find("warmtepomp"); !slices.Equal(got, []string{it.ID}) {
			t.Fatalf("reply: found %v, want the item", got)
		}
		hits := e.search(t, sc, content.SearchQuery{Q: "zonnepanelen"})
		if !strings.Contains(hits[0].Snippet, "zonnepanelen") {
			t.Fatalf("snippet %q does not show the comment", hits[0].Snippet)
		}
		if _, err := e.svc.UpdateComment(e.ctx, r, "Ja, en de isolatie"); err != nil {
			t.Fatal(err)
		}
		if got := find("warmtepomp"); len(got) != 0 {
			t.Fatalf("edited-away word still found: %v", got)
		}
		if got := find("isolatie"); !slices.Equal(got, []string{it.ID}) {
			t.Fatalf("edited word: found %v", got)
		}
		if err := e.svc.DeleteComment(e.ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"zonnepanelen", "isolatie"} {
			if got := find(q); len(got) != 0 {
				t.Fatalf("%s found after the comment was deleted: %v", q, got)
			}
		}
		if got := find("agenda"); !slices.Equal(got, []string{it.ID}) {
			t.Fatalf("the item's own text: %v", got)
		}
	})
}
