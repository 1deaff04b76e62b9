package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestAnswersOrderAcceptedThenScoreThenAge(t *testing.T) {
	e := start(t, "{}")
	q := e.ask(ann, "kb", "Which form for travel costs?", "Where do I claim them?").ID
	answeredAt := e.clock.now()
	first := e.answer(bob, q, "The staff portal, within 30 days.")
	e.clock.advance(time.Minute)
	second := e.answer(hal, q, "Ask the secretariat.")
	e.clock.advance(time.Minute)
	third := e.answer(ida, q, "Form D-12 on the staff portal.")
	if first.QuestionID != q || *first.Author != bob.ID || first.Score != 0 || first.Accepted {
		t.Fatalf("answer: %+v", first)
	}
	if it, ok := e.h.Item(first.ID); !ok || it.Kind != kindAnswer || it.SpaceID != "kb" || it.Title != "Re: Which form for travel costs?" {
		t.Fatalf("the answer's item: %+v", it)
	}
	if got := e.get(ann, q); answerIDs(got.Answers) != answerIDs([]answerView{first, second, third}) || got.AnswerCount != 3 ||
		got.FirstAnswerAt == nil || !got.FirstAnswerAt.Equal(answeredAt) {
		t.Fatalf("equal scores, oldest first: %s %+v", answerIDs(got.Answers), got.questionView)
	}

	tally := must[tallyView](e, 200, ann, "PUT", "/questions/"+q+"/answers/"+third.ID+"/vote", map[string]int{"value": 1})
	if tally != (tallyView{Score: 1, Up: 1, MyVote: 1}) {
		t.Fatalf("tally %+v", tally)
	}
	must[tallyView](e, 200, ann, "PUT", "/questions/"+q+"/answers/"+third.ID+"/vote", map[string]int{"value": 1}) // again: no change
	must[tallyView](e, 200, bob, "PUT", "/questions/"+q+"/answers/"+third.ID+"/vote", map[string]int{"value": 1})
	must[tallyView](e, 200, ann, "PUT", "/questions/"+q+"/answers/"+first.ID+"/vote", map[string]int{"value": -1})
	tally = must[tallyView](e, 200, ann, "PUT", "/questions/"+q+"/answers/"+first.ID+"/vote", map[string]int{"value": 1})
	if tally != (tallyView{Score: 1, Up: 1, MyVote: 1}) {
		t.Fatalf("a changed vote: %+v", tally)
	}
	must[tallyView](e, 200, ida, "PUT", "/questions/"+q+"/answers/"+second.ID+"/vote", map[string]int{"value": -1})
	e.refused(bob, "PUT", "/questions/"+q+"/answers/"+first.ID+"/vote", map[string]int{"value": 1}, 403, "forbidden")
	e.refused(bob, "PUT", "/questions/"+q+"/answers/"+second.ID+"/vote", map[string]int{"value": 2}, 400, "validation_failed")

	got := e.get(ann, q)
	if answerIDs(got.Answers) != answerIDs([]answerView{third, first, second}) {
		t.Fatalf("by score: %s", answerIDs(got.Answers))
	}
	if a := got.Answers[0]; a.Score != 2 || a.Up != 2 || a.Down != 0 || a.MyVote != 1 {
		t.Fatalf("the top answer as ann sees it: %+v", a)
	}
	if a := e.get(hal, q).Answers[0]; a.MyVote != 0 {
		t.Fatalf("hal's vote: %+v", a)
	}

	// Only ann, who asked, or a moderator accepts.
	e.refused(bob, "PUT", "/questions/"+q+"/accepted", map[string]string{"answer_id": second.ID}, 403, "forbidden")
	e.clock.advance(time.Hour)
	accepted := must[questionView](e, 200, ann, "PUT", "/questions/"+q+"/accepted", map[string]string{"answer_id": second.ID})
	if accepted.Status != statusResolved || *accepted.AcceptedAnswerID != second.ID || accepted.ResolvedAt == nil {
		t.Fatalf("accepted: %+v", accepted)
	}
	got = e.get(bob, q)
	if answerIDs(got.Answers) != answerIDs([]answerView{second, third, first}) || !got.Answers[0].Accepted || got.Answers[1].Accepted {
		t.Fatalf("accepted first: %s", answerIDs(got.Answers))
	}
	// A moderator may accept too; the first resolution time stays.
	e.h.Allow(bob.ID, "moderate", q)
	again := must[questionView](e, 200, bob, "PUT", "/questions/"+q+"/accepted", map[string]string{"answer_id": third.ID})
	if *again.AcceptedAnswerID != third.ID || !again.ResolvedAt.Equal(*accepted.ResolvedAt) {
		t.Fatalf("accepted by a moderator: %+v", again)
	}
	if status, _ := e.do(bob, "DELETE", "/questions/"+q+"/accepted", nil); status != 204 {
		t.Fatalf("unaccept: %d", status)
	}
	if got := e.get(ann, q); got.Status != statusOpen || got.AcceptedAnswerID != nil || got.ResolvedAt != nil {
		t.Fatalf("after unaccepting: %+v", got.questionView)
	}

	for range 2 { // idempotent
		if status, body := e.do(bob, "DELETE", "/questions/"+q+"/answers/"+third.ID+"/vote", nil); status != 204 {
			t.Fatalf("unvote: %d %s", status, body)
		}
	}
	// Third and first now score 1 each: the older first.
	got = e.get(bob, q)
	if answerIDs(got.Answers) != answerIDs([]answerView{first, third, second}) || got.Answers[1].Score != 1 || got.Answers[1].MyVote != 0 {
		t.Fatalf("after bob's unvote: %+v", got.Answers)
	}
	if keys := e.h.KVKeys("u/bob/v/"); len(keys) != 0 {
		t.Fatalf("bob's vote index after unvoting: %v", keys)
	}
}

func TestAnswersPaginate(t *testing.T) {
	e := start(t, "{}")
	q := e.ask(ann, "kb", "Ideas for the team outing?", "Anything goes.").ID
	var want []answerView
	for i := range 25 {
		want = append(want, e.answer(plugintest.User{ID: fmt.Sprintf("u%02d", i)}, q, fmt.Sprintf("Idea %d", i)))
		e.clock.advance(time.Second)
	}
	got := e.get(ann, q)
	if len(got.Answers) != 20 || got.AnswersNextCursor == nil || got.AnswerCount != 25 {
		t.Fatalf("first page: %d answers, cursor %v", len(got.Answers), got.AnswersNextCursor)
	}
	all := got.Answers
	for cursor := got.AnswersNextCursor; cursor != nil; {
		next := must[page[answerView]](e, 200, ann, "GET", "/questions/"+q+"/answers?limit=2&cursor="+*cursor, nil)
		all, cursor = append(all, next.Items...), next.NextCursor
	}
	if answerIDs(all) != answerIDs(want) {
		t.Fatalf("all pages: %s", answerIDs(all))
	}
}
