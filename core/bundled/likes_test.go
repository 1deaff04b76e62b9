package bundled_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

const likesAPI = "/api/v1/plugins/likes"

// likeState is the likes plugin's answer and decoration.
type likeState struct {
	Count int  `json:"count"`
	Liked bool `json:"liked"`
}

// post creates a post in the space as the user and returns its id.
func post(t *testing.T, e *testapp.Env, as, space, body string) string {
	t.Helper()
	r := e.As(as, "POST", "/api/v1/spaces/"+space+"/posts", map[string]any{"body": body})
	if r.Status != 201 {
		t.Fatalf("post in %s as %s: %d %s", space, as, r.Status, r.Body)
	}
	return r.Map(t)["id"].(string)
}

// itemFeatures returns the features of an item as the user reads it.
func itemFeatures(t *testing.T, e *testapp.Env, as, id string) map[string]json.RawMessage {
	t.Helper()
	var it struct{ Features map[string]json.RawMessage }
	r := e.As(as, "GET", "/api/v1/items/"+id, nil)
	if r.Status != 200 {
		t.Fatalf("GET item %s as %s: %d %s", id, as, r.Status, r.Body)
	}
	r.JSON(t, &it)
	return it.Features
}

// listFeatures returns item id -> features from a feed or search answer.
func listFeatures(t *testing.T, e *testapp.Env, as, path string) map[string]map[string]json.RawMessage {
	t.Helper()
	var page struct {
		Items []struct {
			ID       string
			Features map[string]json.RawMessage
		}
	}
	r := e.As(as, "GET", path, nil)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	r.JSON(t, &page)
	out := map[string]map[string]json.RawMessage{}
	for _, it := range page.Items {
		out[it.ID] = it.Features
	}
	return out
}

// employees returns the emails of n demo employees, the same every time.
func employees(t testing.TB, e *testapp.Env, n int) []string {
	t.Helper()
	var out []string
	for email, u := range e.Org.Users {
		if slices.Contains(u.Roles, "employee") {
			out = append(out, email)
		}
	}
	slices.Sort(out)
	if len(out) < n {
		t.Fatalf("%d employees, want %d", len(out), n)
	}
	return out[:n]
}

// crowd sends requests for many users at once over a connection each, all closed
// when the test ends. (testapp's client keeps two idle connections and drops the
// rest as they finish, which now and then leaves the server's shutdown waiting on one
// of them.)
type crowd struct {
	url    string
	client *http.Client
}

func newCrowd(t testing.TB, e *testapp.Env, n int) *crowd {
	c := &crowd{url: e.URL, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n}}}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

// do sends a request with a JSON body (nil: none) and returns the status and body.
func (c *crowd) do(token, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// likeStorm has one client per user like and unlike the items at random, all at once,
// while during() runs beside them, and returns who likes each item in the end.
func likeStorm(t *testing.T, e *testapp.Env, users, items []string, during func(stop *atomic.Bool)) map[string][]string {
	t.Helper()
	tokens := make([]string, len(users))
	for i, u := range users {
		tokens[i] = e.Token(u)
	}
	c := newCrowd(t, e, len(users))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		if during != nil {
			during(&stop)
		}
	}()
	var mu sync.Mutex
	likers := map[string][]string{}
	start := time.Now()
	defer func() { t.Logf("%d clients, 8 requests each: %v", len(users), time.Since(start)) }()
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			liked := map[string]bool{}
			for range 8 {
				it := items[rng.IntN(len(items))]
				method := "PUT"
				if rng.IntN(3) == 0 {
					method = "DELETE"
				}
				status, body, err := c.do(tokens[i], method, likesAPI+"/items/"+it+"/like", nil)
				var st likeState
				if err != nil || status != 200 || json.Unmarshal(body, &st) != nil || st.Liked != (method == "PUT") {
					t.Errorf("%s like: %d %s %v", method, status, body, err)
					return
				}
				liked[it] = method == "PUT"
			}
			mu.Lock()
			defer mu.Unlock()
			for it, yes := range liked {
				if yes {
					likers[it] = append(likers[it], users[i])
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-done
	return likers
}

// checkCounts checks every item's count, in the plugin's answer, the item's
// decoration, the feed's and the likers list, against the users who like it.
func checkCounts(t *testing.T, e *testapp.Env, as, space string, items []string, likers map[string][]string) {
	t.Helper()
	feed := listFeatures(t, e, as, "/api/v1/feed?limit=100&space="+space)
	for _, it := range items {
		want := len(likers[it])
		var st likeState
		e.As(as, "GET", likesAPI+"/items/"+it, nil).JSON(t, &st)
		var dec, inFeed likeState
		_ = json.Unmarshal(itemFeatures(t, e, as, it)["likes"], &dec)
		_ = json.Unmarshal(feed[it]["likes"], &inFeed)
		listed := 0
		for cursor := ""; ; {
			var page struct {
				Items []struct {
					UserID string `json:"user_id"`
				}
				NextCursor *string `json:"next_cursor"`
			}
			e.As(as, "GET", likesAPI+"/items/"+it+"/likers?limit=100&cursor="+url.QueryEscape(cursor), nil).JSON(t, &page)
			listed += len(page.Items)
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		if st.Count != want || dec.Count != want || inFeed.Count != want || listed != want {
			t.Errorf("item %s: %d likers, but count %d, decoration %d, feed %d, listed %d", it, want, st.Count, dec.Count, inFeed.Count, listed)
		}
	}
}

// 100 clients like and unlike the same items at once: every count equals the likers.
func TestLikesStayExactUnderConcurrency(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "likes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "likes")
		coffee := e.SpaceID("Koffiehoek")
		items := []string{post(t, e, "admin@demo.plein", coffee, "Taart!"), post(t, e, "admin@demo.plein", coffee, "Fietsen")}
		users := employees(t, e, 100)
		likers := likeStorm(t, e, users, items, nil)
		checkCounts(t, e, users[0], coffee, items, likers)
	})
}

// The same with Redis in front of the counters, which loses every key under the
// test's prefix again and again during the storm and once after it.
func TestLikesStayExactWhileRedisLosesItsData(t *testing.T) {
	prefix := testsvc.Name("likes") + ":"
	opts := withPlugins(t, testapp.Options{RedisURL: testsvc.RedisURL(t), RedisPrefix: prefix}, "likes")
	testapp.Each(t, opts, func(t *testing.T, e *testapp.Env) {
		enable(t, e, "likes")
		coffee := e.SpaceID("Koffiehoek")
		items := []string{post(t, e, "admin@demo.plein", coffee, "Taart!"), post(t, e, "admin@demo.plein", coffee, "Fietsen")}
		users := employees(t, e, 100)
		lose := func() int {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			keys, err := e.App.Redis.Keys(ctx, prefix+"*").Result()
			if err == nil && len(keys) > 0 {
				err = e.App.Redis.Del(ctx, keys...).Err()
			}
			if err != nil {
				t.Error(err)
			}
			return len(keys)
		}
		losses := 0
		likers := likeStorm(t, e, users, items, func(stop *atomic.Bool) {
			for !stop.Load() {
				time.Sleep(20 * time.Millisecond)
				lose()
				losses++
			}
		})
		t.Logf("Redis lost its data %d times during the storm", losses)
		checkCounts(t, e, users[0], coffee, items, likers)
		if n, _ := e.App.Redis.Keys(context.Background(), prefix+"counters:likes:*").Result(); len(n) == 0 {
			t.Fatal("the counters are not in Redis")
		}
		lose()
		checkCounts(t, e, users[0], coffee, items, likers)
	})
}

// Likes show on items in feeds, search and item reads; off, they vanish and the routes
// say so; on again, the counts are intact. On for one space, only that space has them.
func TestLikesFollowTheFeatureSwitch(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "likes"), func(t *testing.T, e *testapp.Env) {
		emp, mgr := "employee@demo.plein", "manager@demo.plein"
		coffee, kb := e.SpaceID("Koffiehoek"), e.SpaceID("Kennisbank")
		word := testsvc.Name("gebak")
		liked := post(t, e, "admin@demo.plein", coffee, "Appeltaart "+word)
		other := post(t, e, "admin@demo.plein", kb, "Werkinstructie "+word)
		enable(t, e, "likes")
		for _, as := range []string{emp, mgr} {
			if r := e.As(as, "PUT", likesAPI+"/items/"+liked+"/like", nil); r.Status != 200 {
				t.Fatalf("like as %s: %d %s", as, r.Status, r.Body)
			}
		}
		want := map[string]string{emp: `{"count":2,"liked":true}`, "helpdesk@demo.plein": `{"count":2,"liked":false}`}
		for as, w := range want {
			if got := string(itemFeatures(t, e, as, liked)["likes"]); got != w {
				t.Errorf("item read as %s: %s, want %s", as, got, w)
			}
			if got := string(listFeatures(t, e, as, "/api/v1/feed?space="+coffee)[liked]["likes"]); got != w {
				t.Errorf("feed as %s: %s, want %s", as, got, w)
			}
			if got := string(listFeatures(t, e, as, "/api/v1/search?q="+word)[liked]["likes"]); got != w {
				t.Errorf("search as %s: %s, want %s", as, got, w)
			}
		}
		if got := string(itemFeatures(t, e, emp, other)["likes"]); got != `{"count":0,"liked":false}` {
			t.Errorf("an item nobody liked: %s", got)
		}

		// Off: no field anywhere, routes answer feature_disabled.
		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/likes", map[string]any{"enabled": false}); r.Status != 200 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		if f := itemFeatures(t, e, emp, liked); f["likes"] != nil {
			t.Errorf("disabled, the item still has likes: %s", f["likes"])
		}
		if f := listFeatures(t, e, emp, "/api/v1/search?q="+word); f[liked]["likes"] != nil || len(f) != 2 {
			t.Errorf("disabled, search still has likes: %v", f)
		}
		refusedAsDisabled(t, e, emp, liked)

		// On again: the counts are intact.
		enable(t, e, "likes")
		if got := string(itemFeatures(t, e, emp, liked)["likes"]); got != want[emp] {
			t.Errorf("enabled again: %s, want %s", got, want[emp])
		}

		// On for the coffee corner only.
		if r := e.As(mgr, "PUT", "/api/v1/admin/plugins/likes", map[string]any{"enabled": true, "spaces": []string{coffee}}); r.Status != 200 {
			t.Fatalf("narrow: %d %s", r.Status, r.Body)
		}
		testsvc.Eventually(t, "likes narrowed to one space", 5*time.Second, func() bool {
			return itemFeatures(t, e, emp, other)["likes"] == nil
		})
		if got := string(itemFeatures(t, e, emp, liked)["likes"]); got != want[emp] {
			t.Errorf("in the space it is on for: %s", got)
		}
		feed := listFeatures(t, e, emp, "/api/v1/search?q="+word)
		if string(feed[liked]["likes"]) != want[emp] || feed[other]["likes"] != nil {
			t.Errorf("search with likes on in one space: %v", feed)
		}
		refusedAsDisabled(t, e, emp, other)
	})
}

// refusedAsDisabled checks that every likes route refuses the item as a feature that
// is off.
func refusedAsDisabled(t *testing.T, e *testapp.Env, as, item string) {
	t.Helper()
	for _, rt := range [][2]string{{"PUT", "/like"}, {"DELETE", "/like"}, {"GET", ""}, {"GET", "/likers"}} {
		r := e.As(as, rt[0], likesAPI+"/items/"+item+rt[1], nil)
		if r.Status != 404 || !strings.Contains(string(r.Body), "feature_disabled") {
			t.Errorf("%s %s while off: %d %s", rt[0], rt[1], r.Status, r.Body)
		}
	}
}

// Nobody likes, unlikes or reads the likes of an item they may not read, and the
// answer does not tell them it exists.
func TestLikesRoutesRefuseWhoMayNotReadTheItem(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "likes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "likes")
		secret := post(t, e, "admin@demo.plein", e.SpaceID("Managementteam"), "Vertrouwelijk")
		coffee := post(t, e, "admin@demo.plein", e.SpaceID("Koffiehoek"), "Koffie")
		if r := e.As("manager@demo.plein", "PUT", likesAPI+"/items/"+secret+"/like", nil); r.Status != 200 {
			t.Fatalf("a member likes: %d %s", r.Status, r.Body)
		}
		cases := []struct{ as, item string }{
			{"employee@demo.plein", secret},   // a private space they are not in
			{"external@demo.plein", coffee},   // an open space not open to externals
			{"employee@demo.plein", "nosuch"}, // no such item
		}
		for _, c := range cases {
			for _, rt := range [][2]string{{"PUT", "/like"}, {"DELETE", "/like"}, {"GET", ""}, {"GET", "/likers"}} {
				r := e.As(c.as, rt[0], likesAPI+"/items/"+c.item+rt[1], nil)
				if r.Status != 404 || strings.Contains(string(r.Body), "count") || strings.Contains(string(r.Body), "user_id") {
					t.Errorf("%s %s%s as %s: %d %s", rt[0], c.item, rt[1], c.as, r.Status, r.Body)
				}
			}
		}
		if r := e.Do("PUT", likesAPI+"/items/"+coffee+"/like", "", nil); r.Status != 401 {
			t.Errorf("no token: %d", r.Status)
		}
		var st likeState
		e.As("manager@demo.plein", "GET", likesAPI+"/items/"+secret, nil).JSON(t, &st)
		if st != (likeState{1, true}) {
			t.Errorf("the refused requests changed the count: %+v", st)
		}
	})
}

// When an item or a user is deleted, their likes go too.
func TestLikesGoWithDeletedItemsAndUsers(t *testing.T) {
	testapp.Each(t, withPlugins(t, testapp.Options{}, "likes"), func(t *testing.T, e *testapp.Env) {
		enable(t, e, "likes")
		emp := "employee@demo.plein"
		coffee := e.SpaceID("Koffiehoek")
		kept, gone := post(t, e, "admin@demo.plein", coffee, "Blijft"), post(t, e, "admin@demo.plein", coffee, "Gaat weg")
		email := testsvc.Name("leaver") + "@demo.plein"
		if r := e.As("admin@demo.plein", "POST", "/api/v1/users", map[string]any{"email": email, "name": "Leaver",
			"password": "plein-demo-leaver", "roles": []string{"employee"}}); r.Status != 201 {
			t.Fatalf("create user: %d %s", r.Status, r.Body)
		}
		for _, as := range []string{emp, email} {
			for _, it := range []string{kept, gone} {
				if r := e.As(as, "PUT", likesAPI+"/items/"+it+"/like", nil); r.Status != 200 {
					t.Fatalf("like: %d %s", r.Status, r.Body)
				}
			}
		}
		if r := e.As("admin@demo.plein", "DELETE", "/api/v1/items/"+gone, nil); r.Status != 204 {
			t.Fatalf("delete item: %d %s", r.Status, r.Body)
		}
		if r := e.As("admin@demo.plein", "DELETE", "/api/v1/users/"+e.UserID(email), nil); r.Status != 204 {
			t.Fatalf("delete user: %d %s", r.Status, r.Body)
		}
		stored := func(pattern string) int {
			var n int
			if err := e.App.DB.QueryRowContext(context.Background(),
				`SELECT count(*) FROM plugin_kv WHERE plugin = 'likes' AND key LIKE $1`, pattern).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		testsvc.Eventually(t, "likes of the deleted item and user gone", 10*time.Second, func() bool {
			var st likeState
			e.As(emp, "GET", likesAPI+"/items/"+kept, nil).JSON(t, &st)
			return st == likeState{1, true} && stored("l/"+gone+"/%") == 0 && stored("%/"+e.Org.Users[emp].ID+"/"+gone) == 0
		})
		var n int
		if err := e.App.DB.QueryRowContext(context.Background(),
			`SELECT count(*) FROM plugin_counters WHERE plugin = 'likes' AND key = $1`, "n/"+gone).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the deleted item's counter: %d %v", n, err)
		}
		if got := stored("%"); got != 2 {
			t.Fatalf("%d likes keys left, want the employee's like of the kept item and its index entry", got)
		}
		if got := fmt.Sprint(stored("u/%")); got != "1" {
			t.Fatalf("index entries left: %s", got)
		}
	})
}
