package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestAProjectInASpaceIsAnItemItsReadersRead(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": " Nieuw gemeentehuis ", "description": "Bouwen",
		"members": []map[string]any{{"user_id": "bob"}, {"user_id": "carl", "role": "viewer"}}})
	if pr.Name != "Nieuw gemeentehuis" || pr.Owner != "ann" || pr.Status != "active" || pr.SpaceID == nil || *pr.SpaceID != "s1" ||
		pr.MyRole != "owner" || len(pr.Members) != 3 || pr.Members[1].Role != "member" || pr.Members[2].Role != "viewer" {
		t.Fatalf("created %+v", pr)
	}
	it, ok := e.Item(pr.ID)
	if !ok || it.Kind != "project" || it.SpaceID != "s1" || it.Title != "Nieuw gemeentehuis" || it.Body != "Bouwen" ||
		it.AuthorID != "ann" || len(it.Restricted) != 0 {
		t.Fatalf("the project's item: %+v", it)
	}
	if got := e.published(); !slices.Equal(got, []string{"projects.created"}) {
		t.Fatalf("published %v", got)
	}
	// Readers of the space who are no members read it (the host says so), as readers.
	for _, c := range []struct {
		u    plugintest.User
		role string
	}{{ann, "owner"}, {bob, "member"}, {carl, "viewer"}, {dave, "reader"}} {
		var got projectPage
		e.must(http.StatusOK, c.u, "GET", "/projects/"+pr.ID, nil, &got)
		if got.MyRole != c.role || got.Documents == nil {
			t.Errorf("%s: %+v", c.u.ID, got)
		}
	}
	var mine list[projectView]
	e.must(http.StatusOK, bob, "GET", "/projects?member=me", nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != pr.ID || mine.NextCursor != nil {
		t.Fatalf("bob's projects: %+v", mine)
	}
	e.must(http.StatusOK, dave, "GET", "/projects", nil, &mine)
	if len(mine.Items) != 0 {
		t.Fatalf("dave is no member: %+v", mine)
	}
	e.must(http.StatusOK, dave, "GET", "/projects?space=s1", nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].MyRole != "reader" {
		t.Fatalf("the space's projects for a reader: %+v", mine)
	}
}

func TestAProjectOutsideSpacesIsItsMembersOnly(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"name": "Fietsplan", "members": []map[string]any{{"user_id": "bob"}}})
	if pr.SpaceID != nil {
		t.Fatalf("space %v", *pr.SpaceID)
	}
	if it, _ := e.Item(pr.ID); !slices.Equal(it.Restricted, []string{"user:ann", "user:bob"}) {
		t.Fatalf("restriction %v", it.Restricted)
	}
	e.must(http.StatusOK, bob, "GET", "/projects/"+pr.ID, nil, nil)
	for _, target := range []string{"/projects/" + pr.ID, "/projects/" + pr.ID + "/tasks"} {
		e.problem(http.StatusNotFound, "not_found", dave, "GET", target, nil)
	}
	// Adding and removing members moves the restriction along.
	e.must(http.StatusCreated, ann, "PUT", "/projects/"+pr.ID+"/members/carl", map[string]any{"role": "viewer"}, nil)
	e.must(http.StatusNoContent, ann, "DELETE", "/projects/"+pr.ID+"/members/bob", nil, nil)
	if it, _ := e.Item(pr.ID); !slices.Equal(it.Restricted, []string{"user:ann", "user:carl"}) {
		t.Fatalf("restriction after the changes %v", it.Restricted)
	}
	e.problem(http.StatusNotFound, "not_found", bob, "GET", "/projects/"+pr.ID, nil)
	// The creator, who is the item's author, reads it through the plugin only while a
	// member: after handing it over and leaving, not any more.
	e.must(http.StatusOK, ann, "PUT", "/projects/"+pr.ID+"/members/carl", map[string]any{"role": "owner"}, nil)
	e.must(http.StatusNoContent, ann, "DELETE", "/projects/"+pr.ID+"/members/ann", nil, nil)
	e.problem(http.StatusNotFound, "not_found", ann, "GET", "/projects/"+pr.ID, nil)
	var got projectView
	e.must(http.StatusOK, carl, "GET", "/projects/"+pr.ID, nil, &got)
	if got.Owner != "carl" || len(got.Members) != 1 || got.MyRole != "owner" {
		t.Fatalf("after the handover: %+v", got)
	}
}

func TestOnlyTheOwnerOrAModeratorManages(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "P", "members": []map[string]any{{"user_id": "bob"}}})
	target := "/projects/" + pr.ID
	for _, u := range []plugintest.User{bob, dave} {
		e.problem(http.StatusForbidden, "forbidden", u, "PATCH", target, map[string]any{"name": "Mine"})
		e.problem(http.StatusForbidden, "forbidden", u, "PUT", target+"/members/carl", map[string]any{"role": "member"})
		e.problem(http.StatusForbidden, "forbidden", u, "DELETE", target, nil)
	}
	e.problem(http.StatusForbidden, "forbidden", dave, "DELETE", target+"/members/bob", nil)
	e.Allow("dave", "moderate", pr.ID) // a moderator of the space
	var got projectView
	e.must(http.StatusOK, dave, "PATCH", target, map[string]any{"name": "Renamed", "description": "By a moderator"}, &got)
	if got.Name != "Renamed" || got.MyRole != "reader" {
		t.Fatalf("patched %+v", got)
	}
	if it, _ := e.Item(pr.ID); it.Title != "Renamed" || it.Body != "By a moderator" {
		t.Fatalf("the item did not follow: %+v", it)
	}
	e.problem(http.StatusConflict, "owner_required", ann, "DELETE", target+"/members/ann", nil)
	e.problem(http.StatusConflict, "owner_required", ann, "PUT", target+"/members/ann", map[string]any{"role": "member"})
	e.must(http.StatusNoContent, bob, "DELETE", target+"/members/bob", nil, nil) // leaving
}

func TestArchivingFreezesTheProjectAndReachesTheFeed(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "Oud", "members": []map[string]any{{"user_id": "bob"}}})
	task := e.task(bob, pr.ID, map[string]any{"title": "Opruimen"})
	target := "/projects/" + pr.ID
	var got projectView
	e.must(http.StatusOK, ann, "PATCH", target, map[string]any{"status": "archived"}, &got)
	if got.Status != "archived" || got.ArchivedAt == nil {
		t.Fatalf("archived %+v", got)
	}
	if got := e.published(); !slices.Equal(got, []string{"projects.created", "projects.archived"}) {
		t.Fatalf("published %v", got)
	}
	acts := e.activities(pr.ID)
	if len(acts) != 1 || acts[0].Kind != "activity" || acts[0].SpaceID != "s1" || acts[0].Title != "Project archived: Oud" || acts[0].AuthorID != "ann" {
		t.Fatalf("activity items %+v", acts)
	}
	e.problem(http.StatusConflict, "project_archived", bob, "POST", target+"/tasks", map[string]any{"title": "Nog een"})
	e.problem(http.StatusConflict, "project_archived", bob, "PATCH", target+"/tasks/"+task.ID, map[string]any{"status": "done"})
	e.problem(http.StatusConflict, "project_archived", ann, "PATCH", target, map[string]any{"name": "Nieuw"})
	e.problem(http.StatusConflict, "project_archived", ann, "PUT", target+"/members/carl", map[string]any{"role": "member"})
	e.must(http.StatusOK, ann, "GET", target+"/tasks", nil, nil) // still readable
	e.must(http.StatusOK, ann, "PATCH", target, map[string]any{"status": "active", "name": "Heropend"}, &got)
	if got.Status != "active" || got.ArchivedAt != nil || got.Name != "Heropend" {
		t.Fatalf("reopened %+v", got)
	}
	var list list[projectView]
	e.must(http.StatusOK, bob, "GET", "/projects?status=archived", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("archived projects: %+v", list)
	}
}

func TestDeletingAProjectLeavesNothing(t *testing.T) {
	e := newEnv(t)
	doc := e.AddItem(plugintest.Item{Item: sdk.Item{Kind: "document", SpaceID: "s1", Title: "Plan.pdf"}, Public: true})
	pr := e.project(ann, map[string]any{"space_id": "s1", "name": "Weg", "members": []map[string]any{{"user_id": "bob"}}})
	e.task(ann, pr.ID, map[string]any{"title": "A", "assignee": "bob", "status": "done"})
	e.must(http.StatusCreated, ann, "PUT", "/projects/"+pr.ID+"/documents/"+doc, nil, nil)
	activity := e.activities(pr.ID)[0].ID
	e.must(http.StatusNoContent, ann, "DELETE", "/projects/"+pr.ID, nil, nil)
	if keys := e.KVKeys(""); len(keys) != 0 {
		t.Fatalf("left in KV: %v", keys)
	}
	for _, id := range []string{pr.ID, activity} {
		if _, ok := e.Item(id); ok {
			t.Errorf("item %s left", id)
		}
	}
	if _, ok := e.Item(doc); !ok {
		t.Fatal("the linked document went too")
	}
	e.problem(http.StatusNotFound, "not_found", ann, "GET", "/projects/"+pr.ID, nil)
}

func TestProjectListsPaginate(t *testing.T) {
	e := newEnv(t)
	var want []string
	for _, name := range []string{"1", "2", "3", "4", "5"} {
		want = append(want, e.project(ann, map[string]any{"name": name}).ID)
	}
	var got []string
	pages := 0
	for target := "/projects?limit=2"; ; pages++ {
		var l list[projectView]
		e.must(http.StatusOK, ann, "GET", target, nil, &l)
		got = append(got, ids(l.Items)...)
		if l.NextCursor == nil {
			break
		}
		target = "/projects?limit=2&cursor=" + *l.NextCursor
	}
	slices.Sort(want) // in id order: with Plein's ids, the order they were started
	if !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("got %v over %d pages, want %v", got, pages+1, want)
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	e := newEnv(t)
	pr := e.project(ann, map[string]any{"name": "P"})
	target := "/projects/" + pr.ID
	long := string(make([]byte, 300))
	tests := []struct {
		method, target string
		body           any
		status         int
		code           string
	}{
		{"POST", "/projects", map[string]any{}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "  "}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": long}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "x", "colour": "red"}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "x", "space_id": "../etc"}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "x", "members": []map[string]any{{"user_id": "bob", "role": "owner"}}}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "x", "members": []map[string]any{{"user_id": "bob"}, {"user_id": "bob"}}}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "x", "members": "bob"}, 400, "validation_failed"},
		{"POST", "/projects", map[string]any{"name": "tab\x00"}, 400, "validation_failed"},
		{"POST", "/projects", []int{1}, 400, "validation_failed"},
		{"GET", "/projects?member=bob", nil, 400, "validation_failed"},
		{"GET", "/projects?member=me&space=s1", nil, 400, "validation_failed"},
		{"GET", "/projects?status=gone", nil, 400, "validation_failed"},
		{"GET", "/projects?limit=0", nil, 400, "validation_failed"},
		{"GET", "/projects?limit=101", nil, 400, "validation_failed"},
		{"GET", "/projects?cursor=!!", nil, 400, "validation_failed"},
		{"GET", "/projects?sort=name", nil, 400, "validation_failed"},
		{"GET", "/projects?limit=1&limit=2", nil, 400, "validation_failed"},
		{"GET", "/projects/no%20such", nil, 404, "not_found"},
		{"GET", "/projects/%FF", nil, 404, "not_found"},
		{"GET", target + "?x=1", nil, 400, "validation_failed"},
		{"PATCH", target, map[string]any{"status": "deleted"}, 400, "validation_failed"},
		{"PATCH", target, map[string]any{"owner": "bob"}, 400, "validation_failed"},
		{"PUT", target + "/members/bob", map[string]any{"role": "king"}, 400, "validation_failed"},
		{"PUT", target + "/members/bob", map[string]any{}, 400, "validation_failed"},
		{"PUT", target + "/members/b%2Fb", map[string]any{"role": "member"}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": ""}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "status": "later"}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "due_date": "31-05-2026"}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "due_date": "2026-02-30"}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "order": 1.5}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "order": 2e9}, 400, "validation_failed"},
		{"POST", target + "/tasks", map[string]any{"title": "t", "assignee": "dave"}, 400, "validation_failed"},
		{"PATCH", target + "/tasks/nope", map[string]any{"title": "t"}, 404, "not_found"},
		{"GET", target + "/tasks?status=open", nil, 400, "validation_failed"},
		{"GET", target + "/tasks?cursor=eHg", nil, 400, "validation_failed"},
		{"GET", "/tasks?assignee=bob", nil, 400, "validation_failed"},
		{"PUT", target + "/documents/nothing", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		e.problem(tt.status, tt.code, ann, tt.method, tt.target, tt.body)
	}
	e.problem(http.StatusUnauthorized, "unauthenticated", plugintest.User{}, "GET", "/projects", nil)
}

func TestSettingsAreRefused(t *testing.T) {
	if _, err := plugintest.Start(t, New(), plugintest.Options{Settings: json.RawMessage(`{"colour":"red"}`)}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("settings: %v, want ErrInvalid", err)
	}
}
