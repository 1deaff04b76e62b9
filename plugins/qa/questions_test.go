package main

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
)

func TestAQuestionIsAnItemWithItsRecord(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "kb", "  Where is the style guide?  ", "I need the letter template.", "Huisstijl", "#huisstijl", "templates")
	if q.Title != "Where is the style guide?" || q.SpaceID != "kb" || q.Status != statusOpen || q.Helpdesk ||
		*q.Author != ann.ID || !slices.Equal(q.Tags, []string{"huisstijl", "templates"}) || q.CreatedAt.IsZero() {
		t.Fatalf("asked: %+v", q)
	}
	it, ok := e.h.Item(q.ID)
	if !ok || it.Kind != kindQuestion || it.Owner != "qa" || it.SpaceID != "kb" || it.AuthorID != ann.ID || it.Body != "I need the letter template." {
		t.Fatalf("the item: %+v", it)
	}
	got := e.get(bob, q.ID)
	if got.ID != q.ID || got.Title != q.Title || len(got.Answers) != 0 || got.AnswersNextCursor != nil || got.Assignee != nil {
		t.Fatalf("GET: %+v", got)
	}
	// Feeds show the record beside the item.
	deco := e.h.Decorate(bob, sdk.ItemRef{ID: q.ID, Kind: kindQuestion})
	var fields struct {
		Question record
		Answer   *answerLink
	}
	if err := json.Unmarshal(deco[q.ID], &fields); err != nil || fields.Question.Status != statusOpen || fields.Question.SpaceID != "kb" || fields.Answer != nil {
		t.Fatalf("decoration %s: %v", deco[q.ID], err)
	}
	// A core item is no question.
	post := e.h.AddItem(plugintestItem("post", "kb", "Hello"))
	e.refused(bob, "GET", "/questions/"+post, nil, 404, "not_found")
}

func TestListQuestionsNewestFirstByStatusAndPage(t *testing.T) {
	e := start(t, helpdeskSettings)
	var asked []string
	for _, title := range []string{"One", "Two", "Three", "Four", "Five"} {
		asked = append(asked, e.ask(ann, "it", title, "Body of "+title).ID)
		e.clock.advance(time.Minute)
	}
	e.ask(ann, "kb", "Elsewhere", "Another space")
	slices.Reverse(asked)

	var seen []string
	pages := 0
	for target := "/questions?space=it&limit=2"; ; pages++ {
		got := must[page[questionView]](e, 200, bob, "GET", target, nil)
		for _, q := range got.Items {
			seen = append(seen, q.ID)
		}
		if got.NextCursor == nil {
			break
		}
		target = "/questions?space=it&limit=2&cursor=" + *got.NextCursor
	}
	if !slices.Equal(seen, asked) || pages != 2 {
		t.Fatalf("pages %d: %v, want %v", pages+1, seen, asked)
	}

	hd := must[questionDetail](e, 200, hal, "PUT", "/questions/"+asked[1]+"/assignee", map[string]string{"user_id": hal.ID})
	if hd.Status != statusInProgress {
		t.Fatalf("assigned: %+v", hd.questionView)
	}
	must[questionView](e, 200, hal, "PUT", "/questions/"+asked[3]+"/status", map[string]string{"status": statusResolved})
	for status, want := range map[string][]string{
		statusOpen:       {asked[0], asked[2], asked[4]},
		statusInProgress: {asked[1]},
		statusResolved:   {asked[3]},
	} {
		got := must[page[questionView]](e, 200, bob, "GET", "/questions?space=it&status="+status, nil)
		var ids []string
		for _, q := range got.Items {
			ids = append(ids, q.ID)
			if q.Status != status {
				t.Errorf("%s listed as %s", q.Status, status)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("status %s: %v, want %v", status, ids, want)
		}
	}
	if got := must[page[questionView]](e, 200, bob, "GET", "/questions?space=nowhere", nil); len(got.Items) != 0 || got.NextCursor != nil {
		t.Fatalf("a space without questions: %+v", got)
	}
}

func TestSimilarQuestionsWithAcceptedAnswersFirst(t *testing.T) {
	e := start(t, helpdeskSettings)
	plain := e.ask(ann, "it", "VPN drops", "My vpn connection drops every few minutes.")
	solved := e.ask(bob, "it", "VPN after the update", "Since the update the vpn is slow.")
	byAnswer := e.ask(bob, "it", "Laptop is slow at home", "Working from home is slow.")
	e.ask(bob, "it", "Printer jam", "Paper jam on the second floor.")
	fix := e.answer(hal, solved.ID, "Install the new VPN client from the software centre.")
	must[questionView](e, 200, bob, "PUT", "/questions/"+solved.ID+"/accepted", map[string]string{"answer_id": fix.ID})
	e.answer(hal, byAnswer.ID, "Start the vpn client before you log in.")

	got := must[page[similarView]](e, 200, ann, "GET", "/questions/similar?q=vpn", nil)
	var ids []string
	for _, q := range got.Items {
		ids = append(ids, q.ID)
	}
	if want := []string{solved.ID, plain.ID, byAnswer.ID}; !slices.Equal(ids, want) || got.NextCursor != nil {
		t.Fatalf("similar: %v, want %v", ids, want)
	}
	if a := got.Items[0].AcceptedAnswer; a == nil || a.ID != fix.ID || !a.Accepted || a.Body != fix.Body {
		t.Fatalf("the accepted answer: %+v", a)
	}
	if got.Items[1].AcceptedAnswer != nil {
		t.Fatalf("an accepted answer where there is none: %+v", got.Items[1])
	}
	if got := must[page[similarView]](e, 200, ann, "GET", "/questions/similar?q=vpn&limit=1", nil); len(got.Items) != 1 || got.Items[0].ID != solved.ID {
		t.Fatalf("limit 1: %+v", got.Items)
	}
	if got := must[page[similarView]](e, 200, ann, "GET", "/questions/similar?q=vpn&space=kb", nil); len(got.Items) != 0 {
		t.Fatalf("another space: %+v", got.Items)
	}
	if words := searchWords(`Why does "VPN" fail, and why? a`); !slices.Equal(words, []string{"why", "does", "vpn", "fail", "and"}) {
		t.Fatalf("search words: %q", words)
	}
}
