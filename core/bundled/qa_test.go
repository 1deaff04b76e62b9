package bundled_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

// The demo users of the Q&A tests.
const (
	qaEmployee = "employee@demo.plein"  // asks
	qaOther    = "project@demo.plein"   // another employee, finds the answer later
	qaSecret   = "secretary@demo.plein" // asked before
	qaHelpdesk = "helpdesk@demo.plein"  // staffs the helpdesk (role helpdesk, moderator of IT-helpdesk)
	qaExternal = "external@demo.plein"  // may not read IT-helpdesk
	qaManager  = "manager@demo.plein"
	qaAdmin    = "admin@demo.plein"
	qaBase     = "/api/v1/plugins/qa"
)

type qaQuestion struct {
	ID               string
	Title            string
	Status           string
	Helpdesk         bool
	Assignee         *string
	AcceptedAnswerID *string `json:"accepted_answer_id"`
	AnswerCount      int     `json:"answer_count"`
	Answers          []struct {
		ID       string
		Body     string
		Accepted bool
	}
	AcceptedAnswer *struct{ ID, Body string } `json:"accepted_answer"`
}

type qaList struct {
	Items      []qaQuestion
	NextCursor *string `json:"next_cursor"`
}

// qaEnv is a server with the qa plugin on, the IT-helpdesk space in helpdesk mode.
type qaEnv struct {
	*testapp.Env
	t     *testing.T
	space string // IT-helpdesk
}

// call sends a request and fails the test unless it answers want.
func (e qaEnv) call(want int, as, method, path string, body any) testapp.Response {
	e.t.Helper()
	r := e.As(as, method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, as, r.Status, r.Body, want)
	}
	return r
}

func (e qaEnv) question(as, id string) qaQuestion {
	e.t.Helper()
	var q qaQuestion
	e.call(200, as, "GET", qaBase+"/questions/"+id, nil).JSON(e.t, &q)
	return q
}

func (e qaEnv) ask(as, title, body string) string {
	e.t.Helper()
	return e.call(201, as, "POST", qaBase+"/questions", map[string]any{"space_id": e.space, "title": title, "body": body}).Map(e.t)["id"].(string)
}

func (e qaEnv) answer(as, q, body string) string {
	e.t.Helper()
	return e.call(201, as, "POST", qaBase+"/questions/"+q+"/answers", map[string]any{"body": body}).Map(e.t)["id"].(string)
}

func (e qaEnv) similar(as, q string) qaList {
	e.t.Helper()
	var l qaList
	e.call(200, as, "GET", qaBase+"/questions/similar?space="+e.space+"&q="+url.QueryEscape(q), nil).JSON(e.t, &l)
	return l
}

// startQA serves the demo with the qa plugin, on for everyone, IT-helpdesk in
// helpdesk mode for the role helpdesk.
func startQA(t *testing.T, env *testapp.Env) qaEnv {
	t.Helper()
	e := qaEnv{Env: env, t: t, space: env.SpaceID("IT-helpdesk")}
	settings := map[string]any{"helpdesk_spaces": map[string]any{e.space: map[string]string{"role": "helpdesk"}}}
	e.call(200, qaManager, "PUT", "/api/v1/admin/plugins/qa", map[string]any{"enabled": true, "settings": settings})
	testsvc.Eventually(t, "qa running", 10*time.Second, func() bool {
		return e.As(qaEmployee, "GET", qaBase+"/questions?space="+e.space, nil).Status == 200
	})
	return e
}

// colleague returns another holder of the helpdesk role than helpdesk@.
func colleague(t *testing.T, e *testapp.Env) string {
	t.Helper()
	var emails []string
	for email, u := range e.Org.Users {
		// Not a department head: deleting a space's only owner is refused.
		if slices.Contains(u.Roles, "helpdesk") && !slices.Contains(u.Roles, "management-team") && email != qaHelpdesk {
			emails = append(emails, email)
		}
	}
	if len(emails) == 0 {
		t.Fatal("the demo has one helpdesk member")
	}
	slices.Sort(emails)
	return emails[0]
}

// An employee asks the IT helpdesk, a helpdesk member answers and notes, the asker
// accepts, a colleague finds it; an external party sees none of it, nobody outside
// the helpdesk sees the notes, and disabling the plugin loses nothing.
func TestQAHelpdeskWorkflow(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "qa"), func(t *testing.T, env *testapp.Env) {
		e := startQA(t, env)
		hd2 := colleague(t, env)
		hdID := e.UserID(qaHelpdesk)

		// Employees read the helpdesk space without posting in it, but they ask there.
		e.call(403, qaEmployee, "POST", "/api/v1/spaces/"+e.space+"/posts", map[string]any{"body": "Help?"})
		earlier := e.ask(qaSecret, "VPN-verbinding valt weg", "Mijn VPN valt steeds weg sinds de update.")
		fix := e.answer(qaHelpdesk, earlier, "Installeer de nieuwe VPN-client uit het softwarecentrum.")
		e.call(200, qaSecret, "PUT", qaBase+"/questions/"+earlier+"/accepted", map[string]any{"answer_id": fix})
		unsolved := e.ask(qaOther, "VPN traag thuis", "Thuis is de VPN erg traag.")

		// Before asking: similar questions, the one with an accepted answer first.
		before := e.similar(qaEmployee, "Mijn VPN verbreekt steeds")
		if len(before.Items) < 2 || before.Items[0].ID != earlier || before.Items[0].AcceptedAnswer == nil ||
			before.Items[0].AcceptedAnswer.ID != fix || !slices.ContainsFunc(before.Items, func(q qaQuestion) bool { return q.ID == unsolved }) {
			t.Fatalf("similar before asking: %+v", before.Items)
		}
		q := e.ask(qaEmployee, "VPN verbreekt steeds", "Sinds vanochtend verbreekt mijn VPN elke paar minuten.")
		if got := e.question(qaEmployee, q); !got.Helpdesk || got.Status != "open" || got.Assignee != nil {
			t.Fatalf("asked: %+v", got)
		}

		// The helpdesk: helpdesk@ opens the helpdesk, a colleague assigns the question to them.
		if r := e.call(200, qaHelpdesk, "GET", qaBase+"/spaces/"+e.space+"/helpdesk", nil).Map(t); r["staff"] != true {
			t.Fatalf("helpdesk info: %v", r)
		}
		e.call(403, qaEmployee, "PUT", qaBase+"/questions/"+q+"/assignee", map[string]any{"user_id": hdID})
		var assigned qaQuestion
		e.call(200, hd2, "PUT", qaBase+"/questions/"+q+"/assignee", map[string]any{"user_id": hdID}).JSON(t, &assigned)
		if assigned.Assignee == nil || *assigned.Assignee != hdID || assigned.Status != "in_progress" {
			t.Fatalf("assigned: %+v", assigned)
		}
		a := e.answer(qaHelpdesk, q, "We rollen client 5.2 uit; installeer die uit het softwarecentrum.")
		const secret = "Ticket 4471: leverancier gebeld"
		e.call(201, qaHelpdesk, "POST", qaBase+"/questions/"+q+"/notes", map[string]any{"body": secret})
		if r := e.call(200, hd2, "GET", qaBase+"/questions/"+q+"/notes", nil); !strings.Contains(string(r.Body), secret) {
			t.Fatalf("notes for the helpdesk: %s", r.Body)
		}
		e.call(403, qaOther, "PUT", qaBase+"/questions/"+q+"/accepted", map[string]any{"answer_id": a})
		e.call(200, qaEmployee, "PUT", qaBase+"/questions/"+q+"/accepted", map[string]any{"answer_id": a})
		if got := e.question(qaEmployee, q); got.Status != "resolved" || got.AcceptedAnswerID == nil || *got.AcceptedAnswerID != a ||
			len(got.Answers) != 1 || !got.Answers[0].Accepted {
			t.Fatalf("accepted: %+v", got)
		}

		// Another employee finds it: the core's search, similar, the item with its
		// decoration, and the core's comments on it.
		var found struct{ Items []struct{ ID, Kind string } }
		e.call(200, qaOther, "GET", "/api/v1/search?q=verbreekt", nil).JSON(t, &found)
		if !slices.ContainsFunc(found.Items, func(it struct{ ID, Kind string }) bool { return it.ID == q && it.Kind == "question" }) {
			t.Fatalf("search: %+v", found.Items)
		}
		after := e.similar(qaOther, "vpn verbreekt")
		i := slices.IndexFunc(after.Items, func(x qaQuestion) bool { return x.ID == q })
		if i < 0 || after.Items[i].AcceptedAnswer == nil || after.Items[i].AcceptedAnswer.ID != a {
			t.Fatalf("similar afterwards: %+v", after.Items)
		}
		if got := e.question(qaOther, q); got.Status != "resolved" || len(got.Answers) != 1 || got.Answers[0].ID != a {
			t.Fatalf("the resolved question for a colleague: %+v", got)
		}
		var item struct {
			Kind     string
			Features map[string]map[string]any
		}
		e.call(200, qaOther, "GET", "/api/v1/items/"+q, nil).JSON(t, &item)
		if deco, _ := item.Features["qa"]["question"].(map[string]any); item.Kind != "question" || deco["status"] != "resolved" {
			t.Fatalf("the item's decoration: %+v", item)
		}
		e.call(201, qaOther, "POST", "/api/v1/items/"+q+"/comments", map[string]any{"body": "Bij mij werkt het nu ook."})
		e.call(200, qaOther, "PUT", qaBase+"/questions/"+q+"/answers/"+a+"/vote", map[string]any{"value": 1})

		// Internal notes: only holders of the helpdesk role read them, anywhere.
		for _, who := range []string{qaEmployee, qaOther, qaManager, qaAdmin} {
			e.call(403, who, "GET", qaBase+"/questions/"+q+"/notes", nil)
			e.call(403, who, "POST", qaBase+"/questions/"+q+"/notes", map[string]any{"body": "x"})
			for _, path := range []string{qaBase + "/questions/" + q, qaBase + "/questions?space=" + e.space, "/api/v1/items/" + q,
				"/api/v1/feed?space=" + e.space, "/api/v1/search?q=4471", qaBase + "/questions/similar?q=4471"} {
				if r := e.As(who, "GET", path, nil); strings.Contains(string(r.Body), "4471") {
					t.Fatalf("%s reads the note at %s: %s", who, path, r.Body)
				}
			}
		}

		// The external party may not read the space: every route, no data.
		qaRefusesOutsiders(t, e, q, a)

		// Disabled and enabled again: all there.
		e.call(200, qaManager, "PUT", "/api/v1/admin/plugins/qa", map[string]any{"enabled": false})
		testsvc.Eventually(t, "qa off", 10*time.Second, func() bool {
			r := e.As(qaEmployee, "GET", qaBase+"/questions/"+q, nil)
			return r.Status == 404 && strings.Contains(string(r.Body), "feature_disabled")
		})
		e.call(200, qaManager, "PUT", "/api/v1/admin/plugins/qa", map[string]any{"enabled": true})
		testsvc.Eventually(t, "qa on again", 10*time.Second, func() bool {
			return e.As(qaEmployee, "GET", qaBase+"/questions/"+q, nil).Status == 200
		})
		got := e.question(qaEmployee, q)
		if got.Status != "resolved" || !got.Helpdesk || got.Assignee == nil || *got.Assignee != hdID ||
			got.AcceptedAnswerID == nil || *got.AcceptedAnswerID != a || len(got.Answers) != 1 {
			t.Fatalf("after disabling and enabling: %+v", got)
		}
		if r := e.call(200, qaHelpdesk, "GET", qaBase+"/questions/"+q+"/notes", nil); !strings.Contains(string(r.Body), secret) {
			t.Fatalf("notes after disabling and enabling: %s", r.Body)
		}
		var stats struct {
			Questions, Open, Resolved int
			MedianFirstAnswerSeconds  *float64 `json:"median_first_answer_seconds"`
			MedianResolutionSeconds   *float64 `json:"median_resolution_seconds"`
		}
		e.call(200, qaHelpdesk, "GET", qaBase+"/stats?space="+e.space, nil).JSON(t, &stats)
		if stats.Questions != 3 || stats.Open != 1 || stats.Resolved != 2 || stats.MedianFirstAnswerSeconds == nil || stats.MedianResolutionSeconds == nil {
			t.Fatalf("stats: %+v", stats)
		}
		var list qaList
		e.call(200, qaOther, "GET", qaBase+"/questions?space="+e.space+"&status=resolved&limit=1", nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != q || list.NextCursor == nil {
			t.Fatalf("resolved, page 1: %+v", list)
		}
		e.call(200, qaOther, "GET", qaBase+"/questions?space="+e.space+"&status=resolved&limit=1&cursor="+url.QueryEscape(*list.NextCursor), nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != earlier || list.NextCursor != nil {
			t.Fatalf("resolved, page 2: %+v", list)
		}
	})
}

// qaRefusesOutsiders checks every route as the external party, who may not read the
// helpdesk space: 404 (or an empty list), never data.
func qaRefusesOutsiders(t *testing.T, e qaEnv, q, a string) {
	t.Helper()
	qp := qaBase + "/questions/" + q
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", qaBase + "/questions", map[string]any{"space_id": e.space, "title": "Hoi", "body": "Mag ik?"}},
		{"GET", qp, nil},
		{"GET", qp + "/answers", nil},
		{"POST", qp + "/answers", map[string]any{"body": "Antwoord"}},
		{"PUT", qp + "/accepted", map[string]any{"answer_id": a}},
		{"DELETE", qp + "/accepted", nil},
		{"PUT", qp + "/answers/" + a + "/vote", map[string]any{"value": 1}},
		{"DELETE", qp + "/answers/" + a + "/vote", nil},
		{"PUT", qp + "/status", map[string]any{"status": "open"}},
		{"PUT", qp + "/assignee", map[string]any{"user_id": e.UserID(qaExternal)}},
		{"DELETE", qp + "/assignee", nil},
		{"GET", qp + "/notes", nil},
		{"POST", qp + "/notes", map[string]any{"body": "x"}},
		{"GET", qaBase + "/stats?space=" + e.space, nil},
		{"GET", qaBase + "/spaces/" + e.space + "/helpdesk", nil},
		{"GET", qaBase + "/spaces/" + e.space + "/staff", nil},
		{"GET", "/api/v1/items/" + q, nil},
		{"GET", "/api/v1/items/" + a, nil},
		{"GET", "/api/v1/items/" + q + "/comments", nil},
	} {
		if got := e.As(qaExternal, r.method, r.path, r.body); got.Status != http.StatusNotFound {
			t.Errorf("%s %s as the external party: %d %s, want 404", r.method, r.path, got.Status, got.Body)
		}
	}
	for _, path := range []string{qaBase + "/questions?space=" + e.space, qaBase + "/questions/similar?q=vpn",
		qaBase + "/questions/similar?q=vpn&space=" + e.space, "/api/v1/search?q=vpn"} {
		var l qaList
		e.call(200, qaExternal, "GET", path, nil).JSON(t, &l)
		if len(l.Items) != 0 || l.NextCursor != nil {
			t.Errorf("%s as the external party: %+v", path, l)
		}
	}
	if got := e.question(qaEmployee, q); got.Status != "resolved" || len(got.Answers) != 1 {
		t.Errorf("the external party changed the question: %+v", got)
	}
}

// Deleting an answer, a question or a user reaches the plugin as events: an accepted
// answer that goes reopens its question, a question takes its answers along, and a
// deleted assignee leaves the question unassigned.
func TestQACleansUpAfterDeletions(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "qa"), func(t *testing.T, env *testapp.Env) {
		e := startQA(t, env)
		hd2 := colleague(t, env)

		solved := e.ask(qaEmployee, "Wachtwoord verlopen", "Mijn wachtwoord is verlopen.")
		reply := e.answer(qaHelpdesk, solved, "Wijzig het via het selfserviceportaal.")
		e.call(200, qaEmployee, "PUT", qaBase+"/questions/"+solved+"/accepted", map[string]any{"answer_id": reply})
		e.call(204, qaAdmin, "DELETE", "/api/v1/items/"+reply, nil)
		testsvc.Eventually(t, "the deleted answer's question reopened", 10*time.Second, func() bool {
			got := e.question(qaEmployee, solved)
			return got.Status == "open" && got.AcceptedAnswerID == nil && got.AnswerCount == 0 && len(got.Answers) == 0
		})

		gone := e.ask(qaOther, "Beamer zaal 3", "De beamer doet het niet.")
		answer := e.answer(qaHelpdesk, gone, "Lamp vervangen.")
		e.call(204, qaHelpdesk, "DELETE", "/api/v1/items/"+gone, nil) // a moderator of the space
		e.call(404, qaOther, "GET", qaBase+"/questions/"+gone, nil)
		testsvc.Eventually(t, "the deleted question's answer gone", 10*time.Second, func() bool {
			return e.As(qaAdmin, "GET", "/api/v1/items/"+answer, nil).Status == 404
		})

		e.call(200, hd2, "PUT", qaBase+"/questions/"+solved+"/assignee", map[string]any{"user_id": e.UserID(hd2)})
		e.call(204, qaAdmin, "DELETE", "/api/v1/users/"+e.UserID(hd2), nil)
		testsvc.Eventually(t, "the deleted assignee dropped", 10*time.Second, func() bool {
			got := e.question(qaEmployee, solved)
			return got.Assignee == nil && got.Status == "open"
		})
	})
}
