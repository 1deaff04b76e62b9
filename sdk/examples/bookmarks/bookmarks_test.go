package bookmarks_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/examples/bookmarks"
	"github.com/pleinhq/plein/sdk/plugintest"
)

var (
	ann = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob = plugintest.User{ID: "bob", Roles: []string{"employee"}}
)

// page is GET /bookmarks's answer.
type page struct {
	Items      []bookmarks.Bookmark `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

func decode[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, data, err)
	}
	return v
}

// readable adds an item ann may read and bob may not.
func readable(h *plugintest.Harness, title string) string {
	id := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "page", SpaceID: "s1", Title: title}})
	h.AllowRead(ann.ID, id)
	return id
}

func TestBookmarkListAndRemove(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{})
	a, b := readable(h, "A"), readable(h, "B")

	resp := h.Do(ann, "PUT", "/items/"+a+"/bookmark", nil)
	if got := decode[bookmarks.Bookmark](t, resp); resp.StatusCode != http.StatusCreated || got.ItemID != a || got.CreatedAt.IsZero() {
		t.Fatalf("first PUT: %d %+v", resp.StatusCode, got)
	}
	resp = h.Do(ann, "PUT", "/items/"+a+"/bookmark", nil)
	if got := decode[bookmarks.Bookmark](t, resp); resp.StatusCode != http.StatusOK || got.ItemID != a {
		t.Fatalf("repeated PUT: %d %+v", resp.StatusCode, got)
	}
	if resp := h.Do(ann, "PUT", "/items/"+b+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("second item: %d", resp.StatusCode)
	}

	got := decode[page](t, h.Do(ann, "GET", "/bookmarks", nil))
	if len(got.Items) != 2 || got.NextCursor != nil {
		t.Fatalf("ann's bookmarks: %+v", got)
	}
	if got := decode[page](t, h.Do(bob, "GET", "/bookmarks", nil)); len(got.Items) != 0 {
		t.Fatalf("bob sees ann's bookmarks: %+v", got)
	}

	for range 2 { // idempotent
		if resp := h.Do(ann, "DELETE", "/items/"+a+"/bookmark", nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
	}
	got = decode[page](t, h.Do(ann, "GET", "/bookmarks", nil))
	if len(got.Items) != 1 || got.Items[0].ItemID != b {
		t.Fatalf("after DELETE: %+v", got)
	}
	if keys := h.KVKeys("i/" + a + "/"); len(keys) != 0 {
		t.Fatalf("index entries left: %v", keys)
	}
}

func TestBookmarksPaginate(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{})
	want := map[string]bool{}
	for _, title := range []string{"1", "2", "3", "4", "5"} {
		id := readable(h, title)
		want[id] = true
		if resp := h.Do(ann, "PUT", "/items/"+id+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d", resp.StatusCode)
		}
	}
	seen := map[string]bool{}
	pages := 0
	for target := "/bookmarks?limit=2"; ; pages++ {
		got := decode[page](t, h.Do(ann, "GET", target, nil))
		for _, b := range got.Items {
			if seen[b.ItemID] {
				t.Fatalf("%s twice", b.ItemID)
			}
			seen[b.ItemID] = true
		}
		if got.NextCursor == nil {
			break
		}
		target = "/bookmarks?limit=2&cursor=" + *got.NextCursor
	}
	if len(seen) != len(want) || pages != 2 {
		t.Fatalf("saw %d bookmarks over %d pages", len(seen), pages+1)
	}
}

func TestCannotBookmarkWhatYouCannotRead(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{})
	secret := readable(h, "ann only")
	for name, target := range map[string]string{
		"unreadable item": "/items/" + secret + "/bookmark",
		"missing item":    "/items/no-such-item/bookmark",
	} {
		resp := h.Do(bob, "PUT", target, nil)
		if p := decode[sdk.Problem](t, resp); resp.StatusCode != http.StatusNotFound || p.Code != "not_found" {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, p)
		}
	}
	if keys := h.KVKeys(""); len(keys) != 0 {
		t.Fatalf("stored for refused requests: %v", keys)
	}
	if got := h.Decorate(bob, sdk.ItemRef{ID: secret}); string(got[secret]) != `{"bookmarked":false}` {
		t.Fatalf("decoration %s", got[secret])
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{})
	tests := []struct {
		user   plugintest.User
		method string
		target string
		status int
		code   string
	}{
		{ann, "GET", "/bookmarks?limit=0", 400, "validation_failed"},
		{ann, "GET", "/bookmarks?limit=abc", 400, "validation_failed"},
		{ann, "GET", "/bookmarks?sort=title", 400, "validation_failed"},
		{ann, "GET", "/bookmarks?cursor=" + strings.Repeat("x", 600), 400, "validation_failed"},
		{ann, "PUT", "/items/x/bookmark?force=1", 400, "validation_failed"},
		{ann, "PUT", "/items/%FF/bookmark", 400, "validation_failed"},
		{plugintest.User{}, "GET", "/bookmarks", 401, "unauthenticated"},
		{ann, "POST", "/bookmarks", 404, "not_found"},
	}
	for _, tt := range tests {
		resp := h.Do(tt.user, tt.method, tt.target, nil)
		if p := decode[sdk.Problem](t, resp); resp.StatusCode != tt.status || p.Code != tt.code || p.Type != sdk.ProblemType(tt.code) {
			t.Errorf("%s %s: %d %+v, want %d %s", tt.method, tt.target[:min(len(tt.target), 40)], resp.StatusCode, p, tt.status, tt.code)
		}
	}
}

func TestTheLimitComesFromSettings(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{Settings: json.RawMessage(`{"max_per_user":1}`)})
	a, b := readable(h, "A"), readable(h, "B")
	if resp := h.Do(ann, "PUT", "/items/"+a+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp := h.Do(ann, "PUT", "/items/"+b+"/bookmark", nil)
	if p := decode[sdk.Problem](t, resp); resp.StatusCode != http.StatusConflict || p.Code != "bookmark_limit" {
		t.Fatalf("over the limit: %d %+v", resp.StatusCode, p)
	}
	h.Do(ann, "DELETE", "/items/"+a+"/bookmark", nil)
	if resp := h.Do(ann, "PUT", "/items/"+b+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("after freeing one: %d", resp.StatusCode)
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, s := range []string{`{"max_per_user":0}`, `{"max_per_user":"many"}`, `{"colour":"red"}`} {
		if _, err := plugintest.Start(t, bookmarks.New(), plugintest.Options{Settings: json.RawMessage(s)}); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("settings %s: %v, want ErrInvalid", s, err)
		}
	}
}

func TestDecorationSaysWhetherTheViewerBookmarked(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{})
	a, b := readable(h, "A"), readable(h, "B")
	h.AllowRead(bob.ID, a)
	h.Do(ann, "PUT", "/items/"+a+"/bookmark", nil)
	items := []sdk.ItemRef{{ID: a, Kind: "page"}, {ID: b, Kind: "page"}}
	want := map[string][2]string{
		ann.ID: {`{"bookmarked":true}`, `{"bookmarked":false}`},
		bob.ID: {`{"bookmarked":false}`, `{"bookmarked":false}`},
	}
	for _, u := range []plugintest.User{ann, bob} {
		got := h.Decorate(u, items...)
		if len(got) != 2 || string(got[a]) != want[u.ID][0] || string(got[b]) != want[u.ID][1] {
			t.Errorf("%s: %s", u.ID, got)
		}
	}
}

func TestDeletedItemsLoseTheirBookmarks(t *testing.T) {
	h := plugintest.New(t, bookmarks.New(), plugintest.Options{Settings: json.RawMessage(`{"max_per_user":2}`)})
	a, keep, more := readable(h, "A"), readable(h, "keep"), readable(h, "more")
	h.AllowRead(bob.ID, a)
	for _, put := range []struct {
		u  plugintest.User
		id string
	}{{ann, a}, {ann, keep}, {bob, a}} {
		if resp := h.Do(put.u, "PUT", "/items/"+put.id+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d", resp.StatusCode)
		}
	}

	event := sdk.Event{ID: "evt-1", Type: "item.deleted", ItemID: a}
	for range 2 { // redelivery is harmless
		if handled := h.Deliver(event); len(handled) != 1 || handled[0] != "evt-1" {
			t.Fatalf("handled %v", handled)
		}
	}
	if got := decode[page](t, h.Do(ann, "GET", "/bookmarks", nil)); len(got.Items) != 1 || got.Items[0].ItemID != keep {
		t.Fatalf("ann's bookmarks after the delete: %+v", got)
	}
	if got := decode[page](t, h.Do(bob, "GET", "/bookmarks", nil)); len(got.Items) != 0 {
		t.Fatalf("bob's bookmarks after the delete: %+v", got)
	}
	if keys := h.KVKeys("i/" + a + "/"); len(keys) != 0 {
		t.Fatalf("index left: %v", keys)
	}
	// The count went down once, though the event came twice: ann has room for one.
	if resp := h.Do(ann, "PUT", "/items/"+more+"/bookmark", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("ann after the delete: %d", resp.StatusCode)
	}
	if resp := h.Do(ann, "PUT", "/items/"+a+"/bookmark", nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("ann over the limit: %d", resp.StatusCode)
	}
	if handled := h.Deliver(sdk.Event{ID: "evt-2", Type: "item.created", ItemID: keep}); len(handled) != 1 {
		t.Fatalf("an event it ignores is still acknowledged: %v", handled)
	}
}
