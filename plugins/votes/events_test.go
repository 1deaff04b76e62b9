package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pleinhq/plein/sdk"
)

func TestDeletedItemsAndUsersTakeTheirVotesAlong(t *testing.T) {
	h, _, _ := start(t)
	ok[SpaceSettings](t, h, mod, 200, "PUT", "/spaces/s1/settings", map[string]int{"vote_budget": 5})
	kept, gone := item(h, "s1"), item(h, "s1")
	for _, id := range []string{kept, gone} {
		vote(t, h, ann, id, 1)
		vote(t, h, bob, id, -1)
	}
	poll := ok[PollView](t, h, ann, 201, "POST", "/spaces/s1/polls", map[string]any{"question": "Q?", "options": []string{"a", "b"}})
	ok[PollView](t, h, ann, 200, "PUT", "/polls/"+poll.ID+"/ballot", map[string]any{"choices": []int{1}})
	ok[PollView](t, h, bob, 200, "PUT", "/polls/"+poll.ID+"/ballot", map[string]any{"choices": []int{2}})
	other := ok[PollView](t, h, ann, 201, "POST", "/spaces/s1/polls", map[string]any{"question": "Q2?", "options": []string{"a", "b"}})
	ok[PollView](t, h, bob, 200, "PUT", "/polls/"+other.ID+"/ballot", map[string]any{"choices": []int{1}})

	events := []sdk.Event{
		{ID: "e1", Type: "item.deleted", ItemID: gone, SpaceID: "s1"},
		{ID: "e2", Type: "item.deleted", ItemID: poll.ID, SpaceID: "s1"},
		{ID: "e3", Type: "user.deleted", Payload: json.RawMessage(`{"user_id":"bob"}`)},
	}
	for range 2 { // at least once
		if handled := h.Deliver(events...); len(handled) != 3 {
			t.Fatalf("handled %v", handled)
		}
	}
	if got := ok[Budget](t, h, ann, 200, "GET", "/spaces/s1/budget", nil); got.Used != 1 {
		t.Fatalf("ann's budget after the deleted idea: %+v", got)
	}
	if sum := ok[Summary](t, h, ann, 200, "GET", "/items/"+kept, nil); sum.Score != 1 || sum.Up != 1 || sum.Down != 0 {
		t.Fatalf("the kept idea after bob went: %+v", sum)
	}
	if v := ok[PollView](t, h, ann, 200, "GET", "/polls/"+other.ID, nil); v.ResultsVisible {
		t.Fatalf("results of a poll nobody voted in any more: %+v", v)
	}
	ok[PollView](t, h, ann, 200, "PUT", "/polls/"+other.ID+"/ballot", map[string]any{"choices": []int{2}})
	if v := ok[PollView](t, h, ann, 200, "GET", "/polls/"+other.ID, nil); *v.Voters != 1 || *v.Options[0].Votes != 0 {
		t.Fatalf("bob's ballot still counted: %+v", v)
	}
	want := []string{"b/s1/ann", "c/" + kept + "/ann", "cfg/s1", "ix/s1/" + kept, "pb/" + other.ID + "/ann",
		"poll/" + other.ID, "ub/ann/" + other.ID, "uv/ann/" + kept, "v/" + kept + "/ann"}
	if keys := h.KVKeys(""); strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys left:\n%v\nwant\n%v", keys, want)
	}
	if sum := ok[Summary](t, h, ann, 200, "GET", "/items/"+gone, nil); sum.Score != 0 || sum.Up != 0 || sum.MyVote != nil {
		t.Fatalf("the deleted idea's counts: %+v", sum)
	}
}
