package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
)

// call sends a JSON request to a replica and decodes a JSON answer into out (if not nil).
func (p *proc) call(method, path, token string, body, out any) int {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			p.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.base+path, r)
	if err != nil {
		p.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (p *proc) login(email string) string {
	p.t.Helper()
	var s struct{ Token string }
	if code := p.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "plein-demo"}, &s); code != 200 {
		p.t.Fatalf("login %s: %d", email, code)
	}
	return s.Token
}

var until = testsvc.Eventually

// Two replicas on one PostgreSQL database and one Redis: a change made through one
// applies on the other within a second, though each caches principals and space sets.
func TestChangesOnOneReplicaApplyOnTheOtherWithinASecond(t *testing.T) {
	dbURL := testsvc.PostgresURL(t)
	env := []string{
		"PLEIN_DATABASE_URL=" + dbURL,
		"PLEIN_REDIS_URL=" + testsvc.RedisURL(t),
		"PLEIN_REDIS_PREFIX=" + testsvc.Name("replicas") + ":",
	}
	seed := exec.Command(binary, "seed", "demo")
	seed.Env = append(os.Environ(), append(env, "PLEIN_DATA_DIR="+t.TempDir())...)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	a, b := startPlein(t, env...), startPlein(t, env...)

	admin := a.login("admin@demo.plein")
	employee := b.login("employee@demo.plein")
	var me struct{ ID string }
	b.call("GET", "/api/v1/me", employee, nil, &me)
	var list struct {
		Items []struct{ ID, Name string }
	}
	if code := a.call("GET", "/api/v1/spaces?limit=100", admin, nil, &list); code != 200 {
		t.Fatalf("list spaces: %d", code)
	}
	space := map[string]string{}
	for _, s := range list.Items {
		space[s.Name] = s.ID
	}
	mt, hr := space["Managementteam"], space["Personeel & Organisatie"]
	if mt == "" || hr == "" {
		t.Fatalf("demo spaces missing: %v", space)
	}

	// Warm B's caches with the current answers first, so B has something to invalidate.
	for _, id := range []string{mt, hr} {
		if code := b.call("GET", "/api/v1/spaces/"+id, employee, nil, nil); code != 404 {
			t.Fatalf("before: employee sees %s: %d", id, code)
		}
	}
	visible := func(id string) func() bool {
		return func() bool { return b.call("GET", "/api/v1/spaces/"+id, employee, nil, nil) == 200 }
	}

	// A membership made through A.
	if code := a.call("PUT", "/api/v1/spaces/"+mt+"/members/"+me.ID, admin, map[string]string{"role": "member"}, nil); code != 201 {
		t.Fatalf("add member: %d", code)
	}
	t.Logf("membership reached replica B after %s", until(t, "membership on B", time.Second, visible(mt)))

	// A role given through A opens the department space that role reads.
	if code := a.call("PUT", "/api/v1/users/"+me.ID+"/roles", admin, map[string][]string{"roles": {"employee", "dept-finance", "dept-hr"}}, nil); code != 200 {
		t.Fatalf("set roles: %d", code)
	}
	t.Logf("role reached replica B after %s", until(t, "role on B", time.Second, visible(hr)))

	// And taken away again: B closes the space as fast.
	if code := a.call("PUT", "/api/v1/users/"+me.ID+"/roles", admin, map[string][]string{"roles": {"employee", "dept-finance"}}, nil); code != 200 {
		t.Fatalf("set roles back: %d", code)
	}
	until(t, "role removal on B", time.Second, func() bool { return !visible(hr)() })

	// A policy change through A: employees lose the right to create spaces, on B too.
	type permission struct {
		Role   string `json:"role"`
		Domain string `json:"domain"`
		Object string `json:"object"`
		Action string `json:"action"`
	}
	var pol struct {
		Permissions []permission `json:"permissions"`
		Inheritance []any        `json:"inheritance"`
	}
	if code := a.call("GET", "/api/v1/admin/policies", admin, nil, &pol); code != 200 {
		t.Fatalf("get policy: %d", code)
	}
	before := len(pol.Permissions)
	pol.Permissions = slices.DeleteFunc(pol.Permissions, func(p permission) bool {
		return p == permission{"employee", "global", "spaces", "create"}
	})
	if len(pol.Permissions) != before-1 {
		t.Fatalf("no employee spaces create line in %+v", pol.Permissions)
	}
	if code := a.call("PUT", "/api/v1/admin/policies", admin, pol, nil); code != 200 {
		t.Fatalf("put policy: %d", code)
	}
	n := 0
	until(t, "policy on B", time.Second, func() bool {
		n++
		code := b.call("POST", "/api/v1/spaces", employee, map[string]any{"name": "Probe " + string(rune('A'+n%26)), "visibility": "private"}, nil)
		return code == 403
	})

	// A disabled user's token stops working on B at once.
	if code := a.call("PATCH", "/api/v1/users/"+me.ID, admin, map[string]bool{"disabled": true}, nil); code != 200 {
		t.Fatalf("disable: %d", code)
	}
	until(t, "disable on B", time.Second, func() bool { return b.call("GET", "/api/v1/me", employee, nil, nil) == 401 })
}
