package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

var (
	ann = plugintest.User{ID: "ann", Roles: []string{"employee"}}
	bob = plugintest.User{ID: "bob", Roles: []string{"employee"}}
)

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

// do sends a request and decodes a 200 answer as the item's state.
func do(t *testing.T, h *plugintest.Harness, u plugintest.User, method, path string) State {
	t.Helper()
	resp := h.Do(u, method, path, nil)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s as %s: %d %s", method, path, u.ID, resp.StatusCode, body)
	}
	return decode[State](t, resp)
}

func item(h *plugintest.Harness) string {
	return h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "post", SpaceID: "s1", Title: "Hello"}, Public: true})
}

func TestLikeUnlikeAndTheDecorationAgree(t *testing.T) {
	h := plugintest.New(t, New(), plugintest.Options{})
	id := item(h)
	like := "/items/" + id + "/like"

	steps := []struct {
		user   plugintest.User
		method string
		want   State
	}{
		{ann, "PUT", State{1, true}},
		{ann, "PUT", State{1, true}}, // idempotent
		{bob, "PUT", State{2, true}},
		{ann, "DELETE", State{1, false}},
		{ann, "DELETE", State{1, false}}, // idempotent
		{ann, "PUT", State{2, true}},
	}
	for i, s := range steps {
		if got := do(t, h, s.user, s.method, like); got != s.want {
			t.Fatalf("step %d, %s %s: %+v, want %+v", i, s.user.ID, s.method, got, s.want)
		}
	}
	carol := plugintest.User{ID: "carol"}
	for _, u := range []plugintest.User{ann, carol} {
		want := State{Count: 2, Liked: u.ID == "ann"}
		if got := do(t, h, u, "GET", "/items/"+id); got != want {
			t.Errorf("GET as %s: %+v, want %+v", u.ID, got, want)
		}
		wantJSON, _ := json.Marshal(want)
		if got := h.Decorate(u, sdk.ItemRef{ID: id, Kind: "post", SpaceID: "s1"}); string(got[id]) != string(wantJSON) {
			t.Errorf("decoration for %s: %s, want %s", u.ID, got[id], wantJSON)
		}
	}
	if keys := h.KVKeys(""); strings.Join(keys, " ") != "l/"+id+"/ann l/"+id+"/bob u/ann/"+id+" u/bob/"+id {
		t.Fatalf("stored keys %v", keys)
	}
}

func TestLikersComeAPageAtATime(t *testing.T) {
	h := plugintest.New(t, New(), plugintest.Options{})
	id := item(h)
	var users []string
	for i := range 5 {
		u := plugintest.User{ID: fmt.Sprintf("user %d/ü", i)} // ids that need escaping
		users = append(users, u.ID)
		do(t, h, u, "PUT", "/items/"+id+"/like")
	}
	type page struct {
		Items []struct {
			UserID  string `json:"user_id"`
			LikedAt string `json:"liked_at"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/items/" + id + "/likers?limit=2"
		if cursor != "" {
			path += "&cursor=" + urlQuery(cursor)
		}
		resp := h.Do(ann, "GET", path, nil)
		p := decode[page](t, resp)
		if resp.StatusCode != 200 || pages > 3 {
			t.Fatalf("page %d: %d %+v", pages, resp.StatusCode, p)
		}
		for _, it := range p.Items {
			if it.LikedAt == "" {
				t.Errorf("liker %s without liked_at", it.UserID)
			}
			got = append(got, it.UserID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(users, ",") {
		t.Fatalf("likers %q, want %q", got, users)
	}
	for _, bad := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=" + strings.Repeat("c", 300), "?sort=new", "?limit=2&limit=3"} {
		if resp := h.Do(ann, "GET", "/items/"+id+"/likers"+bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("likers%s: %d, want 400", bad, resp.StatusCode)
		}
	}
	if resp := h.Do(ann, "PUT", "/items/"+id+"/like?x=1", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("like with a query: %d, want 400", resp.StatusCode)
	}
	if resp := h.Do(plugintest.User{}, "PUT", "/items/"+id+"/like", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("like without a user: %d, want 401", resp.StatusCode)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "/", "%2F", "&", "%26").Replace(s)
}

func TestConcurrentLikesKeepTheCountExact(t *testing.T) {
	h := plugintest.New(t, New(), plugintest.Options{})
	id := item(h)
	var wg sync.WaitGroup
	for u := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := plugintest.User{ID: fmt.Sprint("u", u)}
			for round := range 5 {
				method := "PUT"
				if (u+round)%3 == 0 {
					method = "DELETE"
				}
				if resp := h.Do(user, method, "/items/"+id+"/like", nil); resp.StatusCode != 200 {
					t.Errorf("%s: %d", method, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	likers := len(h.KVKeys("l/" + id + "/"))
	if got := do(t, h, ann, "GET", "/items/"+id); got.Count != int64(likers) || likers == 0 {
		t.Fatalf("count %d, %d likers stored", got.Count, likers)
	}
}

func TestDeletedItemsAndUsersTakeTheirLikesAlong(t *testing.T) {
	p := New()
	h := plugintest.New(t, p, plugintest.Options{})
	a, b := item(h), item(h)
	for _, u := range []plugintest.User{ann, bob} {
		do(t, h, u, "PUT", "/items/"+a+"/like")
		do(t, h, u, "PUT", "/items/"+b+"/like")
	}
	events := []sdk.Event{
		{ID: "e1", Type: "item.deleted", ItemID: a},
		{ID: "e2", Type: "user.deleted", Payload: json.RawMessage(`{"user_id":"ann"}`)},
	}
	for range 2 { // delivered twice: at least once
		if handled := h.Deliver(events...); len(handled) != 2 {
			t.Fatalf("handled %v", handled)
		}
	}
	if keys := h.KVKeys(""); strings.Join(keys, " ") != "l/"+b+"/bob u/bob/"+b {
		t.Fatalf("keys left: %v", keys)
	}
	if got := do(t, h, bob, "GET", "/items/"+b); got != (State{1, true}) {
		t.Fatalf("the item left: %+v", got)
	}
	if got := do(t, h, bob, "GET", "/items/"+a); got != (State{0, false}) {
		t.Fatalf("the deleted item: %+v", got)
	}
	// An index entry whose like is already gone (a cleanup cut short) goes too.
	if _, err := p.host.KV().Put(t.Context(), userKey(bob.ID, "gone"), nil); err != nil {
		t.Fatal(err)
	}
	h.Deliver(sdk.Event{ID: "e3", Type: "user.deleted", Payload: json.RawMessage(`{"user_id":"bob"}`)})
	if keys := h.KVKeys(""); len(keys) != 0 {
		t.Fatalf("keys left after bob went: %v", keys)
	}
	if got := do(t, h, ann, "GET", "/items/"+b); got != (State{0, false}) {
		t.Fatalf("the item after both went: %+v", got)
	}
}

func TestSettingsAreRefused(t *testing.T) {
	if _, err := plugintest.Start(t, New(), plugintest.Options{Settings: json.RawMessage(`{"max":3}`)}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("unknown setting: %v", err)
	}
	plugintest.New(t, New(), plugintest.Options{Settings: json.RawMessage(`{}`)})
}
