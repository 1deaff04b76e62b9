package main

import (
	"strings"
	"testing"
	"time"
)

func TestPollsCountBallotsAndShowResultsAsTheyShould(t *testing.T) {
	h, _, c := start(t)
	single := ok[PollView](t, h, ann, 201, "POST", "/spaces/s1/polls", map[string]any{
		"question": "Waar lunchen we?", "options": []string{"Kantine", " Park ", "Bureau"}})
	if single.Results != AfterVote || single.Multiple || single.Closed || len(single.Options) != 3 || single.Options[1].Text != "Park" ||
		single.ResultsVisible || single.SpaceID != "s1" || len(single.MyChoices) != 0 {
		t.Fatalf("created: %+v", single)
	}
	if it, found := h.Item(single.ID); !found || it.Kind != "poll" || it.Title != "Waar lunchen we?" || !strings.Contains(it.Body, "Bureau") {
		t.Fatalf("the poll's item: %+v", it)
	}
	path := "/polls/" + single.ID
	if v := ok[PollView](t, h, bob, 200, "GET", path, nil); v.ResultsVisible || v.Options[0].Votes != nil || v.Voters != nil {
		t.Fatalf("results before voting: %+v", v)
	}
	v := ok[PollView](t, h, bob, 200, "PUT", path+"/ballot", map[string]any{"choices": []int{2}})
	if !v.ResultsVisible || *v.Options[1].Votes != 1 || *v.Voters != 1 || v.MyChoices[0] != 2 {
		t.Fatalf("after voting: %+v", v)
	}
	ok[PollView](t, h, ann, 200, "PUT", path+"/ballot", map[string]any{"choices": []int{2}})
	v = ok[PollView](t, h, bob, 200, "PUT", path+"/ballot", map[string]any{"choices": []int{3}}) // changed mind
	if *v.Options[1].Votes != 1 || *v.Options[2].Votes != 1 || *v.Voters != 2 {
		t.Fatalf("after a change: %+v", v)
	}
	for _, body := range []any{map[string]any{"choices": []int{1, 2}}, map[string]any{"choices": []int{}}, map[string]any{"choices": []int{4}},
		map[string]any{}, map[string]any{"choices": nil}} {
		refused(t, h, bob, 400, "validation_failed", "PUT", path+"/ballot", body)
	}
	v = ok[PollView](t, h, ann, 200, "DELETE", path+"/ballot", nil)
	if v.ResultsVisible || len(v.MyChoices) != 0 {
		t.Fatalf("after taking it back: %+v", v)
	}
	if v := ok[PollView](t, h, bob, 200, "GET", path, nil); *v.Options[1].Votes != 0 || *v.Voters != 1 {
		t.Fatalf("counts after ann took hers back: %+v", v)
	}
	ok[PollView](t, h, ann, 200, "DELETE", path+"/ballot", nil) // nothing to take back

	// Several choices, results only after closing.
	closes := c.now().Add(time.Hour)
	multi := ok[PollView](t, h, ann, 201, "POST", "/spaces/s1/polls", map[string]any{
		"question": "Welke dagen?", "options": []string{"ma", "di", "wo"}, "multiple": true,
		"closes_at": closes.Format(time.RFC3339), "results": "after_close"})
	path = "/polls/" + multi.ID
	if v := ok[PollView](t, h, bob, 200, "PUT", path+"/ballot", map[string]any{"choices": []int{3, 1}}); v.ResultsVisible || v.MyChoices[0] != 1 || v.MyChoices[1] != 3 {
		t.Fatalf("a multiple ballot before closing: %+v", v)
	}
	ok[PollView](t, h, ann, 200, "PUT", path+"/ballot", map[string]any{"choices": []int{1}})
	c.advance(2 * time.Hour)
	v = ok[PollView](t, h, mod, 200, "GET", path, nil)
	if !v.Closed || !v.ResultsVisible || *v.Options[0].Votes != 2 || *v.Options[1].Votes != 0 || *v.Options[2].Votes != 1 || *v.Voters != 2 {
		t.Fatalf("closed: %+v", v)
	}
	refused(t, h, mod, 409, "poll_closed", "PUT", path+"/ballot", map[string]any{"choices": []int{2}})
	refused(t, h, bob, 409, "poll_closed", "DELETE", path+"/ballot", nil)

	past := c.now().Add(-time.Minute).Format(time.RFC3339)
	for _, body := range []map[string]any{
		{"question": "", "options": []string{"a", "b"}},
		{"question": "Q", "options": []string{"a"}},
		{"question": "Q", "options": []string{"a", " a"}},
		{"question": "Q", "options": []string{"a", ""}},
		{"question": "Q", "options": make([]string, 21)},
		{"question": "Q", "options": []string{"a", "b"}, "results": "never"},
		{"question": "Q", "options": []string{"a", "b"}, "results": "after_close"},
		{"question": "Q", "options": []string{"a", "b"}, "closes_at": past},
		{"question": "Q", "options": []string{"a", "b"}, "closes_at": "tomorrow"},
		{"question": "Q", "options": []string{"a", "b"}, "colour": "red"},
	} {
		refused(t, h, ann, 400, "validation_failed", "POST", "/spaces/s1/polls", body)
	}
	refused(t, h, ann, 404, "not_found", "GET", "/polls/"+item(h, "s1"), nil)
}
