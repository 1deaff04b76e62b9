package content_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

// render shows a tree as "A(A1(A1a) A2) B", checking that each level's positions and
// parent ids agree with where the node sits.
func render(nodes []*content.PageNode) string {
	var b strings.Builder
	var walk func(parent *string, ns []*content.PageNode)
	walk = func(parent *string, ns []*content.PageNode) {
		for i, n := range ns {
			if i > 0 {
				b.WriteByte(' ')
				if n.Position <= ns[i-1].Position {
					b.WriteString("!order ")
				}
			}
			if (parent == nil) != (n.ParentID == nil) || (parent != nil && *parent != *n.ParentID) {
				b.WriteString("!parent ")
			}
			b.WriteString(n.Title)
			if len(n.Children) > 0 {
				b.WriteByte('(')
				walk(&n.ID, n.Children)
				b.WriteByte(')')
			}
		}
	}
	walk(nil, nodes)
	return b.String()
}

func TestPageTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp, other := e.space(t, u.ID, "Kennisbank"), e.space(t, u.ID, "Elders")
		sc := reader(u, sp, other)
		pages := map[string]content.Item{}
		add := func(title string, parent string, pos *int) {
			t.Helper()
			in := content.NewItem{Kind: content.KindPage, Title: title, Position: pos}
			if parent != "" {
				in.ParentID = ptr(pages[parent].ID)
			}
			pages[title] = e.create(t, u.ID, sp, in)
		}
		tree := func(want string) {
			t.Helper()
			nodes, err := e.svc.PageTree(e.ctx, sc, sp)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(nodes); got != want {
				t.Fatalf("tree %q, want %q", got, want)
			}
		}
		move := func(title, parent string, pos *int) error {
			t.Helper()
			p := content.ItemPatch{Position: pos}
			if parent != "-" {
				p.MoveParent = true
				if parent != "" {
					p.ParentID = ptr(pages[parent].ID)
				}
			}
			_, err := e.svc.Update(e.ctx, u.ID, e.get(t, pages[title].ID), p)
			return err
		}
		positions := func() []int {
			t.Helper()
			rows, err := e.db.QueryContext(e.ctx, `SELECT position FROM items WHERE space_id = $1 AND kind = 'page'
				AND parent_id IS NULL ORDER BY position`, sp)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []int
			for rows.Next() {
				var p int
				if err := rows.Scan(&p); err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
			return out
		}

		add("A", "", nil)
		add("B", "", nil)
		add("C", "", nil)
		tree("A B C")
		add("D", "", ptr(1)) // shifts B and C
		tree("A D B C")
		if got := positions(); !slices.Equal(got, []int{0, 1, 2, 3}) {
			t.Fatalf("positions %v, want 0..3", got)
		}
		add("E", "", ptr(99)) // past the end: last
		tree("A D B C E")
		add("A1", "A", nil)
		add("A2", "A", nil)
		add("A1a", "A1", nil)
		add("A0", "A", ptr(0))
		tree("A(A0 A1(A1a) A2) D B C E")

		// Move under another parent, at a position.
		if err := move("B", "A", ptr(1)); err != nil {
			t.Fatal(err)
		}
		tree("A(A0 B A1(A1a) A2) D C E")
		// Reorder among siblings: position only.
		if err := move("C", "-", ptr(0)); err != nil {
			t.Fatal(err)
		}
		tree("C A(A0 B A1(A1a) A2) D E")
		if err := move("C", "-", ptr(3)); err != nil {
			t.Fatal(err)
		}
		tree("A(A0 B A1(A1a) A2) D E C")
		// Back to the top level, last.
		if err := move("A0", "", nil); err != nil {
			t.Fatal(err)
		}
		tree("A(B A1(A1a) A2) D E C A0")
		if got := e.get(t, pages["A0"].ID); got.ParentID != nil {
			t.Fatalf("A0 parent %v", *got.ParentID)
		}
		// A move is not an edit.
		if got := e.get(t, pages["C"].ID); got.EditedBy != nil || !got.UpdatedAt.Equal(pages["C"].UpdatedAt) {
			t.Fatalf("move recorded as an edit: %+v", got)
		}

		// Cycles.
		for _, c := range [][2]string{{"A", "A"}, {"A", "A1"}, {"A", "A1a"}, {"A1", "A1a"}} {
			err := move(c[0], c[1], nil)
			if f := fault.As(err); f == nil || f.Kind != fault.Conflict || f.Code != "page_cycle" {
				t.Errorf("move %s under %s: %v, want Conflict page_cycle", c[0], c[1], err)
			}
		}
		// Parents that are not pages of this space.
		elders := e.page(t, u.ID, other, "Elders", nil)
		post := e.post(t, u.ID, sp, "geen pagina")
		pages["Elders"], pages["post"] = elders, post
		for _, p := range []string{"Elders", "post"} {
			wantKind(t, move("A", p, nil), fault.Invalid)
		}
		wantKind(t, move("A", "-", ptr(-1)), fault.Invalid)
		tree("A(B A1(A1a) A2) D E C A0")

		// Deleting a page moves its children up to its parent, after their new siblings.
		if err := e.svc.Delete(e.ctx, e.get(t, pages["A"].ID)); err != nil {
			t.Fatal(err)
		}
		tree("D E C A0 B A1(A1a) A2")
		if err := e.svc.Delete(e.ctx, e.get(t, pages["A1"].ID)); err != nil {
			t.Fatal(err)
		}
		tree("D E C A0 B A2 A1a")
		if n := e.count(t, `SELECT COUNT(*) FROM items WHERE space_id = $1 AND kind = 'page'`, sp); n != 7 {
			t.Fatalf("%d pages left, want 7", n)
		}

		// Nesting is bounded.
		parent := ""
		var err error
		for i := range content.MaxPageDepth + 2 {
			title := "N" + string(rune('a'+i))
			in := content.NewItem{Kind: content.KindPage, Title: title}
			if parent != "" {
				in.ParentID = ptr(pages[parent].ID)
			}
			var it content.Item
			if it, err = e.svc.Create(e.ctx, u.ID, sp, in); err != nil {
				break
			}
			pages[title], parent = it, title
		}
		wantKind(t, err, fault.Invalid)

		// Readers of other spaces see no tree.
		nodes, err := e.svc.PageTree(e.ctx, reader(u, other), sp)
		if err != nil || len(nodes) != 0 {
			t.Fatalf("tree for another space's reader: %v %v", render(nodes), err)
		}
	})
}

// TestConcurrentMovesMakeNoCycle moves two pages under each other at once, many times:
// one move must win and the other meet page_cycle, and both stay in the tree.
func TestConcurrentMovesMakeNoCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		u := e.user(t, "anna@x.nl")
		sp := e.space(t, u.ID, "Kennisbank")
		for range 20 {
			a := e.page(t, u.ID, sp, "A", nil)
			b := e.page(t, u.ID, sp, "B", nil)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, m := range [][2]content.Item{{a, b}, {b, a}} {
				wg.Go(func() {
					_, errs[i] = e.svc.Update(e.ctx, u.ID, m[0], content.ItemPatch{MoveParent: true, ParentID: &m[1].ID})
				})
			}
			wg.Wait()
			failed := 0
			for _, err := range errs {
				if f := fault.As(err); f != nil && f.Code == "page_cycle" {
					failed++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if failed != 1 {
				t.Fatalf("%d of the two moves failed, want 1: %v", failed, errs)
			}
			nodes, err := e.svc.PageTree(e.ctx, reader(u, sp), sp)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(nodes); got != "A(B)" && got != "B(A)" {
				t.Fatalf("tree %q", got)
			}
			for _, it := range []content.Item{a, b} {
				if err := e.svc.Delete(e.ctx, e.get(t, it.ID)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
