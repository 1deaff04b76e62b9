package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/pleinhq/plein/sdk"
)

func deleted(id string) sdk.Event {
	return sdk.Event{ID: "del-" + id, Type: "item.deleted", ItemID: id, Payload: json.RawMessage(`{"kind":"x","owner":"qa"}`)}
}

func TestDeletedAnswersAndQuestionsLeaveNothing(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "it", "Monitor flickers", "Since Monday.").ID
	keep := e.answer(bob, q, "Check the cable.")
	gone := e.answer(hal, q, "Replaced the monitor.")
	must[tallyView](e, 200, ann, "PUT", "/questions/"+q+"/answers/"+gone.ID+"/vote", map[string]int{"value": 1})
	must[questionView](e, 200, ann, "PUT", "/questions/"+q+"/accepted", map[string]string{"answer_id": gone.ID})
	must[questionView](e, 200, hal, "PUT", "/questions/"+q+"/assignee", map[string]string{"user_id": hal.ID})
	must[note](e, 201, hal, "POST", "/questions/"+q+"/notes", map[string]string{"body": "Warranty case"})

	for range 2 { // redelivery is harmless
		if handled := e.h.Deliver(deleted(gone.ID)); len(handled) != 1 {
			t.Fatalf("handled %v", handled)
		}
	}
	got := e.get(ann, q)
	if got.AnswerCount != 1 || got.AcceptedAnswerID != nil || got.Status != statusInProgress || answerIDs(got.Answers) != keep.ID {
		t.Fatalf("after the accepted answer went: %+v %s", got.questionView, answerIDs(got.Answers))
	}
	for _, prefix := range []string{"v/" + gone.ID, "aq/" + gone.ID, "u/ann/v/", answerKey(q, gone.ID)} {
		if keys := e.h.KVKeys(prefix); len(keys) != 0 {
			t.Fatalf("left after the answer: %v", keys)
		}
	}

	if handled := e.h.Deliver(deleted(q)); len(handled) != 1 {
		t.Fatalf("handled %v", handled)
	}
	if _, ok := e.h.Item(keep.ID); ok {
		t.Fatal("the question's answer is still an item")
	}
	if keys := e.h.KVKeys(""); !slices.Equal(keys, []string{staffKey("it", hal.ID)}) {
		t.Fatalf("left after the question: %v", keys)
	}
	e.refused(ann, "GET", "/questions/"+q, nil, 404, "not_found")
	if got := must[page[questionView]](e, 200, ann, "GET", "/questions?space=it", nil); len(got.Items) != 0 {
		t.Fatalf("listed after deletion: %+v", got.Items)
	}
	// Other plugins' and the core's items are none of its business.
	e.h.Deliver(sdk.Event{ID: "other", Type: "item.deleted", ItemID: "x", Payload: json.RawMessage(`{"kind":"post","owner":"core"}`)})
}

func TestADeletedUserIsForgotten(t *testing.T) {
	e := start(t, helpdeskSettings)
	q := e.ask(ann, "it", "Password reset", "Locked out.").ID
	a := e.answer(hal, q, "Reset it at the service desk.")
	must[tallyView](e, 200, bob, "PUT", "/questions/"+q+"/answers/"+a.ID+"/vote", map[string]int{"value": 1})
	must[questionView](e, 200, hal, "PUT", "/questions/"+q+"/assignee", map[string]string{"user_id": hal.ID})
	n := must[note](e, 201, hal, "POST", "/questions/"+q+"/notes", map[string]string{"body": "Account unlocked"})

	for _, u := range []string{bob.ID, hal.ID} {
		for range 2 {
			e.h.Deliver(sdk.Event{ID: "gone-" + u, Type: "user.deleted", Payload: json.RawMessage(`{"user_id":"` + u + `"}`)})
		}
	}
	got := e.get(ann, q)
	if got.Assignee != nil || got.Status != statusOpen {
		t.Fatalf("the deleted assignee: %+v", got.questionView)
	}
	if v := got.Answers[0]; v.Score != 1 || v.Up != 1 {
		t.Fatalf("the tally keeps the vote: %+v", v)
	}
	notes := must[page[note]](e, 200, ida, "GET", "/questions/"+q+"/notes", nil)
	if len(notes.Items) != 1 || notes.Items[0].ID != n.ID || notes.Items[0].Author != nil || notes.Items[0].Body != n.Body {
		t.Fatalf("the deleted author's note: %+v", notes.Items)
	}
	for _, prefix := range []string{"u/bob/", "u/hal/", voteKey(a.ID, bob.ID), staffKey("it", hal.ID)} {
		if keys := e.h.KVKeys(prefix); len(keys) != 0 {
			t.Fatalf("left of the deleted users: %v", keys)
		}
	}
}
