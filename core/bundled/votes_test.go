package bundled_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

const votesAPI = "/api/v1/plugins/votes"

// voteSummary is the votes plugin's answer for an item.
type voteSummary struct {
	Score, Up, Down int
	MyVote          *int `json:"my_vote"`
	Status          string
}

// must sends a request that has to answer want and returns the body.
func must(t *testing.T, e *testapp.Env, as string, want int, method, path string, body any) testapp.Response {
	t.Helper()
	r := e.As(as, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, as, r.Status, r.Body, want)
	}
	return r
}

// Ideas in the IT helpdesk space: its moderators (the helpdesk) make them and set
// their status and the space's budget; every employee votes; feeds carry the votes.
func TestIdeasVotesBudgetsAndStatus(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "votes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "votes")
		hd, emp, sec := "helpdesk@demo.plein", "employee@demo.plein", "secretary@demo.plein"
		space := e.SpaceID("IT-helpdesk")
		word := testsvc.Name("printer")
		var ideas []string
		for _, title := range []string{"Nieuwe printer " + word, "Tweede scherm", "Snellere laptops"} {
			var idea struct{ ID, Status string }
			must(t, e, hd, 201, "POST", votesAPI+"/spaces/"+space+"/ideas", map[string]string{"title": title, "body": "Graag"}).JSON(t, &idea)
			if idea.ID == "" || idea.Status != "open" {
				t.Fatalf("idea %+v", idea)
			}
			ideas = append(ideas, idea.ID)
		}
		// An employee reads the space but may not post in it.
		must(t, e, emp, 403, "POST", votesAPI+"/spaces/"+space+"/ideas", map[string]string{"title": "Mag niet"})

		must(t, e, hd, 200, "PUT", votesAPI+"/spaces/"+space+"/settings", map[string]int{"vote_budget": 2})
		must(t, e, emp, 403, "PUT", votesAPI+"/spaces/"+space+"/settings", map[string]int{"vote_budget": 100})
		must(t, e, emp, 200, "PUT", votesAPI+"/items/"+ideas[0]+"/vote", map[string]int{"value": 1})
		must(t, e, sec, 200, "PUT", votesAPI+"/items/"+ideas[0]+"/vote", map[string]int{"value": 1})
		must(t, e, emp, 200, "PUT", votesAPI+"/items/"+ideas[1]+"/vote", map[string]int{"value": -1})
		r := must(t, e, emp, 409, "PUT", votesAPI+"/items/"+ideas[2]+"/vote", map[string]int{"value": 1})
		if !strings.Contains(string(r.Body), "vote_budget_exhausted") {
			t.Fatalf("over budget: %s", r.Body)
		}

		// The decoration, in the item, the feed and search.
		want := `{"score":2,"up":2,"down":0,"my_vote":1}`
		if got := string(itemFeatures(t, e, emp, ideas[0])["votes"]); got != want {
			t.Errorf("item: %s, want %s", got, want)
		}
		if got := string(listFeatures(t, e, emp, "/api/v1/feed?space="+space)[ideas[0]]["votes"]); got != want {
			t.Errorf("feed: %s, want %s", got, want)
		}
		if got := string(listFeatures(t, e, hd, "/api/v1/search?q="+word)[ideas[0]]["votes"]); got != `{"score":2,"up":2,"down":0,"my_vote":null}` {
			t.Errorf("search as the helpdesk: %s", got)
		}

		// Done: the votes go back to the budgets, the idea keeps them.
		must(t, e, emp, 403, "PUT", votesAPI+"/items/"+ideas[0]+"/status", map[string]string{"status": "done"})
		must(t, e, hd, 200, "PUT", votesAPI+"/items/"+ideas[0]+"/status", map[string]string{"status": "done"})
		var budget struct{ Used, Left int }
		must(t, e, emp, 200, "GET", votesAPI+"/spaces/"+space+"/budget", nil).JSON(t, &budget)
		if budget.Used != 1 || budget.Left != 1 {
			t.Fatalf("budget after the idea was done: %+v", budget)
		}
		must(t, e, emp, 200, "PUT", votesAPI+"/items/"+ideas[2]+"/vote", map[string]int{"value": 1})
		must(t, e, emp, 409, "DELETE", votesAPI+"/items/"+ideas[0]+"/vote", nil)

		// The ranking: open ideas only, then everything.
		var top struct {
			Items []struct {
				ItemID string `json:"item_id"`
				Score  int
				Status string
				Title  string
			}
		}
		must(t, e, emp, 200, "GET", votesAPI+"/top?status=open&space="+space, nil).JSON(t, &top)
		if len(top.Items) != 2 || top.Items[0].ItemID != ideas[2] || top.Items[1].ItemID != ideas[1] || top.Items[1].Score != -1 {
			t.Fatalf("open ideas: %+v", top.Items)
		}
		must(t, e, emp, 200, "GET", votesAPI+"/top?space="+space, nil).JSON(t, &top)
		if len(top.Items) != 3 || top.Items[0].ItemID != ideas[0] || top.Items[0].Status != "done" || !strings.HasPrefix(top.Items[0].Title, "Nieuwe printer") {
			t.Fatalf("all ideas: %+v", top.Items)
		}
	})
}

// Nobody votes on, sets the status of, ranks or polls what they may not read, and the
// answers do not tell them it exists.
func TestVotesRoutesRefuseWhoMayNotReadTheItem(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "votes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "votes")
		mgr, emp, ext := "manager@demo.plein", "employee@demo.plein", "external@demo.plein"
		mt := e.SpaceID("Managementteam")
		secret := post(t, e, "admin@demo.plein", mt, "Vertrouwelijk")
		var poll struct{ ID string }
		must(t, e, mgr, 201, "POST", votesAPI+"/spaces/"+mt+"/polls", map[string]any{"question": "Heidag?", "options": []string{"ja", "nee"}}).JSON(t, &poll)
		must(t, e, mgr, 200, "PUT", votesAPI+"/items/"+secret+"/vote", map[string]int{"value": 1})
		must(t, e, mgr, 200, "PUT", votesAPI+"/polls/"+poll.ID+"/ballot", map[string]any{"choices": []int{1}})
		for _, as := range []string{emp, ext} {
			for _, rt := range []struct {
				method, path string
				body         any
			}{
				{"PUT", "/items/" + secret + "/vote", map[string]int{"value": -1}},
				{"DELETE", "/items/" + secret + "/vote", nil},
				{"GET", "/items/" + secret, nil},
				{"PUT", "/items/" + secret + "/status", map[string]string{"status": "done"}},
				{"GET", "/polls/" + poll.ID, nil},
				{"PUT", "/polls/" + poll.ID + "/ballot", map[string]any{"choices": []int{2}}},
				{"DELETE", "/polls/" + poll.ID + "/ballot", nil},
				{"POST", "/spaces/" + mt + "/polls", map[string]any{"question": "?", "options": []string{"a", "b"}}},
				{"POST", "/spaces/" + mt + "/ideas", map[string]string{"title": "idee"}},
				{"GET", "/spaces/" + mt + "/settings", nil},
				{"PUT", "/spaces/" + mt + "/settings", map[string]int{"vote_budget": 1}},
				{"GET", "/spaces/" + mt + "/budget", nil},
			} {
				r := e.As(as, rt.method, votesAPI+rt.path, rt.body)
				if r.Status != 404 || strings.Contains(string(r.Body), "score") || strings.Contains(string(r.Body), "Heidag") {
					t.Errorf("%s %s as %s: %d %s", rt.method, rt.path, as, r.Status, r.Body)
				}
			}
			var top struct{ Items []json.RawMessage }
			must(t, e, as, 200, "GET", votesAPI+"/top?space="+url.QueryEscape(mt), nil).JSON(t, &top)
			if len(top.Items) != 0 {
				t.Errorf("the ranking of a space %s may not read: %d items", as, len(top.Items))
			}
			if f := listFeatures(t, e, as, "/api/v1/search?q=Heidag"); f[poll.ID] != nil {
				t.Errorf("%s finds the poll", as)
			}
		}
		var sum voteSummary
		must(t, e, mgr, 200, "GET", votesAPI+"/items/"+secret, nil).JSON(t, &sum)
		if sum.Score != 1 || sum.Status != "open" {
			t.Fatalf("the refused requests changed the item: %+v", sum)
		}
		if r := e.Do("GET", votesAPI+"/top?space="+mt, "", nil); r.Status != 401 {
			t.Errorf("no token: %d", r.Status)
		}
	})
}

// Polls are items: they show in the feed and search of those who read their space;
// results show after voting.
func TestPollsAreItemsInFeedAndSearch(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "votes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "votes")
		hd, emp := "helpdesk@demo.plein", "employee@demo.plein"
		space := e.SpaceID("IT-helpdesk")
		word := testsvc.Name("besturingssysteem")
		var poll struct {
			ID      string
			Options []struct {
				ID    int
				Votes *int
			}
			ResultsVisible bool `json:"results_visible"`
		}
		must(t, e, hd, 201, "POST", votesAPI+"/spaces/"+space+"/polls", map[string]any{
			"question": "Welk " + word + "?", "options": []string{"Linux", "Windows", "macOS"}, "multiple": true}).JSON(t, &poll)
		if f := listFeatures(t, e, emp, "/api/v1/search?q="+word); f[poll.ID] == nil {
			t.Fatalf("search does not find the poll: %v", f)
		}
		if f := listFeatures(t, e, emp, "/api/v1/feed?kind=poll&space="+space); f[poll.ID] == nil {
			t.Fatalf("the feed lacks the poll: %v", f)
		}
		must(t, e, emp, 200, "GET", votesAPI+"/polls/"+poll.ID, nil).JSON(t, &poll)
		if poll.ResultsVisible || poll.Options[0].Votes != nil {
			t.Fatalf("results before voting: %+v", poll)
		}
		var wg sync.WaitGroup
		users := employees(t, e, 30)
		c := newCrowd(t, e, len(users))
		for _, u := range users {
			token := e.Token(u)
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, body, err := c.do(token, "PUT", votesAPI+"/polls/"+poll.ID+"/ballot", map[string]any{"choices": []int{1, 3}})
				if err != nil || status != 200 {
					t.Errorf("ballot: %d %s %v", status, body, err)
				}
			}()
		}
		wg.Wait()
		must(t, e, emp, 200, "PUT", votesAPI+"/polls/"+poll.ID+"/ballot", map[string]any{"choices": []int{2}}).JSON(t, &poll)
		in := func(email string) bool {
			for _, u := range users {
				if u == email {
					return true
				}
			}
			return false
		}
		first := 30
		if in(emp) { // the employee changed their ballot
			first--
		}
		if !poll.ResultsVisible || *poll.Options[0].Votes != first || *poll.Options[1].Votes != 1 || *poll.Options[2].Votes != first {
			t.Fatalf("results: %+v", poll)
		}
	})
}
