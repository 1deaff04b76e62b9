package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestLinkedDocumentsShowOnlyToWhoMayReadThem(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "P", "members": []map[string]any{{"user_id": "bob"}}})
	open := e.AddItem(plugintest.Item{Item: sdk.Item{Kind: "document", SpaceID: "s1", Title: "Open.pdf"}, Public: true})
	secret := e.AddItem(plugintest.Item{Item: sdk.Item{Kind: "document", SpaceID: "s2", Title: "Geheim.pdf"}})
	e.AllowRead("ann", secret)
	post := e.AddItem(plugintest.Item{Item: sdk.Item{Kind: "post", SpaceID: "s1", Title: "Hallo"}, Public: true})
	target := "/projects/" + pr.ID + "/documents/"

	var l documentView
	e.must(http.StatusCreated, ann, "PUT", target+open, nil, &l)
	if l.ItemID != open || l.Title != "Open.pdf" || l.LinkedBy != "ann" {
		t.Fatalf("linked %+v", l)
	}
	e.must(http.StatusOK, bob, "PUT", target+open, nil, &l)
	if l.LinkedBy != "ann" {
		t.Fatalf("linked again %+v", l)
	}
	e.must(http.StatusCreated, ann, "PUT", target+secret, nil, nil)
	e.problem(http.StatusNotFound, "not_found", bob, "PUT", target+secret, nil) // bob may not read it
	e.problem(http.StatusBadRequest, "validation_failed", ann, "PUT", target+post, nil)
	e.problem(http.StatusForbidden, "forbidden", dave, "PUT", target+open, nil) // dave reads the project, no member
	for _, c := range []struct {
		u    plugintest.User
		want []string
	}{{ann, []string{open, secret}}, {bob, []string{open}}, {dave, []string{open}}} {
		var got projectPage
		e.must(http.StatusOK, c.u, "GET", "/projects/"+pr.ID, nil, &got)
		var docs []string
		for _, d := range got.Documents {
			docs = append(docs, d.ItemID)
		}
		slices.Sort(docs)
		if want := slices.Sorted(slices.Values(c.want)); !slices.Equal(docs, want) {
			t.Errorf("%s sees %v, want %v", c.u.ID, docs, want)
		}
	}
	// Unlinking works without reading the document.
	e.must(http.StatusNoContent, bob, "DELETE", target+secret, nil, nil)
	if keys := e.KVKeys(refPrefix(secret)); len(keys) != 0 {
		t.Fatalf("index left: %v", keys)
	}
}

func TestDeletedItemsLeaveTheirProjects(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "P", "members": []map[string]any{{"user_id": "bob"}}})
	doc := e.AddItem(plugintest.Item{Item: sdk.Item{Kind: "document", SpaceID: "s1", Title: "D"}, Public: true})
	e.must(http.StatusCreated, ann, "PUT", "/projects/"+pr.ID+"/documents/"+doc, nil, nil)
	task := e.task(bob, pr.ID, map[string]any{"title": "T", "status": "done"})
	act := e.activities(pr.ID)[0].ID

	for range 2 { // redelivery is harmless
		for _, id := range []string{doc, act} {
			if got := e.Deliver(sdk.Event{ID: "del-" + id, Type: "item.deleted", ItemID: id}); len(got) != 1 {
				t.Fatalf("handled %v", got)
			}
		}
	}
	var got projectPage
	e.must(http.StatusOK, ann, "GET", "/projects/"+pr.ID, nil, &got)
	if len(got.Documents) != 0 || len(e.KVKeys(docPrefix(pr.ID))) != 0 || len(e.KVKeys(activityPrefix(pr.ID))) != 0 {
		t.Fatalf("the deleted items are still linked: %+v %v", got.Documents, e.KVKeys(""))
	}
	e.must(http.StatusOK, ann, "GET", "/projects/"+pr.ID+"/tasks/"+task.ID, nil, nil)

	// The project's own item deleted (by a moderator, say): the project goes.
	e.Deliver(sdk.Event{ID: "del-project", Type: "item.deleted", ItemID: pr.ID})
	e.problem(http.StatusNotFound, "not_found", ann, "GET", "/projects/"+pr.ID, nil)
	if keys := e.KVKeys(""); len(keys) != 0 {
		t.Fatalf("left in KV: %v", keys)
	}
}

func TestDeletedSpacesTakeTheirProjects(t *testing.T) {
	e := newEnv(t)
	gone := e.project(ann, map[string]any{"space_id": "s1", "name": "In s1"})
	kept := e.project(ann, map[string]any{"space_id": "s2", "name": "In s2"})
	e.task(ann, gone.ID, map[string]any{"title": "T", "assignee": "ann"})
	for range 2 {
		if got := e.Deliver(sdk.Event{ID: "space", Type: "space.deleted", SpaceID: "s1"}); len(got) != 1 {
			t.Fatalf("handled %v", got)
		}
	}
	var l list[projectView]
	e.must(http.StatusOK, ann, "GET", "/projects", nil, &l)
	if !slices.Equal(ids(l.Items), []string{kept.ID}) {
		t.Fatalf("projects after the space went: %v", ids(l.Items))
	}
	if keys := e.KVKeys(assignPrefix("ann")); len(keys) != 0 {
		t.Fatalf("assignments left: %v", keys)
	}
}

func TestDeletedUsersLeaveTheirProjects(t *testing.T) {
	e := newEnv(t)
	shared := e.project(ann, map[string]any{"name": "Gedeeld",
		"members": []map[string]any{{"user_id": "carl", "role": "viewer"}, {"user_id": "bob"}}})
	alone := e.project(ann, map[string]any{"space_id": "s1", "name": "Alleen"})
	open := e.task(ann, shared.ID, map[string]any{"title": "Open", "assignee": "ann"})
	done := e.task(ann, shared.ID, map[string]any{"title": "Klaar", "assignee": "ann", "status": "done"})
	e.task(ann, alone.ID, map[string]any{"title": "Solo", "assignee": "ann"})

	for range 2 {
		if got := e.Deliver(sdk.Event{ID: "user", Type: "user.deleted", Payload: []byte(`{"user_id":"ann"}`)}); len(got) != 1 {
			t.Fatalf("handled %v", got)
		}
	}
	// The earliest member (not the earlier viewer) takes over.
	var pr projectView
	e.must(http.StatusOK, bob, "GET", "/projects/"+shared.ID, nil, &pr)
	if pr.Owner != "bob" || pr.MyRole != "owner" || len(pr.Members) != 2 || pr.member("ann") != nil {
		t.Fatalf("after ann's account went: %+v", pr)
	}
	if it, _ := e.Item(shared.ID); !slices.Equal(it.Restricted, []string{"user:bob", "user:carl"}) {
		t.Fatalf("restriction %v", it.Restricted)
	}
	for _, id := range []string{open.ID, done.ID} {
		var task taskView
		e.must(http.StatusOK, bob, "GET", "/projects/"+shared.ID+"/tasks/"+id, nil, &task)
		if task.Assignee != nil {
			t.Errorf("task %s still assigned: %+v", task.Title, task)
		}
	}
	// Nobody left: the project goes.
	e.problem(http.StatusNotFound, "not_found", dave, "GET", "/projects/"+alone.ID, nil)
	if _, ok := e.Item(alone.ID); ok {
		t.Fatal("the empty project's item is left")
	}
	for _, prefix := range []string{memberPrefix("ann"), assignPrefix("ann"), projectKey(alone.ID), taskPrefix(alone.ID)} {
		if keys := e.KVKeys(prefix); len(keys) != 0 {
			t.Errorf("left under %s: %v", prefix, keys)
		}
	}
}

// member finds a member in a view, for tests.
func (v projectView) member(user string) *Member {
	pr := Project{Members: v.Members}
	return pr.member(user)
}
