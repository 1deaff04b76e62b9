package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestFolderTreeCreateRenameMoveDelete(t *testing.T) {
	f := start(t, "")
	work := f.mkdir(ann, "", "Werk")
	meetings := f.mkdir(ann, work.ID, "Vergaderingen")
	f.mkdir(ann, "", "archief")
	if work.ParentID != nil || *meetings.ParentID != work.ID || meetings.Access != "owner" || meetings.Owner != "ann" {
		t.Fatalf("created %+v %+v", work, meetings)
	}

	m := f.me(ann)
	if len(m.Folders) != 2 || m.Folders[0].Name != "archief" || m.Folders[1].Name != "Werk" ||
		len(m.Folders[1].Folders) != 1 || m.Folders[1].Folders[0].ID != meetings.ID {
		t.Fatalf("tree %+v", m.Folders)
	}
	if m := f.me(bob); len(m.Folders) != 0 || m.Quota.Used != 0 || m.Quota.Limit != 1<<30 {
		t.Fatalf("bob's /me %+v", m)
	}

	// Names are unique per folder, ignoring case; the same name elsewhere is fine.
	if r := f.do(ann, "POST", "/folders", map[string]any{"name": "werk"}); r.status != 409 || r.problem(t).Code != "name_taken" {
		t.Fatalf("same name: %d %s", r.status, r.body)
	}
	f.mkdir(ann, meetings.ID, "Werk")

	// Rename, then move into the root; the old name is free again.
	r := f.do(ann, "PATCH", "/folders/"+meetings.ID, map[string]any{"name": "Overleg 2026"})
	if r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	r = f.do(ann, "PATCH", "/folders/"+meetings.ID, map[string]any{"parent_id": nil})
	var moved View
	r.decode(t, &moved)
	if r.status != 200 || moved.ParentID != nil || moved.Name != "Overleg 2026" {
		t.Fatalf("move to the root: %d %s", r.status, r.body)
	}
	f.mkdir(ann, work.ID, "Overleg 2026")

	// A folder never moves into itself or a folder inside it.
	inner := f.me(ann).Folders
	var sub string
	for _, tr := range inner {
		if tr.ID == meetings.ID {
			sub = tr.Folders[0].ID
		}
	}
	for _, target := range []string{meetings.ID, sub} {
		if r := f.do(ann, "PATCH", "/folders/"+meetings.ID, map[string]any{"parent_id": target}); r.status != 400 {
			t.Errorf("move into %s: %d %s", target, r.status, r.body)
		}
	}
	if r := f.do(ann, "PATCH", "/folders/"+meetings.ID, map[string]any{"parent_id": strings.Repeat("a", 32)}); r.status != 404 {
		t.Errorf("move into a missing folder: %d", r.status)
	}

	// A file in a folder; deleting the folder deletes it and gives the quota back.
	file := f.mustUpload(ann, meetings.ID, "agenda.txt", []byte("1. opening\n2. rondvraag\n"))
	if f.me(ann).Quota.Used != file.sizeOf(t) {
		t.Fatalf("quota after upload: %+v", f.me(ann).Quota)
	}
	if r := f.do(ann, "DELETE", "/folders/"+meetings.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := f.do(ann, "GET", "/files/"+file.ID, nil); r.status != 404 {
		t.Fatalf("file after its folder was deleted: %d", r.status)
	}
	if r := f.do(ann, "DELETE", "/folders/"+meetings.ID, nil); r.status != 404 {
		t.Fatalf("delete twice: %d", r.status)
	}
	m = f.me(ann)
	if m.Quota.Used != 0 || len(m.Folders) != 2 {
		t.Fatalf("after delete: %+v", m)
	}
	if keys := f.KVKeys("s/"); len(keys) != 0 {
		t.Fatalf("shares left: %v", keys)
	}
	if n := len(f.KVKeys("n/")); n != 3 { // Werk, Werk/Overleg 2026, archief
		t.Fatalf("%d nodes left: %v", n, f.KVKeys("n/"))
	}
}

func (v View) sizeOf(t *testing.T) int64 {
	t.Helper()
	if v.Size == nil {
		t.Fatalf("%s has no size", v.ID)
	}
	return *v.Size
}

func TestItemsListInNameOrderAPageAtATime(t *testing.T) {
	f := start(t, "")
	dir := f.mkdir(ann, "", "Stukken")
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("stuk-%d.txt", 7-i)
		f.mustUpload(ann, dir.ID, name, []byte(name))
		want = append(want, name)
	}
	f.mkdir(ann, dir.ID, "Bijlagen")
	want = append(want, "Bijlagen")
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })

	var got []string
	pages := 0
	for target := "/folders/" + dir.ID + "/items?limit=3"; ; pages++ {
		var pg list[View]
		r := f.do(ann, "GET", target, nil)
		r.decode(t, &pg)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		got = append(got, names(pg.Items)...)
		if pg.NextCursor == nil {
			break
		}
		target = "/folders/" + dir.ID + "/items?limit=3&cursor=" + *pg.NextCursor
	}
	if !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("listed %v over %d pages, want %v", got, pages+1, want)
	}
	var root list[View]
	f.do(ann, "GET", "/me/items", nil).decode(t, &root)
	if len(root.Items) != 1 || root.Items[0].ID != dir.ID || root.Items[0].Kind != "folder" {
		t.Fatalf("root %+v", root)
	}
	var bobs list[View]
	f.do(bob, "GET", "/me/items", nil).decode(t, &bobs)
	if len(bobs.Items) != 0 {
		t.Fatalf("bob's root lists ann's things: %+v", bobs)
	}
}

func TestFolderLimitsComeFromSettings(t *testing.T) {
	f := start(t, `{"max_folders":2}`)
	a := f.mkdir(ann, "", "a")
	f.mkdir(ann, a.ID, "b")
	if r := f.do(ann, "POST", "/folders", map[string]any{"name": "c"}); r.status != 409 || r.problem(t).Code != "folder_limit" {
		t.Fatalf("third folder: %d %s", r.status, r.body)
	}
	f.mkdir(bob, "", "c") // per user
	if r := f.do(ann, "DELETE", "/folders/"+a.ID, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	f.mkdir(ann, "", "c")
	f.mkdir(ann, "", "d")

	// Folders nest at most maxDepth deep.
	g := start(t, "")
	parent := ""
	for i := range maxDepth {
		parent = g.mkdir(ann, parent, fmt.Sprint(i)).ID
	}
	if r := g.do(ann, "POST", "/folders", map[string]any{"name": "deeper", "parent_id": parent}); r.status != http.StatusBadRequest {
		t.Fatalf("too deep: %d %s", r.status, r.body)
	}
}
