package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk/plugintest"
)

// reads reports whether u may read the file: its metadata and its bytes, both or
// neither.
func (f *fixture) reads(u plugintest.User, id string) bool {
	f.t.Helper()
	meta, content := f.do(u, "GET", "/files/"+id, nil), f.do(u, "GET", "/files/"+id+"/content", nil)
	if (meta.status == 200) != (content.status == 200) {
		f.t.Fatalf("%s: metadata %d but content %d", u.ID, meta.status, content.status)
	}
	if meta.status != 200 && (meta.status != 404 || content.status != 404) {
		f.t.Fatalf("%s refused with %d/%d, want 404", u.ID, meta.status, content.status)
	}
	return meta.status == 200
}

// sharedWith returns the ids GET /shared-with-me lists for u.
func (f *fixture) sharedWith(u plugintest.User) []string {
	f.t.Helper()
	var pg list[Shared]
	r := f.do(u, "GET", "/shared-with-me", nil)
	r.decode(f.t, &pg)
	if r.status != 200 {
		f.t.Fatalf("shared-with-me: %d %s", r.status, r.body)
	}
	var ids []string
	for _, s := range pg.Items {
		ids = append(ids, s.ID)
	}
	return ids
}

// finds reports whether u's search for q finds id.
func (f *fixture) finds(u plugintest.User, q, id string) bool {
	f.t.Helper()
	var pg list[View]
	r := f.do(u, "GET", "/search?q="+q, nil)
	r.decode(f.t, &pg)
	if r.status != 200 {
		f.t.Fatalf("search: %d %s", r.status, r.body)
	}
	for _, v := range pg.Items {
		if v.ID == id {
			return true
		}
	}
	return false
}

func TestAShareReadsUntilItExpires(t *testing.T) {
	f := start(t, "")
	file := f.mustUpload(ann, "", "notulen-mt.txt", []byte("vertrouwelijk"))
	expires := f.clock.now().Add(time.Hour).UTC().Truncate(time.Second)
	r := f.do(ann, "PUT", "/files/"+file.ID+"/shares", map[string]any{"users": []string{"bob", "bob"}, "expires_at": expires})
	var s ShareView
	r.decode(t, &s)
	if r.status != 200 || len(s.Users) != 1 || s.ExpiresAt == nil || !s.ExpiresAt.Equal(expires) {
		t.Fatalf("share: %d %s", r.status, r.body)
	}
	if !f.reads(bob, file.ID) || f.reads(carol, file.ID) {
		t.Fatal("bob must read, carol not")
	}
	if got := f.sharedWith(bob); len(got) != 1 || got[0] != file.ID {
		t.Fatalf("bob's shared-with-me: %v", got)
	}
	if !f.finds(bob, "NOTULEN", file.ID) || f.finds(carol, "notulen", file.ID) || !f.finds(ann, "notulen", file.ID) {
		t.Fatal("search: ann and bob find it, carol not")
	}
	var got View
	f.do(bob, "GET", "/files/"+file.ID, nil).decode(t, &got)
	if got.Access != "shared" || got.Owner != "ann" {
		t.Fatalf("bob's view %+v", got)
	}

	f.advance(59 * time.Minute)
	if !f.reads(bob, file.ID) {
		t.Fatal("bob before the expiry")
	}
	f.advance(time.Minute)
	if f.reads(bob, file.ID) || len(f.sharedWith(bob)) != 0 || f.finds(bob, "notulen", file.ID) {
		t.Fatal("bob after the expiry")
	}
	var after ShareView
	f.do(ann, "GET", "/files/"+file.ID+"/shares", nil).decode(t, &after)
	if len(after.Users) != 0 || after.UpdatedAt != nil {
		t.Fatalf("an expired share: %+v", after)
	}
	if !f.reads(ann, file.ID) {
		t.Fatal("the owner always reads")
	}
}

func TestRevokingAndReplacingAShareWorksAtOnce(t *testing.T) {
	f := start(t, "")
	file := f.mustUpload(ann, "", "begroting.txt", []byte("cijfers"))
	share := "/files/" + file.ID + "/shares"
	f.do(ann, "PUT", share, map[string]any{"users": []string{"carol"}, "roles": []string{"dept-finance"}})
	if !f.reads(bob, file.ID) || !f.reads(carol, file.ID) || f.reads(ext, file.ID) {
		t.Fatal("bob by role and carol by name")
	}
	// Replacing the share drops carol at once.
	if r := f.do(ann, "PUT", share, map[string]any{"roles": []string{"dept-finance"}}); r.status != 200 {
		t.Fatal(r.status)
	}
	if f.reads(carol, file.ID) || len(f.sharedWith(carol)) != 0 || !f.reads(bob, file.ID) {
		t.Fatal("after the replacement")
	}
	for range 2 { // idempotent
		if r := f.do(ann, "DELETE", share, nil); r.status != 204 {
			t.Fatalf("revoke: %d", r.status)
		}
	}
	if f.reads(bob, file.ID) || len(f.sharedWith(bob)) != 0 {
		t.Fatal("bob after the revocation")
	}
	if keys := f.KVKeys("g/"); len(keys) != 0 {
		t.Fatalf("index left: %v", keys)
	}
}

func TestAFolderShareReachesWhatIsInIt(t *testing.T) {
	f := start(t, "")
	meeting := f.mkdir(ann, "", "MT-overleg 12 maart")
	annex := f.mkdir(ann, meeting.ID, "Bijlagen")
	agenda := f.mustUpload(ann, meeting.ID, "agenda.txt", []byte("agenda"))
	deep := f.mustUpload(ann, annex.ID, "cijfers.csv", []byte("a,b\n1,2\n"))
	private := f.mustUpload(ann, "", "prive.txt", []byte("privé"))
	if r := f.do(ann, "PUT", "/folders/"+meeting.ID+"/shares", map[string]any{"users": []string{"carol"}}); r.status != 200 {
		t.Fatalf("share: %d %s", r.status, r.body)
	}
	if !f.reads(carol, agenda.ID) || !f.reads(carol, deep.ID) || f.reads(carol, private.ID) || f.reads(bob, deep.ID) {
		t.Fatal("carol reads what is in the folder, and nothing else; bob nothing")
	}
	var items list[View]
	r := f.do(carol, "GET", "/folders/"+annex.ID+"/items", nil)
	r.decode(t, &items)
	if r.status != 200 || len(items.Items) != 1 || items.Items[0].ID != deep.ID {
		t.Fatalf("carol lists the annex: %d %s", r.status, r.body)
	}
	if r := f.do(bob, "GET", "/folders/"+annex.ID+"/items", nil); r.status != 404 {
		t.Fatalf("bob lists the annex: %d", r.status)
	}
	if !f.finds(carol, "cijfers", deep.ID) || f.finds(carol, "prive", private.ID) {
		t.Fatal("carol's search")
	}

	// Read-only: carol changes nothing, and is told so.
	for _, req := range []struct{ method, target string }{
		{"PATCH", "/files/" + agenda.ID}, {"DELETE", "/files/" + agenda.ID},
		{"PATCH", "/folders/" + annex.ID}, {"DELETE", "/folders/" + meeting.ID},
		{"PUT", "/files/" + agenda.ID + "/shares"}, {"GET", "/folders/" + meeting.ID + "/shares"},
		{"DELETE", "/folders/" + meeting.ID + "/shares"},
	} {
		var body any
		if req.method == "PATCH" || req.method == "PUT" {
			body = map[string]any{"name": "x", "users": []string{"carol"}}
		}
		if r := f.do(carol, req.method, req.target, body); r.status != http.StatusForbidden {
			t.Errorf("carol %s %s: %d %s", req.method, req.target, r.status, r.body)
		}
	}
	if r := f.upload(carol, meeting.ID, "x.txt", []byte("x")); r.status != 404 {
		t.Errorf("carol uploads into the shared folder: %d", r.status)
	}
	if !f.reads(carol, agenda.ID) {
		t.Fatal("the refused changes changed something")
	}

	// Moving a file out of the shared folder takes it out of the share.
	if r := f.do(ann, "PATCH", "/files/"+deep.ID, map[string]any{"parent_id": nil}); r.status != 200 {
		t.Fatal(r.status)
	}
	if f.reads(carol, deep.ID) {
		t.Fatal("carol reads a file moved out of the share")
	}
}

func TestSharedWithMePaginates(t *testing.T) {
	f := start(t, "")
	want := map[string]bool{}
	for i := range 5 {
		v := f.mustUpload(ann, "", "doc"+string(rune('a'+i))+".txt", []byte("x"))
		grantee := map[string]any{"users": []string{"bob"}}
		if i%2 == 1 {
			grantee = map[string]any{"roles": []string{"dept-finance"}}
		}
		f.do(ann, "PUT", "/files/"+v.ID+"/shares", grantee)
		want[v.ID] = true
	}
	seen := map[string]bool{}
	pages := 0
	for target := "/shared-with-me?limit=2"; ; pages++ {
		var pg list[Shared]
		f.do(bob, "GET", target, nil).decode(t, &pg)
		for _, s := range pg.Items {
			if seen[s.ID] || !want[s.ID] {
				t.Fatalf("%s listed twice or unknown", s.ID)
			}
			seen[s.ID] = true
		}
		if pg.NextCursor == nil {
			break
		}
		target = "/shared-with-me?limit=2&cursor=" + *pg.NextCursor
	}
	if len(seen) != 5 || pages != 2 {
		t.Fatalf("saw %d over %d pages", len(seen), pages+1)
	}
}

func TestBadSharesAreRefused(t *testing.T) {
	f := start(t, "")
	file := f.mustUpload(ann, "", "a.txt", []byte("a"))
	target := "/files/" + file.ID + "/shares"
	past := f.clock.now().Add(-time.Minute)
	for name, body := range map[string]any{
		"nobody":          map[string]any{"users": []string{}},
		"the owner":       map[string]any{"users": []string{"ann"}},
		"a bad id":        map[string]any{"users": []string{"bob/../x"}},
		"a long role":     map[string]any{"roles": []string{strings.Repeat("r", 65)}},
		"in the past":     map[string]any{"users": []string{"bob"}, "expires_at": past},
		"not a time":      map[string]any{"users": []string{"bob"}, "expires_at": "tomorrow"},
		"an unknown name": map[string]any{"users": []string{"bob"}, "write": true},
		"not an object":   []string{"bob"},
	} {
		if r := f.do(ann, "PUT", target, body); r.status != 400 || r.problem(t).Code != "validation_failed" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := f.send(ann, httpRequest("PUT", target, bytes.Repeat([]byte(" "), maxJSONBody+1))); r.status != 413 {
		t.Errorf("a huge body: %d", r.status)
	}
	if f.reads(bob, file.ID) {
		t.Fatal("a refused share shared")
	}
}
