package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestTasksWorkForMembersAndReadForTheRest(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "P",
		"members": []map[string]any{{"user_id": "bob"}, {"user_id": "carl", "role": "viewer"}}})
	target := "/projects/" + pr.ID + "/tasks"
	first := e.task(bob, pr.ID, map[string]any{"title": "Offerte", "assignee": "ann", "due_date": "2026-06-01"})
	if first.Status != "todo" || first.Order != 1 || first.Assignee == nil || *first.Assignee != "ann" || first.CreatedBy != "bob" || first.Overdue {
		t.Fatalf("created %+v", first)
	}
	second := e.task(ann, pr.ID, map[string]any{"title": "Tekening", "order": 0})
	// Viewers and the space's readers read tasks; only members change them.
	for _, u := range []plugintest.User{carl, dave} {
		var l list[taskView]
		e.must(http.StatusOK, u, "GET", target, nil, &l)
		if !slices.Equal(ids(l.Items), []string{second.ID, first.ID}) {
			t.Fatalf("%s reads %v", u.ID, ids(l.Items))
		}
		e.must(http.StatusOK, u, "GET", target+"/"+first.ID, nil, nil)
		e.problem(http.StatusForbidden, "forbidden", u, "POST", target, map[string]any{"title": "Mine"})
		e.problem(http.StatusForbidden, "forbidden", u, "PATCH", target+"/"+first.ID, map[string]any{"status": "done"})
		e.problem(http.StatusForbidden, "forbidden", u, "DELETE", target+"/"+first.ID, nil)
	}
	e.problem(http.StatusBadRequest, "validation_failed", ann, "PATCH", target+"/"+first.ID, map[string]any{"assignee": "carl"})

	var got taskView
	e.must(http.StatusOK, ann, "PATCH", target+"/"+first.ID, map[string]any{"assignee": "bob", "due_date": nil, "status": "doing"}, &got)
	if got.Assignee == nil || *got.Assignee != "bob" || got.DueDate != nil || got.Status != "doing" || got.Title != "Offerte" {
		t.Fatalf("patched %+v", got)
	}
	if keys := e.KVKeys("a/"); !slices.Equal(keys, []string{assignKey("bob", pr.ID, first.ID)}) {
		t.Fatalf("assignee index %v", keys)
	}
	var l list[taskView]
	e.must(http.StatusOK, carl, "GET", target+"?assignee=bob", nil, &l)
	if !slices.Equal(ids(l.Items), []string{first.ID}) {
		t.Fatalf("bob's tasks %v", ids(l.Items))
	}
	e.must(http.StatusOK, bob, "GET", target+"?assignee=me&status=todo", nil, &l)
	if len(l.Items) != 0 {
		t.Fatalf("bob's tasks to do %v", ids(l.Items))
	}
	e.must(http.StatusNoContent, bob, "DELETE", target+"/"+second.ID, nil, nil)
	e.problem(http.StatusNotFound, "not_found", bob, "GET", target+"/"+second.ID, nil)
	e.problem(http.StatusNotFound, "not_found", bob, "DELETE", target+"/"+second.ID, nil)
}

func TestFinishingATaskReachesTheFeed(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"name": "Buiten ruimtes", "members": []map[string]any{{"user_id": "bob"}}})
	task := e.task(ann, pr.ID, map[string]any{"title": "Bellen", "assignee": "bob"})
	var got taskView
	e.must(http.StatusOK, bob, "PATCH", "/projects/"+pr.ID+"/tasks/"+task.ID, map[string]any{"status": "done"}, &got)
	if got.Status != "done" || got.DoneAt == nil {
		t.Fatalf("done %+v", got)
	}
	// Done again changes nothing and announces nothing.
	e.must(http.StatusOK, bob, "PATCH", "/projects/"+pr.ID+"/tasks/"+task.ID, map[string]any{"status": "done"}, nil)
	events := e.Published()
	if len(events) != 2 || events[1].Type != "projects.task_done" || events[1].ItemID != pr.ID || events[1].Actor != "bob" {
		t.Fatalf("published %+v", events)
	}
	var payload map[string]string
	if err := json.Unmarshal(events[1].Payload, &payload); err != nil || payload["task_id"] != task.ID || payload["title"] != "Bellen" {
		t.Fatalf("payload %s", events[1].Payload)
	}
	// Outside spaces the activity item is the members' only, and follows them.
	acts := e.activities(pr.ID)
	if len(acts) != 1 || acts[0].Title != "Task done: Bellen" || acts[0].Body != "Project: Buiten ruimtes" || acts[0].AuthorID != "bob" ||
		!slices.Equal(acts[0].Restricted, []string{"user:ann", "user:bob"}) {
		t.Fatalf("activity items %+v", acts)
	}
	e.must(http.StatusCreated, ann, "PUT", "/projects/"+pr.ID+"/members/carl", map[string]any{"role": "viewer"}, nil)
	if acts := e.activities(pr.ID); !slices.Equal(acts[0].Restricted, []string{"user:ann", "user:bob", "user:carl"}) {
		t.Fatalf("the activity item's readers did not follow: %v", acts[0].Restricted)
	}
}

func TestRemovingAMemberUnassignsTheirOpenTasks(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "P", "members": []map[string]any{{"user_id": "bob"}}})
	open := e.task(ann, pr.ID, map[string]any{"title": "Open", "assignee": "bob"})
	done := e.task(ann, pr.ID, map[string]any{"title": "Klaar", "assignee": "bob", "status": "done"})
	e.must(http.StatusNoContent, ann, "DELETE", "/projects/"+pr.ID+"/members/bob", nil, nil)
	var got taskView
	e.must(http.StatusOK, ann, "GET", "/projects/"+pr.ID+"/tasks/"+open.ID, nil, &got)
	if got.Assignee != nil {
		t.Fatalf("the open task kept its assignee: %+v", got)
	}
	e.must(http.StatusOK, ann, "GET", "/projects/"+pr.ID+"/tasks/"+done.ID, nil, &got)
	if got.Assignee == nil || *got.Assignee != "bob" {
		t.Fatalf("the done task lost its assignee: %+v", got)
	}
	var mine list[taskView]
	e.must(http.StatusOK, bob, "GET", "/tasks?assignee=me", nil, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("bob's tasks after leaving: %+v", mine.Items)
	}
	if keys := e.KVKeys(memberPrefix("bob")); len(keys) != 0 {
		t.Fatalf("membership index left: %v", keys)
	}
}

func TestMyTasksComeOverdueFirstAcrossProjects(t *testing.T) {
	e := newEnv(t)
	a := e.project(ann, map[string]any{"name": "A", "members": []map[string]any{{"user_id": "bob"}}})
	b := e.project(bob, map[string]any{"name": "B", "members": []map[string]any{{"user_id": "ann"}}})
	other := e.project(carl, map[string]any{"name": "C"})
	mk := func(pid, title, due, status string) string {
		body := map[string]any{"title": title, "assignee": "bob", "status": status}
		if due != "" {
			body["due_date"] = due
		}
		return e.task(bob, pid, body).ID
	}
	noDue := mk(a.ID, "no due date", "", "todo")
	later := mk(b.ID, "later", "2026-07-01", "doing")
	lateA := mk(a.ID, "two days late", "2026-05-18", "todo")
	doneLate := mk(b.ID, "done, was due long ago", "2026-01-01", "done")
	lateB := mk(b.ID, "a month late", "2026-04-20", "doing")
	today := mk(a.ID, "due today", "2026-05-20", "todo")
	e.task(carl, other.ID, map[string]any{"title": "carl's"})
	e.task(bob, a.ID, map[string]any{"title": "ann's", "assignee": "ann"})

	want := []string{lateB, lateA, today, later, noDue, doneLate}
	var got []string
	for target := "/tasks?assignee=me&limit=4"; ; {
		var l list[taskView]
		e.must(http.StatusOK, bob, "GET", target, nil, &l)
		got = append(got, ids(l.Items)...)
		for _, tv := range l.Items {
			if tv.Overdue != (tv.ID == lateA || tv.ID == lateB) || tv.ProjectName == "" {
				t.Errorf("task %s: %+v", tv.Title, tv)
			}
		}
		if l.NextCursor == nil {
			break
		}
		target = "/tasks?limit=4&cursor=" + *l.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	var l list[taskView]
	e.must(http.StatusOK, bob, "GET", "/tasks?status=done", nil, &l)
	if !slices.Equal(ids(l.Items), []string{doneLate}) {
		t.Fatalf("done: %v", ids(l.Items))
	}
}

func TestProjectTasksPaginateInOrder(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"name": "P"})
	var want []string
	for _, order := range []int{5, -3, 5, 12, 0} {
		want = append(want, e.task(ann, pr.ID, map[string]any{"title": "t", "order": order}).ID)
	}
	ties := []string{want[0], want[2]} // order 5 twice: by id
	slices.Sort(ties)
	want = []string{want[1], want[4], ties[0], ties[1], want[3]}
	var got []string
	for target := "/projects/" + pr.ID + "/tasks?limit=2"; ; {
		var l list[taskView]
		e.must(http.StatusOK, ann, "GET", target, nil, &l)
		got = append(got, ids(l.Items)...)
		if l.NextCursor == nil {
			break
		}
		target = "/projects/" + pr.ID + "/tasks?limit=2&cursor=" + *l.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}
