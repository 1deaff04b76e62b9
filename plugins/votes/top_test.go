package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

type topPage struct {
	Items      []Ranked `json:"items"`
	NextCursor *string  `json:"next_cursor"`
}

// ids returns the item ids of ?space=s1 and the query, page by page of limit.
func rankedIDs(t *testing.T, h *plugintest.Harness, u plugintest.User, query string, limit string) ([]string, []Ranked) {
	t.Helper()
	var ids []string
	var all []Ranked
	cursor := ""
	for range 20 {
		path := "/top?space=s1&limit=" + limit + query
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		p := ok[topPage](t, h, u, 200, "GET", path, nil)
		for _, it := range p.Items {
			ids = append(ids, it.ItemID)
			all = append(all, it)
		}
		if p.NextCursor == nil {
			return ids, all
		}
		cursor = *p.NextCursor
	}
	t.Fatal("the pages never end")
	return nil, nil
}

func TestTopRanksWhatTheReaderMaySee(t *testing.T) {
	h, _, _ := start(t)
	voters := []plugintest.User{ann, bob, mod, {ID: "dan"}}
	scores := map[string]int{}
	var ids []string
	for i := range 7 {
		id := item(h, "s1")
		ids = append(ids, id)
		for v := range i % 4 { // scores 0, 1, 2, 3, 0, 1, 2 (the last ones down)
			value := 1
			if i >= 4 {
				value = -1
			}
			vote(t, h, voters[v], id, value)
			scores[id] += value
		}
	}
	hidden := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "idea", SpaceID: "s1", Title: "Secret"}})
	h.AllowRead(mod.ID, hidden)
	vote(t, h, mod, hidden, 1)
	ok[map[string]string](t, h, mod, 200, "PUT", "/items/"+ids[3]+"/status", map[string]string{"status": "planned"})
	h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "idea", SpaceID: "s2", Title: "Elsewhere"}, Public: true})

	// Scores 3, 2, 1, -1, -2; the items nobody voted for are not ranked, the hidden
	// one is not the reader's.
	got, page := rankedIDs(t, h, ann, "", "2")
	if want := []string{ids[3], ids[2], ids[1], ids[5], ids[6]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ranking %v, want %v (scores %v)", got, want, scores)
	}
	for i := 1; i < len(page); i++ {
		if page[i].Score > page[i-1].Score || (page[i].Score == page[i-1].Score && page[i].ItemID < page[i-1].ItemID) {
			t.Fatalf("out of order at %d: %+v", i, page)
		}
	}
	if page[0].Status != Planned || page[0].Up != 3 || page[0].MyVote == nil || *page[0].MyVote != 1 || page[0].Title != "An idea" {
		t.Fatalf("first entry %+v", page[0])
	}
	if modIDs, _ := rankedIDs(t, h, mod, "", "100"); len(modIDs) != 6 || modIDs[3] != hidden {
		t.Fatalf("the moderator's ranking %v lacks %s", modIDs, hidden)
	}
	if planned, _ := rankedIDs(t, h, ann, "&status=planned", "5"); len(planned) != 1 || planned[0] != ids[3] {
		t.Fatalf("planned only: %v", planned)
	}
	for _, bad := range []string{"", "?space=", "?space=s1&status=closed", "?space=s1&limit=0", "?space=s1&cursor=x", "?space=s1&cursor=1", "?space=s1&sort=new"} {
		refused(t, h, ann, 400, "validation_failed", "GET", "/top"+bad, nil)
	}
	if p := ok[topPage](t, h, ann, 200, "GET", "/top?space=nosuch", nil); len(p.Items) != 0 || p.NextCursor != nil {
		t.Fatalf("an unknown space: %+v", p)
	}
}
