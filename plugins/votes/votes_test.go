package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestVotesCountAndTheDecorationAgrees(t *testing.T) {
	h, _, _ := start(t)
	id := item(h, "s1")
	steps := []struct {
		user  plugintest.User
		value int // 0: DELETE
		want  Summary
	}{
		{ann, 1, Summary{1, 1, 0, i64(1), Open}},
		{ann, 1, Summary{1, 1, 0, i64(1), Open}}, // the same again
		{bob, -1, Summary{0, 1, 1, i64(-1), Open}},
		{ann, -1, Summary{-2, 0, 2, i64(-1), Open}}, // turned around
		{bob, 0, Summary{-1, 0, 1, nil, Open}},
		{bob, 0, Summary{-1, 0, 1, nil, Open}}, // nothing to take back
		{bob, 1, Summary{0, 1, 1, i64(1), Open}},
	}
	for i, s := range steps {
		var got Summary
		if s.value == 0 {
			got = ok[Summary](t, h, s.user, 200, "DELETE", "/items/"+id+"/vote", nil)
		} else {
			got = vote(t, h, s.user, id, s.value)
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: %+v, want %+v", i, got, s.want)
		}
	}
	for _, c := range []struct {
		u    plugintest.User
		want string
	}{{ann, `-1`}, {bob, `1`}, {mod, `null`}} {
		u, want := c.u, c.want
		got := h.Decorate(u, sdk.ItemRef{ID: id, Kind: "idea", SpaceID: "s1"})[id]
		if string(got) != `{"score":0,"up":1,"down":1,"my_vote":`+want+`}` {
			t.Errorf("decoration for %s: %s", u.ID, got)
		}
		sum := ok[Summary](t, h, u, 200, "GET", "/items/"+id, nil)
		if data, _ := json.Marshal(sum.MyVote); sum.Score != 0 || string(data) != want {
			t.Errorf("summary for %s: %+v", u.ID, sum)
		}
	}
	for _, body := range []any{map[string]int{"value": 2}, map[string]int{"value": 0}, map[string]any{}, map[string]any{"value": 1, "extra": 1}, "1"} {
		refused(t, h, ann, 400, "validation_failed", "PUT", "/items/"+id+"/vote", body)
	}
	refused(t, h, ann, 404, "not_found", "PUT", "/items/nosuch/vote", map[string]int{"value": 1})
	refused(t, h, ann, 400, "validation_failed", "GET", "/items/"+id+"?x=1", nil)
}

func TestBudgetsLimitActiveVotesAndClosingGivesThemBack(t *testing.T) {
	h, _, _ := start(t)
	a, b, c := item(h, "s1"), item(h, "s1"), item(h, "s1")
	other := item(h, "s2")
	if got := ok[SpaceSettings](t, h, mod, 200, "PUT", "/spaces/s1/settings", map[string]int{"vote_budget": 2}); got.VoteBudget != 2 {
		t.Fatalf("settings: %+v", got)
	}
	budget := func(space string) Budget { return ok[Budget](t, h, ann, 200, "GET", "/spaces/"+space+"/budget", nil) }
	vote(t, h, ann, a, 1)
	vote(t, h, ann, b, -1)
	if got := budget("s1"); got.Used != 2 || got.Left == nil || *got.Left != 0 {
		t.Fatalf("budget after two votes: %+v", got)
	}
	refused(t, h, ann, 409, "vote_budget_exhausted", "PUT", "/items/"+c+"/vote", map[string]int{"value": 1})
	vote(t, h, ann, b, 1)     // turning a vote around costs nothing
	vote(t, h, ann, other, 1) // another space, no budget
	if got := budget("s2"); got.Used != 1 || got.Left != nil {
		t.Fatalf("budget where there is none: %+v", got)
	}
	ok[Summary](t, h, ann, 200, "DELETE", "/items/"+b+"/vote", nil)
	vote(t, h, ann, c, 1)

	// Done: a's vote comes back, and a takes no more changes.
	if got := ok[map[string]string](t, h, mod, 200, "PUT", "/items/"+a+"/status", map[string]string{"status": "done"}); got["status"] != "done" {
		t.Fatalf("status: %v", got)
	}
	if got := budget("s1"); got.Used != 1 {
		t.Fatalf("budget after a's idea closed: %+v", got)
	}
	refused(t, h, ann, 409, "idea_closed", "PUT", "/items/"+a+"/vote", map[string]int{"value": -1})
	refused(t, h, bob, 409, "idea_closed", "DELETE", "/items/"+a+"/vote", nil)
	if sum := ok[Summary](t, h, ann, 200, "GET", "/items/"+a, nil); sum.Status != Done || sum.Score != 1 || *sum.MyVote != 1 {
		t.Fatalf("the closed idea keeps its votes: %+v", sum)
	}
	vote(t, h, ann, b, 1)
	// Open again: the vote is charged again, over the budget.
	ok[map[string]string](t, h, mod, 200, "PUT", "/items/"+a+"/status", map[string]string{"status": "planned"})
	if got := budget("s1"); got.Used != 3 || *got.Left != 0 {
		t.Fatalf("budget after a reopened: %+v", got)
	}
	// Setting it again changes nothing more.
	ok[map[string]string](t, h, mod, 200, "PUT", "/items/"+a+"/status", map[string]string{"status": "planned"})
	if got := budget("s1"); got.Used != 3 {
		t.Fatalf("budget after the same status again: %+v", got)
	}
	refused(t, h, mod, 400, "validation_failed", "PUT", "/items/"+a+"/status", map[string]string{"status": "finished"})
	refused(t, h, mod, 400, "validation_failed", "PUT", "/spaces/s1/settings", map[string]int{"vote_budget": -1})
	refused(t, h, mod, 400, "validation_failed", "PUT", "/spaces/s1/settings", map[string]any{"budget": 3})
	if got := ok[SpaceSettings](t, h, bob, 200, "GET", "/spaces/s1/settings", nil); got.VoteBudget != 2 {
		t.Fatalf("settings read: %+v", got)
	}
}

// One user voting on many items at once never gets past the budget; many users
// voting on one item at once leave a score equal to their votes.
func TestConcurrentVotesKeepCountsAndBudgetsExact(t *testing.T) {
	h, _, _ := start(t)
	ok[SpaceSettings](t, h, mod, 200, "PUT", "/spaces/s1/settings", map[string]int{"vote_budget": 3})
	items := make([]string, 12)
	for i := range items {
		items[i] = item(h, "s1")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for _, id := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := call(t, h, ann, "PUT", "/items/"+id+"/vote", map[string]int{"value": 1})
			if status == 200 {
				mu.Lock()
				accepted++
				mu.Unlock()
			} else if status != 409 {
				t.Errorf("vote: %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	if got := ok[Budget](t, h, ann, 200, "GET", "/spaces/s1/budget", nil); accepted != 3 || got.Used != 3 {
		t.Fatalf("%d votes accepted, %d used, budget 3", accepted, got.Used)
	}

	hot := item(h, "s2")
	for u := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := plugintest.User{ID: fmt.Sprint("u", u)}
			for round := range 4 {
				value := 1 - 2*((u+round)%2)
				if status, body := call(t, h, user, "PUT", "/items/"+hot+"/vote", map[string]int{"value": value}); status != 200 {
					t.Errorf("vote: %d %s", status, body)
				}
			}
		}()
	}
	wg.Wait()
	var score, up, down int64
	for _, k := range h.KVKeys("v/" + hot + "/") {
		sum := ok[Summary](t, h, plugintest.User{ID: k[len("v/"+hot+"/"):]}, 200, "GET", "/items/"+hot, nil)
		v := *sum.MyVote
		score += v
		if v > 0 {
			up++
		} else {
			down++
		}
	}
	if got := ok[Summary](t, h, bob, 200, "GET", "/items/"+hot, nil); got.Score != score || got.Up != up || got.Down != down || up+down != 30 {
		t.Fatalf("summary %+v, stored votes: score %d, %d up, %d down", got, score, up, down)
	}
}

func TestIdeasAreItemsRankedFromTheStart(t *testing.T) {
	h, _, _ := start(t)
	idea := ok[Idea](t, h, ann, 201, "POST", "/spaces/s1/ideas", map[string]string{"title": "  Fietsenstalling  ", "body": "Overdekt graag"})
	it, found := h.Item(idea.ID)
	if !found || it.Kind != "idea" || it.SpaceID != "s1" || it.Title != "Fietsenstalling" || it.AuthorID != "ann" || idea.Status != Open {
		t.Fatalf("idea %+v, item %+v", idea, it)
	}
	if keys := h.KVKeys("ix/s1/"); len(keys) != 1 {
		t.Fatalf("rank entries %v", keys)
	}
	for _, body := range []any{map[string]string{"title": " "}, map[string]string{"title": string(make([]rune, 301))}, map[string]int{"title": 1}} {
		refused(t, h, ann, 400, "validation_failed", "POST", "/spaces/s1/ideas", body)
	}
}
