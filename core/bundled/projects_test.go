package bundled_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

const projectsAPI = "/api/v1/plugins/projects"

// The demo users the projects test acts as.
const (
	pjLead       = "project@demo.plein"  // a member of the town hall project's space
	pjContractor = "external@demo.plein" // an external contractor, also a member of it
	pjHelpdesk   = "helpdesk@demo.plein" // reads neither that space nor finance's
	pjFinance    = "employee@demo.plein" // finance; reads neither that space nor the management team's
	pjManager    = "manager@demo.plein"
	pjAdmin      = "admin@demo.plein"
)

type pjProject struct {
	ID      string
	SpaceID *string `json:"space_id"`
	Name    string
	Owner   string
	Status  string
	MyRole  string `json:"my_role"`
	Members []struct {
		UserID string `json:"user_id"`
		Role   string
	}
	Documents []struct {
		ItemID string `json:"item_id"`
		Title  string
	}
}

type pjTask struct {
	ID, Title, Status string
	Assignee          *string
	Overdue           bool
	ProjectName       string `json:"project_name"`
}

type pjList[T any] struct {
	Items      []T
	NextCursor *string `json:"next_cursor"`
}

type pjFeedItem struct {
	ID, Kind, Title string
	SpaceID         string `json:"space_id"`
}

// pjEnv is the server with the projects plugin on, and what the test made.
type pjEnv struct {
	t *testing.T
	*testapp.Env
}

// want sends a request as the user and fails the test unless it answers status; it
// decodes the answer into out (unless nil) and returns the body.
func (e pjEnv) want(status int, as, method, path string, body, out any) string {
	e.t.Helper()
	r := e.As(as, method, path, body)
	if r.Status != status {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, as, r.Status, r.Body, status)
	}
	if out != nil {
		r.JSON(e.t, out)
	}
	return string(r.Body)
}

// feed returns the items of a kind in the user's feed.
func (e pjEnv) feed(as, kind string) []pjFeedItem {
	e.t.Helper()
	var f pjList[pjFeedItem]
	e.want(200, as, "GET", "/api/v1/feed?limit=100&kind="+kind, nil, &f)
	return f.Items
}

func pjFeedHas(items []pjFeedItem, id string) bool {
	return slices.ContainsFunc(items, func(it pjFeedItem) bool { return it.ID == id })
}

// uploadDoc uploads a document into a space as the user and returns its id.
func (e pjEnv) uploadDoc(as, space, name string) string {
	e.t.Helper()
	var d struct{ ID string }
	e.want(201, as, "POST", "/api/v1/spaces/"+space+"/documents", testapp.Form{FileName: name, File: []byte("inhoud van " + name)}, &d)
	return d.ID
}

// events counts the outbox's events of a type.
func (e pjEnv) events(typ string) int {
	e.t.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM events WHERE type = $1`, typ).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// keys counts the plugin's KV entries whose key holds part.
func (e pjEnv) keys(part string) int {
	e.t.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM plugin_kv WHERE plugin = 'projects' AND key LIKE $1`,
		"%"+part+"%").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestProjectsWorkflow runs the projects plugin as a real process on SQLite and
// PostgreSQL: projects in a space and outside spaces, members and their roles,
// tasks, linked documents, activity in the feed, every route refused to whoever may
// not read the project (never data), a manager disabling and enabling the feature
// with the data intact, and cleanup when a member, a user, a document or a space goes.
func TestProjectsWorkflow(t *testing.T) {
	// Deleted documents are purged at once, every second, so their item.deleted comes soon.
	opts := testapp.Options{Env: map[string]string{"PLEIN_TRASH_RETENTION": "0", "PLEIN_SWEEP_INTERVAL": "1s"}}
	testapp.Each(t, withPlugins(t, opts, "projects"), func(t *testing.T, te *testapp.Env) {
		e := pjEnv{t: t, Env: te}
		enable(t, te, "projects")
		townHall, finance, mt := e.SpaceID("Project Nieuw Gemeentehuis"), e.SpaceID("Financiën"), e.SpaceID("Managementteam")
		contractorID, helpdeskID, financeID := e.UserID(pjContractor), e.UserID(pjHelpdesk), e.UserID(pjFinance)

		// A project in the town hall space: the contractor works in it, the helpdesk
		// employee watches it without reading the space.
		var p1 pjProject
		e.want(201, pjLead, "POST", projectsAPI+"/projects", map[string]any{"space_id": townHall, "name": "Bouwvergunning gemeentehuis",
			"description": "De aanvraag voor de #bouwvergunning", "members": []map[string]any{
				{"user_id": contractorID, "role": "member"}, {"user_id": helpdeskID, "role": "viewer"}}}, &p1)
		if p1.SpaceID == nil || *p1.SpaceID != townHall || p1.Owner != e.UserID(pjLead) || len(p1.Members) != 3 {
			t.Fatalf("project in a space: %+v", p1)
		}
		// A project outside spaces, of the lead and the finance employee only.
		var p2 pjProject
		e.want(201, pjLead, "POST", projectsAPI+"/projects", map[string]any{"name": "Fietsplan personeel",
			"description": "Fietsregeling herzien", "members": []map[string]any{{"user_id": financeID}}}, &p2)
		if p2.SpaceID != nil {
			t.Fatalf("project outside spaces: %+v", p2)
		}
		// Creating where one may not create content is refused.
		e.want(403, pjHelpdesk, "POST", projectsAPI+"/projects", map[string]any{"space_id": e.SpaceID("Nieuws & mededelingen"), "name": "X"}, nil)
		e.want(404, pjFinance, "POST", projectsAPI+"/projects", map[string]any{"space_id": mt, "name": "X"}, nil)

		// Projects are items: the feed and search show them to whoever may read them.
		if !pjFeedHas(e.feed(pjLead, "project"), p1.ID) || !pjFeedHas(e.feed(pjLead, "project"), p2.ID) {
			t.Error("the lead's feed lacks a project")
		}
		if f := e.feed(pjFinance, "project"); pjFeedHas(f, p1.ID) || !pjFeedHas(f, p2.ID) {
			t.Errorf("the finance employee's feed: %+v", f)
		}
		for _, as := range []string{pjHelpdesk, pjAdmin} {
			if pjFeedHas(e.feed(as, "project"), p2.ID) {
				t.Errorf("%s's feed shows the members-only project", as)
			}
		}
		if body := e.want(200, pjFinance, "GET", "/api/v1/search?q=fietsregeling", nil, nil); !strings.Contains(body, p2.ID) {
			t.Errorf("search as a member: %.300s", body)
		}
		if body := e.want(200, pjHelpdesk, "GET", "/api/v1/search?q=fietsregeling", nil, nil); strings.Contains(body, p2.ID) {
			t.Errorf("search as an outsider: %.300s", body)
		}
		var mine pjList[pjProject]
		e.want(200, pjHelpdesk, "GET", projectsAPI+"/projects?member=me", nil, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != p1.ID || mine.Items[0].MyRole != "viewer" {
			t.Fatalf("the helpdesk employee's projects: %+v", mine.Items)
		}

		// Tasks: the contractor's overdue task comes first in their list across projects.
		var later, late pjTask
		e.want(201, pjLead, "POST", projectsAPI+"/projects/"+p1.ID+"/tasks", map[string]any{"title": "Tekeningen aanleveren",
			"assignee": contractorID, "due_date": "2999-01-01"}, &later)
		e.want(201, pjLead, "POST", projectsAPI+"/projects/"+p1.ID+"/tasks", map[string]any{"title": "Constructieberekening",
			"assignee": contractorID, "due_date": "2020-01-01", "status": "doing"}, &late)
		var myTasks pjList[pjTask]
		e.want(200, pjContractor, "GET", projectsAPI+"/tasks?assignee=me", nil, &myTasks)
		if len(myTasks.Items) != 2 || myTasks.Items[0].ID != late.ID || !myTasks.Items[0].Overdue || myTasks.Items[1].ID != later.ID ||
			myTasks.Items[0].ProjectName != p1.Name {
			t.Fatalf("the contractor's tasks: %+v", myTasks.Items)
		}
		e.want(400, pjLead, "POST", projectsAPI+"/projects/"+p1.ID+"/tasks", map[string]any{"title": "T", "assignee": helpdeskID}, nil)
		e.want(200, pjHelpdesk, "GET", projectsAPI+"/projects/"+p1.ID+"/tasks", nil, nil) // a viewer reads
		e.want(403, pjHelpdesk, "POST", projectsAPI+"/projects/"+p1.ID+"/tasks", map[string]any{"title": "T"}, nil)
		e.want(403, pjContractor, "PATCH", projectsAPI+"/projects/"+p1.ID, map[string]any{"name": "Mijn project"}, nil)

		// Finishing a task: an event, and an activity item in the space's feed.
		var done pjTask
		e.want(200, pjContractor, "PATCH", projectsAPI+"/projects/"+p1.ID+"/tasks/"+late.ID, map[string]any{"status": "done"}, &done)
		if done.Status != "done" || done.Overdue {
			t.Fatalf("done: %+v", done)
		}
		var activity pjFeedItem
		for _, it := range e.feed(pjLead, "activity") {
			if it.Title == "Task done: Constructieberekening" {
				activity = it
			}
		}
		if activity.SpaceID != townHall {
			t.Fatalf("no activity item for the finished task in the space's feed: %+v", e.feed(pjLead, "activity"))
		}
		if pjFeedHas(e.feed(pjFinance, "activity"), activity.ID) {
			t.Error("the activity item reached a feed outside the space")
		}
		if n := e.events("projects.created"); n != 2 {
			t.Errorf("projects.created events: %d", n)
		}
		if n := e.events("projects.task_done"); n != 1 {
			t.Errorf("projects.task_done events: %d", n)
		}

		// Documents: linked if the user may read them; listed to whoever may.
		projectDoc := e.uploadDoc(pjLead, townHall, "bestek.txt")
		financeDoc := e.uploadDoc(pjFinance, finance, "begroting.txt")
		secretDoc := e.uploadDoc(pjManager, mt, "notulen.txt")
		e.want(201, pjContractor, "PUT", projectsAPI+"/projects/"+p1.ID+"/documents/"+projectDoc, nil, nil)
		e.want(200, pjLead, "PUT", projectsAPI+"/projects/"+p1.ID+"/documents/"+projectDoc, nil, nil)
		e.want(404, pjLead, "PUT", projectsAPI+"/projects/"+p1.ID+"/documents/"+secretDoc, nil, nil)
		e.want(404, pjLead, "PUT", projectsAPI+"/projects/"+p2.ID+"/documents/"+financeDoc, nil, nil)
		e.want(201, pjFinance, "PUT", projectsAPI+"/projects/"+p2.ID+"/documents/"+financeDoc, nil, nil)
		e.want(400, pjFinance, "PUT", projectsAPI+"/projects/"+p2.ID+"/documents/"+p2.ID, nil, nil) // not a document
		docsOf := func(as, pid string) []string {
			var pr pjProject
			e.want(200, as, "GET", projectsAPI+"/projects/"+pid, nil, &pr)
			var out []string
			for _, d := range pr.Documents {
				out = append(out, d.ItemID)
			}
			return out
		}
		if got := docsOf(pjContractor, p1.ID); !slices.Equal(got, []string{projectDoc}) {
			t.Errorf("the contractor's documents of p1: %v", got)
		}
		if got := docsOf(pjHelpdesk, p1.ID); len(got) != 0 {
			t.Errorf("the viewer sees a document of a space they do not read: %v", got)
		}
		if got := docsOf(pjFinance, p2.ID); !slices.Equal(got, []string{financeDoc}) {
			t.Errorf("the finance employee's documents of p2: %v", got)
		}
		if got := docsOf(pjLead, p2.ID); len(got) != 0 {
			t.Errorf("the lead sees a finance document: %v", got)
		}

		e.checkOutsiders(p1.ID, late.ID, projectDoc, pjFinance)
		e.checkOutsiders(p2.ID, "", financeDoc, pjHelpdesk)
		e.checkOutsiders(p2.ID, "", financeDoc, pjAdmin)

		// A manager switches the feature off and on: everything is still there.
		if r := e.As(pjManager, "PUT", "/api/v1/admin/plugins/projects", map[string]any{"enabled": false}); r.Status != 200 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		testsvc.Eventually(t, "routes off", 10*time.Second, func() bool {
			r := e.As(pjLead, "GET", projectsAPI+"/projects/"+p1.ID, nil)
			return r.Status == 404 && strings.Contains(string(r.Body), "feature_disabled")
		})
		enable(t, te, "projects")
		var again pjProject
		e.want(200, pjLead, "GET", projectsAPI+"/projects/"+p1.ID, nil, &again)
		if again.Name != p1.Name || len(again.Members) != 3 || len(again.Documents) != 1 {
			t.Fatalf("after enabling again: %+v", again)
		}
		e.want(200, pjContractor, "GET", projectsAPI+"/tasks?assignee=me", nil, &myTasks)
		if len(myTasks.Items) != 2 || myTasks.Items[1].Status != "done" {
			t.Fatalf("the contractor's tasks after enabling again: %+v", myTasks.Items)
		}

		// Archiving: an activity item, and the project frozen.
		e.want(200, pjLead, "PATCH", projectsAPI+"/projects/"+p1.ID, map[string]any{"status": "archived"}, nil)
		if !slices.ContainsFunc(e.feed(pjContractor, "activity"), func(it pjFeedItem) bool { return it.Title == "Project archived: "+p1.Name }) {
			t.Error("no activity item for the archived project")
		}
		e.want(409, pjContractor, "POST", projectsAPI+"/projects/"+p1.ID+"/tasks", map[string]any{"title": "Nog iets"}, nil)
		e.want(200, pjLead, "PATCH", projectsAPI+"/projects/"+p1.ID, map[string]any{"status": "active"}, nil)

		// Removing a member unassigns their open tasks and ends their readership.
		var open pjTask
		e.want(201, pjFinance, "POST", projectsAPI+"/projects/"+p2.ID+"/tasks", map[string]any{"title": "Regeling uitzoeken",
			"assignee": financeID}, &open)
		e.want(204, pjLead, "DELETE", projectsAPI+"/projects/"+p2.ID+"/members/"+financeID, nil, nil)
		var unassigned pjTask
		e.want(200, pjLead, "GET", projectsAPI+"/projects/"+p2.ID+"/tasks/"+open.ID, nil, &unassigned)
		if unassigned.Assignee != nil {
			t.Errorf("the removed member's open task: %+v", unassigned)
		}
		e.want(404, pjFinance, "GET", projectsAPI+"/projects/"+p2.ID, nil, nil)
		if pjFeedHas(e.feed(pjFinance, "project"), p2.ID) {
			t.Error("a removed member still finds the project in their feed")
		}

		e.checkCleanup(p1, later.ID, projectDoc)
	})
}

// checkOutsiders checks every route of a project with the token of someone who may
// not read it: each answers 404, and none gives away the project's data.
func (e pjEnv) checkOutsiders(pid, tid, doc, outsider string) {
	e.t.Helper()
	p := projectsAPI + "/projects/" + pid
	if tid == "" {
		tid = "0190aaaaaaaaaaaaaaaaaaaaaaaa"
	}
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", p, nil},
		{"PATCH", p, map[string]any{"name": "Overgenomen"}},
		{"PATCH", p, map[string]any{"status": "archived"}},
		{"DELETE", p, nil},
		{"PUT", p + "/members/" + e.UserID(outsider), map[string]any{"role": "owner"}},
		{"DELETE", p + "/members/" + e.UserID(pjLead), nil},
		{"POST", p + "/tasks", map[string]any{"title": "Ingeslopen"}},
		{"GET", p + "/tasks", nil},
		{"GET", p + "/tasks/" + tid, nil},
		{"PATCH", p + "/tasks/" + tid, map[string]any{"status": "done"}},
		{"DELETE", p + "/tasks/" + tid, nil},
		{"PUT", p + "/documents/" + doc, nil},
		{"DELETE", p + "/documents/" + doc, nil},
	}
	var before pjProject
	e.want(200, pjLead, "GET", p, nil, &before)
	for _, r := range routes {
		got := e.As(outsider, r.method, r.path, r.body)
		if got.Status != http.StatusNotFound || strings.Contains(string(got.Body), before.Name) {
			e.t.Errorf("%s %s as %s: %d %s, want 404", r.method, r.path, outsider, got.Status, got.Body)
		}
	}
	var after pjProject
	e.want(200, pjLead, "GET", p, nil, &after)
	if after.Name != before.Name || after.Status != before.Status || len(after.Members) != len(before.Members) ||
		len(after.Documents) != len(before.Documents) {
		e.t.Errorf("an outsider changed the project: %+v, was %+v", after, before)
	}
	for _, path := range []string{projectsAPI + "/projects?member=me", projectsAPI + "/tasks?assignee=me"} {
		if body := e.want(200, outsider, "GET", path, nil, nil); strings.Contains(body, pid) {
			e.t.Errorf("GET %s as %s lists the project: %s", path, outsider, body)
		}
	}
	if before.SpaceID != nil {
		var l pjList[pjProject]
		e.want(200, outsider, "GET", projectsAPI+"/projects?space="+*before.SpaceID, nil, &l)
		if len(l.Items) != 0 {
			e.t.Errorf("the space's projects for %s: %+v", outsider, l.Items)
		}
	}
}

// checkCleanup deletes a user, a linked document and a space, and waits for the
// plugin to clean up after each, through the core's events.
func (e pjEnv) checkCleanup(p1 pjProject, openTask, doc string) {
	t := e.t
	t.Helper()
	contractorID := e.UserID(pjContractor)
	e.want(204, pjAdmin, "DELETE", "/api/v1/users/"+contractorID, nil, nil)
	testsvc.Eventually(t, "user.deleted handled", 15*time.Second, func() bool {
		var pr pjProject
		e.want(200, pjLead, "GET", projectsAPI+"/projects/"+p1.ID, nil, &pr)
		var task pjTask
		e.want(200, pjLead, "GET", projectsAPI+"/projects/"+p1.ID+"/tasks/"+openTask, nil, &task)
		return len(pr.Members) == 2 && task.Assignee == nil && e.keys(contractorID) == 0
	})

	// A deleted document is purged at the next sweep (the test's settings), and its
	// links go.
	if n := e.keys(doc); n != 2 {
		t.Fatalf("the linked document has %d entries, want the link and its index", n)
	}
	e.want(204, pjLead, "DELETE", "/api/v1/documents/"+doc, nil, nil)
	testsvc.Eventually(t, "item.deleted handled", 15*time.Second, func() bool { return e.keys(doc) == 0 })

	// A space goes with its projects.
	var space struct{ ID string }
	e.want(201, pjManager, "POST", "/api/v1/spaces", map[string]any{"name": "Werkgroep fietsen", "description": "Tijdelijk",
		"visibility": "members"}, &space)
	var p3 pjProject
	e.want(201, pjManager, "POST", projectsAPI+"/projects", map[string]any{"space_id": space.ID, "name": "Fietsenstalling"}, &p3)
	e.want(201, pjManager, "POST", projectsAPI+"/projects/"+p3.ID+"/tasks", map[string]any{"title": "Offertes", "assignee": e.UserID(pjManager)}, nil)
	e.want(204, pjManager, "DELETE", "/api/v1/spaces/"+space.ID, nil, nil)
	testsvc.Eventually(t, "space.deleted handled", 15*time.Second, func() bool { return e.keys(p3.ID) == 0 })
	e.want(404, pjManager, "GET", projectsAPI+"/projects/"+p3.ID, nil, nil)
	var l pjList[pjProject]
	e.want(200, pjManager, "GET", projectsAPI+"/projects?member=me", nil, &l)
	if len(l.Items) != 0 {
		t.Errorf("the manager's projects after the space went: %+v", l.Items)
	}
}
