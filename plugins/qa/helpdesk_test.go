package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestHelpdeskAssignsNotesAndStatus(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "it", "Printer jam", "The printer on the second floor jams.")
	if !q.Helpdesk || q.Status != statusOpen || q.Assignee != nil {
		t.Fatalf("a helpdesk question: %+v", q)
	}
	target := "/questions/" + q.ID

	// Only the helpdesk assigns, notes and sets a question in progress.
	e.refused(bob, "PUT", target+"/assignee", map[string]string{"user_id": bob.ID}, 403, "forbidden")
	e.refused(ann, "PUT", target+"/status", map[string]string{"status": statusInProgress}, 403, "forbidden")
	e.refused(bob, "PUT", target+"/status", map[string]string{"status": statusResolved}, 403, "forbidden")
	e.refused(ann, "POST", target+"/notes", map[string]string{"body": "Hi"}, 403, "forbidden")
	// A colleague who has not used the helpdesk yet is not assignable.
	e.refused(hal, "PUT", target+"/assignee", map[string]string{"user_id": ida.ID}, 400, "validation_failed")
	e.refused(hal, "PUT", target+"/assignee", map[string]string{"user_id": bob.ID}, 400, "validation_failed")
	info := must[struct {
		Helpdesk bool
		Role     *string
		Staff    bool
	}](e, 200, ida, "GET", "/spaces/it/helpdesk", nil)
	if !info.Helpdesk || *info.Role != "helpdesk" || !info.Staff {
		t.Fatalf("helpdesk info for ida: %+v", info)
	}
	staff := must[page[staffMember]](e, 200, hal, "GET", "/spaces/it/staff", nil)
	if len(staff.Items) != 2 || staff.Items[0].UserID != hal.ID || staff.Items[1].UserID != ida.ID {
		t.Fatalf("staff: %+v", staff.Items)
	}
	e.refused(ann, "GET", "/spaces/it/staff", nil, 403, "forbidden")
	e.refused(hal, "GET", "/spaces/kb/staff", nil, 409, "not_helpdesk")

	got := must[questionView](e, 200, hal, "PUT", target+"/assignee", map[string]string{"user_id": ida.ID})
	if *got.Assignee != ida.ID || got.Status != statusInProgress {
		t.Fatalf("assigned to ida: %+v", got)
	}
	got = must[questionView](e, 200, ida, "PUT", target+"/assignee", map[string]string{"user_id": hal.ID})
	if *got.Assignee != hal.ID {
		t.Fatalf("handed to hal: %+v", got)
	}
	if keys := e.h.KVKeys("u/ida/asg/"); len(keys) != 0 {
		t.Fatalf("ida's assignment index after handing over: %v", keys)
	}

	secret := "Toner order 4471 for floor 2"
	n := must[note](e, 201, hal, "POST", target+"/notes", map[string]string{"body": secret})
	if n.ID == "" || *n.Author != hal.ID || n.Body != secret || n.QuestionID != q.ID {
		t.Fatalf("note: %+v", n)
	}
	e.clock.advance(time.Minute)
	must[note](e, 201, ida, "POST", target+"/notes", map[string]string{"body": "Called the supplier"})
	notes := must[page[note]](e, 200, ida, "GET", target+"/notes?limit=1", nil)
	if len(notes.Items) != 1 || notes.Items[0].Body != secret || notes.NextCursor == nil {
		t.Fatalf("notes page 1: %+v", notes)
	}
	notes = must[page[note]](e, 200, ida, "GET", target+"/notes?limit=1&cursor="+*notes.NextCursor, nil)
	if len(notes.Items) != 1 || notes.Items[0].Body != "Called the supplier" || notes.NextCursor != nil {
		t.Fatalf("notes page 2: %+v", notes)
	}
	for _, u := range []plugintest.User{ann, bob} {
		e.refused(u, "GET", target+"/notes", nil, 403, "forbidden")
	}
	// Notes never show outside their route.
	for _, path := range []string{target, "/questions?space=it", "/questions/similar?q=printer"} {
		if _, body := e.do(ann, "GET", path, nil); strings.Contains(string(body), "4471") {
			t.Fatalf("%s shows the note: %s", path, body)
		}
	}

	a := e.answer(hal, q.ID, "Cleared the jam; new toner is on order.")
	got = must[questionView](e, 200, ann, "PUT", target+"/accepted", map[string]string{"answer_id": a.ID})
	if got.Status != statusResolved {
		t.Fatalf("accepted: %+v", got)
	}
	// The asker reopens; the helpdesk sets it in progress again.
	if got = must[questionView](e, 200, ann, "PUT", target+"/status", map[string]string{"status": statusOpen}); got.Status != statusOpen || got.ResolvedAt != nil {
		t.Fatalf("reopened: %+v", got)
	}
	if got = must[questionView](e, 200, hal, "PUT", target+"/status", map[string]string{"status": statusInProgress}); got.Status != statusInProgress {
		t.Fatalf("in progress: %+v", got)
	}
	if status, _ := e.do(hal, "DELETE", target+"/assignee", nil); status != 204 {
		t.Fatalf("unassign: %d", status)
	}
	if got := e.get(ann, q.ID); got.Assignee != nil || got.Status != statusOpen {
		t.Fatalf("unassigned: %+v", got.questionView)
	}
}

func TestHelpdeskRoutesOutsideHelpdeskSpaces(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "kb", "Coffee machine", "Who refills the beans?")
	if q.Helpdesk || q.Assignee != nil {
		t.Fatalf("not a helpdesk question: %+v", q)
	}
	target := "/questions/" + q.ID
	e.refused(hal, "PUT", target+"/assignee", map[string]string{"user_id": hal.ID}, 409, "not_helpdesk")
	e.refused(hal, "POST", target+"/notes", map[string]string{"body": "x"}, 409, "not_helpdesk")
	e.refused(hal, "GET", target+"/notes", nil, 409, "not_helpdesk")
	e.refused(ann, "PUT", target+"/status", map[string]string{"status": statusInProgress}, 400, "validation_failed")
	if got := must[questionView](e, 200, ann, "PUT", target+"/status", map[string]string{"status": statusResolved}); got.Status != statusResolved {
		t.Fatalf("resolved by the asker: %+v", got)
	}
	info := must[struct {
		Helpdesk bool
		Role     *string
	}](e, 200, hal, "GET", "/spaces/kb/helpdesk", nil)
	if info.Helpdesk || info.Role != nil {
		t.Fatalf("kb: %+v", info)
	}
}

func TestStatsCountAndTakeMedians(t *testing.T) {
	e := start(t, helpdeskSettings)
	// Three questions: answered after 10 and 30 minutes, resolved after 1 and 3
	// hours; the third unanswered. An answer by the asker does not count.
	q1 := e.ask(ann, "it", "One", "First").ID
	q2 := e.ask(bob, "it", "Two", "Second").ID
	q3 := e.ask(bob, "it", "Three", "Third").ID
	e.answer(bob, q3, "Never mind, found it.")
	e.clock.advance(10 * time.Minute)
	a1 := e.answer(hal, q1, "Try this.")
	e.clock.advance(20 * time.Minute)
	e.answer(ida, q2, "Try that.")
	e.clock.advance(30 * time.Minute)
	must[questionView](e, 200, ann, "PUT", "/questions/"+q1+"/accepted", map[string]string{"answer_id": a1.ID})
	e.clock.advance(2 * time.Hour)
	must[questionView](e, 200, hal, "PUT", "/questions/"+q2+"/status", map[string]string{"status": statusResolved})
	must[questionView](e, 200, hal, "PUT", "/questions/"+q3+"/assignee", map[string]string{"user_id": hal.ID})

	got := must[statsView](e, 200, hal, "GET", "/stats?space=it", nil)
	if got.Questions != 3 || got.Open != 0 || got.InProgress != 1 || got.Resolved != 2 ||
		got.MedianFirstAnswerSeconds == nil || *got.MedianFirstAnswerSeconds != 1200 ||
		got.MedianResolutionSeconds == nil || *got.MedianResolutionSeconds != 2*3600 {
		t.Fatalf("stats: %+v", got)
	}
	// Not for other employees; for a moderator of the space, yes.
	cy := plugintest.User{ID: "cy", Roles: []string{"employee"}}
	e.refused(cy, "GET", "/stats?space=it", nil, 404, "not_found")
	for _, q := range []string{q1, q2, q3} {
		e.h.Allow(cy.ID, "moderate", q)
	}
	must[statsView](e, 200, cy, "GET", "/stats?space=it", nil)
	// A space without questions: zeros for its helpdesk, nothing for others.
	e2 := start(t, `{"helpdesk_spaces":{"empty":{"role":"helpdesk"}}}`)
	if got := must[statsView](e2, 200, hal, "GET", "/stats?space=empty", nil); got.Questions != 0 || got.MedianFirstAnswerSeconds != nil {
		t.Fatalf("empty: %+v", got)
	}
	e2.refused(bob, "GET", "/stats?space=empty", nil, 404, "not_found")
}
