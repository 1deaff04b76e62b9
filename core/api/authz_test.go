package api_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/internal/testapp"
	"github.com/pleinhq/plein/core/spaces"
)

// The actors of the matrix, in the order of each case's expected statuses.
const (
	admin = iota
	manager
	employee
	member // an employee, member of the fixture space
	reader // an employee, reader of the fixture space
	external
	disabled // had a token, then was disabled
	anonymous
	actors
)

var actorNames = [actors]string{"admin", "manager", "employee", "space member", "space reader", "external", "disabled user", "no token"}

// fixture is what one case works on, made fresh for each (case, actor) so that
// a write by one actor never changes what the next one meets.
type fixture struct {
	space   string // a members-only space with the member and reader actors in it
	target  string // an employee, also a member of space
	role    string // a role nobody holds
	item    string // a post by target in space
	comment string // a comment by target on item
	doc     string // a document by target in space
	trashed string // a document by target in space, in the trash
	n       int64  // unique per fixture, for names
}

func (f fixture) expand(s string) string {
	return strings.NewReplacer("{space}", f.space, "{target}", f.target, "{role}", f.role, "{item}", f.item,
		"{comment}", f.comment, "{doc}", f.doc, "{trashed}", f.trashed, "{n}", fmt.Sprint(f.n)).Replace(s)
}

// matrixCase is one route with a request that would succeed for an authorized caller.
type matrixCase struct {
	route  string // as Server.Routes lists it
	path   string // with {space}, {target}, {role}, {n} filled from the fixture
	body   any    // strings in it are expanded too
	fresh  bool   // the request uses up its token (logout): issue one for it
	expect [actors]int
}

const (
	unauth = 401
	forbid = 403
	hidden = 404
)

// The whole API. Each row: admin, manager, employee, member, reader, external, disabled, no token.
var matrix = []matrixCase{
	{route: "GET /healthz (public)", path: "/healthz", expect: [actors]int{200, 200, 200, 200, 200, 200, 200, 200}},
	{route: "GET /readyz (public)", path: "/readyz", expect: [actors]int{200, 200, 200, 200, 200, 200, 200, 200}},
	{route: "GET /metrics (public)", path: "/metrics", expect: [actors]int{200, 200, 200, 200, 200, 200, 200, 200}},
	{route: "GET /api/v1/openapi.json (public)", path: "/api/v1/openapi.json", expect: [actors]int{200, 200, 200, 200, 200, 200, 200, 200}},
	{route: "POST /api/v1/auth/login (public)", path: "/api/v1/auth/login",
		body:   map[string]string{"email": "matrix-target-{n}@test.plein", "password": "matrix password"},
		expect: [actors]int{200, 200, 200, 200, 200, 200, 200, 200}},
	{route: "POST /api/v1/auth/logout", path: "/api/v1/auth/logout", fresh: true,
		expect: [actors]int{204, 204, 204, 204, 204, 204, unauth, unauth}},
	{route: "GET /api/v1/me", path: "/api/v1/me", expect: [actors]int{200, 200, 200, 200, 200, 200, unauth, unauth}},
	{route: "PUT /api/v1/me/password", path: "/api/v1/me/password",
		body:   map[string]string{"current": "not my password", "new": "a new password"},
		expect: [actors]int{forbid, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},

	{route: "GET /api/v1/users", path: "/api/v1/users", expect: [actors]int{200, 200, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "POST /api/v1/users", path: "/api/v1/users",
		body:   map[string]any{"email": "matrix-new-{n}@test.plein", "name": "New", "password": "matrix password", "roles": []string{"employee"}},
		expect: [actors]int{201, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "GET /api/v1/users/:id", path: "/api/v1/users/{target}", expect: [actors]int{200, 200, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "PATCH /api/v1/users/:id", path: "/api/v1/users/{target}", body: map[string]any{"name": "Renamed"},
		expect: [actors]int{200, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "DELETE /api/v1/users/:id", path: "/api/v1/users/{target}",
		expect: [actors]int{204, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "PUT /api/v1/users/:id/roles", path: "/api/v1/users/{target}/roles", body: map[string]any{"roles": []string{"employee", "dept-hr"}},
		expect: [actors]int{200, 200, forbid, forbid, forbid, forbid, unauth, unauth}},

	{route: "GET /api/v1/roles", path: "/api/v1/roles", expect: [actors]int{200, 200, 200, 200, 200, forbid, unauth, unauth}},
	{route: "POST /api/v1/roles", path: "/api/v1/roles", body: map[string]any{"name": "matrix-new-{n}"},
		expect: [actors]int{201, 201, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "PATCH /api/v1/roles/:name", path: "/api/v1/roles/{role}", body: map[string]any{"title": "Renamed"},
		expect: [actors]int{200, 200, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "DELETE /api/v1/roles/:name", path: "/api/v1/roles/{role}",
		expect: [actors]int{204, 204, forbid, forbid, forbid, forbid, unauth, unauth}},

	{route: "GET /api/v1/spaces", path: "/api/v1/spaces", expect: [actors]int{200, 200, 200, 200, 200, 200, unauth, unauth}},
	{route: "POST /api/v1/spaces", path: "/api/v1/spaces", body: map[string]any{"name": "Matrix new {n}", "visibility": "private"},
		expect: [actors]int{201, 201, 201, 201, 201, forbid, unauth, unauth}},
	{route: "GET /api/v1/spaces/:id", path: "/api/v1/spaces/{space}",
		expect: [actors]int{200, 200, 200, 200, 200, hidden, unauth, unauth}},
	{route: "PATCH /api/v1/spaces/:id", path: "/api/v1/spaces/{space}", body: map[string]any{"description": "changed"},
		expect: [actors]int{200, 200, forbid, forbid, forbid, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/spaces/:id", path: "/api/v1/spaces/{space}",
		expect: [actors]int{204, 204, forbid, forbid, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/spaces/:id/members", path: "/api/v1/spaces/{space}/members",
		expect: [actors]int{200, 200, forbid, 200, 200, hidden, unauth, unauth}},
	{route: "PUT /api/v1/spaces/:id/members/:user_id", path: "/api/v1/spaces/{space}/members/{target}", body: map[string]any{"role": "moderator"},
		expect: [actors]int{200, 200, forbid, forbid, forbid, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/spaces/:id/members/:user_id", path: "/api/v1/spaces/{space}/members/{target}",
		expect: [actors]int{204, 204, forbid, forbid, forbid, hidden, unauth, unauth}},

	{route: "POST /api/v1/spaces/:id/posts", path: "/api/v1/spaces/{space}/posts", body: map[string]any{"body": "Hallo #matrix"},
		expect: [actors]int{201, forbid, forbid, 201, forbid, hidden, unauth, unauth}},
	{route: "POST /api/v1/spaces/:id/pages", path: "/api/v1/spaces/{space}/pages", body: map[string]any{"title": "Werkwijze", "body": "Zo werken we."},
		expect: [actors]int{201, forbid, forbid, 201, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/spaces/:id/pages", path: "/api/v1/spaces/{space}/pages",
		expect: [actors]int{200, forbid, forbid, 200, 200, hidden, unauth, unauth}},
	{route: "GET /api/v1/items/:id", path: "/api/v1/items/{item}",
		expect: [actors]int{200, hidden, hidden, 200, 200, hidden, unauth, unauth}},
	{route: "PATCH /api/v1/items/:id", path: "/api/v1/items/{item}", body: map[string]any{"body": "Changed"},
		expect: [actors]int{200, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/items/:id", path: "/api/v1/items/{item}",
		expect: [actors]int{204, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/items/:id/comments", path: "/api/v1/items/{item}/comments",
		expect: [actors]int{200, hidden, hidden, 200, 200, hidden, unauth, unauth}},
	{route: "POST /api/v1/items/:id/comments", path: "/api/v1/items/{item}/comments", body: map[string]any{"body": "Goed idee"},
		expect: [actors]int{201, hidden, hidden, 201, 201, hidden, unauth, unauth}},
	{route: "PATCH /api/v1/comments/:id", path: "/api/v1/comments/{comment}", body: map[string]any{"body": "Changed"},
		expect: [actors]int{200, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/comments/:id", path: "/api/v1/comments/{comment}",
		expect: [actors]int{204, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/feed", path: "/api/v1/feed", expect: [actors]int{200, 200, 200, 200, 200, 200, unauth, unauth}},
	{route: "GET /api/v1/search", path: "/api/v1/search?q=hallo", expect: [actors]int{200, 200, 200, 200, 200, 200, unauth, unauth}},

	{route: "POST /api/v1/spaces/:id/documents", path: "/api/v1/spaces/{space}/documents",
		body:   testapp.Form{Fields: map[string]string{"title": "Notulen"}, FileName: "notulen.txt", File: []byte("Aanwezig: iedereen")},
		expect: [actors]int{201, forbid, forbid, 201, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/documents/:id", path: "/api/v1/documents/{doc}",
		expect: [actors]int{200, hidden, hidden, 200, 200, hidden, unauth, unauth}},
	{route: "GET /api/v1/documents/:id/content", path: "/api/v1/documents/{doc}/content?version=1",
		expect: [actors]int{200, hidden, hidden, 200, 200, hidden, unauth, unauth}},
	{route: "POST /api/v1/documents/:id/versions", path: "/api/v1/documents/{doc}/versions",
		body:   testapp.Form{FileName: "notulen-v2.txt", File: []byte("Aanwezig: bijna iedereen")},
		expect: [actors]int{201, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/documents/:id", path: "/api/v1/documents/{doc}",
		expect: [actors]int{204, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "POST /api/v1/documents/:id/restore", path: "/api/v1/documents/{trashed}/restore",
		expect: [actors]int{200, hidden, hidden, forbid, forbid, hidden, unauth, unauth}},
	{route: "GET /api/v1/spaces/:id/trash", path: "/api/v1/spaces/{space}/trash",
		expect: [actors]int{200, forbid, forbid, forbid, forbid, hidden, unauth, unauth}},

	{route: "GET /api/v1/features", path: "/api/v1/features", expect: [actors]int{200, 200, 200, 200, 200, 200, unauth, unauth}},
	{route: "GET /api/v1/admin/plugins", path: "/api/v1/admin/plugins",
		expect: [actors]int{200, 200, forbid, forbid, forbid, forbid, unauth, unauth}},
	// No plugin is installed here: a manager learns so, others are refused first.
	{route: "GET /api/v1/admin/plugins/:name", path: "/api/v1/admin/plugins/bookmarks",
		expect: [actors]int{hidden, hidden, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "PUT /api/v1/admin/plugins/:name", path: "/api/v1/admin/plugins/bookmarks", body: map[string]any{"enabled": true},
		expect: [actors]int{hidden, hidden, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "POST /api/v1/admin/plugins/:name/approve", path: "/api/v1/admin/plugins/bookmarks/approve",
		expect: [actors]int{hidden, hidden, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "POST /api/v1/admin/plugins/:name/reset", path: "/api/v1/admin/plugins/bookmarks/reset",
		expect: [actors]int{hidden, hidden, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "GET /api/v1/plugins/:name/*", path: "/api/v1/plugins/bookmarks/bookmarks",
		expect: [actors]int{hidden, hidden, hidden, hidden, hidden, hidden, unauth, unauth}},
	{route: "POST /api/v1/plugins/:name/*", path: "/api/v1/plugins/bookmarks/bookmarks",
		expect: [actors]int{hidden, hidden, hidden, hidden, hidden, hidden, unauth, unauth}},
	{route: "PUT /api/v1/plugins/:name/*", path: "/api/v1/plugins/bookmarks/items/{item}/bookmark",
		expect: [actors]int{hidden, hidden, hidden, hidden, hidden, hidden, unauth, unauth}},
	{route: "PATCH /api/v1/plugins/:name/*", path: "/api/v1/plugins/bookmarks/bookmarks",
		expect: [actors]int{hidden, hidden, hidden, hidden, hidden, hidden, unauth, unauth}},
	{route: "DELETE /api/v1/plugins/:name/*", path: "/api/v1/plugins/bookmarks/items/{item}/bookmark",
		expect: [actors]int{hidden, hidden, hidden, hidden, hidden, hidden, unauth, unauth}},

	{route: "GET /api/v1/admin/policies", path: "/api/v1/admin/policies",
		expect: [actors]int{200, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},
	{route: "PUT /api/v1/admin/policies", path: "/api/v1/admin/policies", body: currentPolicy,
		expect: [actors]int{200, forbid, forbid, forbid, forbid, forbid, unauth, unauth}},
}

// currentPolicy marks a body filled with the policy as it stands.
var currentPolicy = struct{ current bool }{true}

func TestEveryRouteIsInTheAuthorizationMatrix(t *testing.T) {
	e := testapp.Start(t, testapp.Options{NoDemo: true})
	var covered []string
	for _, c := range matrix {
		covered = append(covered, c.route)
	}
	for _, r := range e.App.Server.Routes() {
		if !slices.Contains(covered, r) {
			t.Errorf("route %s has no row in the authorization matrix", r)
		}
	}
	for _, c := range covered {
		if !slices.Contains(e.App.Server.Routes(), c) {
			t.Errorf("the matrix names %s, which is not a route", c)
		}
	}
}

// matrixEnv is a server with the matrix's actors.
type matrixEnv struct {
	*testapp.Env
	t      *testing.T
	hash   string
	ids    [actors]string
	tokens [actors]string
	n      atomic.Int64
}

func newMatrixEnv(t *testing.T, e *testapp.Env) *matrixEnv {
	ctx := context.Background()
	m := &matrixEnv{Env: e, t: t}
	var err error
	if m.hash, err = e.App.Users.HashPassword(ctx, "matrix password"); err != nil {
		t.Fatal(err)
	}
	for a, email := range map[int]string{admin: "admin@demo.plein", manager: "manager@demo.plein", employee: "employee@demo.plein", external: "external@demo.plein"} {
		m.ids[a], m.tokens[a] = e.UserID(email), e.Token(email)
	}
	for _, a := range []int{member, reader, disabled} {
		m.ids[a] = m.user("matrix-"+strings.ReplaceAll(actorNames[a], " ", "-")+"@test.plein", identity.RoleEmployee)
		tok, err := e.App.Users.IssueToken(ctx, m.ids[a])
		if err != nil {
			t.Fatal(err)
		}
		m.tokens[a] = tok.Token
	}
	yes := true
	if _, err := e.App.Users.UpdateUser(ctx, m.ids[disabled], identity.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *matrixEnv) user(email string, roles ...string) string {
	u, err := m.App.Users.CreateUserWithHash(context.Background(), email, "Matrix "+email, m.hash, roles)
	if err != nil {
		m.t.Fatalf("user %s: %v", email, err)
	}
	return u.ID
}

func (m *matrixEnv) fixture() fixture {
	ctx := context.Background()
	f := fixture{n: m.n.Add(1)}
	f.target = m.user(fmt.Sprintf("matrix-target-%d@test.plein", f.n), identity.RoleEmployee)
	sp, err := m.App.Spaces.Create(ctx, m.ids[admin], spaces.NewSpace{Name: fmt.Sprintf("Matrix %d", f.n), Visibility: spaces.Members})
	if err != nil {
		m.t.Fatal(err)
	}
	f.space = sp.ID
	for user, role := range map[string]string{m.ids[member]: spaces.Member, m.ids[reader]: spaces.Reader, f.target: spaces.Member} {
		if _, err := m.App.Spaces.SetMember(ctx, f.space, user, role); err != nil {
			m.t.Fatal(err)
		}
	}
	f.role = fmt.Sprintf("matrix-role-%d", f.n)
	if _, err := m.App.Users.CreateRole(ctx, f.role, "Matrix role", ""); err != nil {
		m.t.Fatal(err)
	}
	it, err := m.App.Content.Create(ctx, f.target, f.space, content.NewItem{Kind: content.KindPost, Body: "Hallo allemaal"})
	if err != nil {
		m.t.Fatal(err)
	}
	f.item = it.ID
	cm, err := m.App.Content.AddComment(ctx, f.target, f.item, "Eerste!", nil)
	if err != nil {
		m.t.Fatal(err)
	}
	f.comment = cm.ID
	f.doc = m.document(f, "agenda.txt")
	f.trashed = m.document(f, "oud.txt")
	if err := m.App.Documents.Delete(ctx, f.target, f.trashed); err != nil {
		m.t.Fatal(err)
	}
	return f
}

// document uploads a small document by the fixture's target to its space.
func (m *matrixEnv) document(f fixture, name string) string {
	ctx := context.Background()
	st, err := m.App.Documents.Stage(ctx, name, strings.NewReader("Agenda: 1. opening"))
	if err != nil {
		m.t.Fatal(err)
	}
	d, err := m.App.Documents.Create(ctx, f.target, f.space, "", "", st)
	if err != nil {
		m.t.Fatal(err)
	}
	return d.ID
}

// expandBody fills a case's body from the fixture.
func (m *matrixEnv) expandBody(f fixture, body any) any {
	switch b := body.(type) {
	case nil:
		return nil
	case map[string]string:
		out := map[string]string{}
		for k, v := range b {
			out[k] = f.expand(v)
		}
		return out
	case testapp.Form:
		return b
	case map[string]any:
		out := map[string]any{}
		for k, v := range b {
			if s, ok := v.(string); ok {
				v = f.expand(s)
			}
			out[k] = v
		}
		return out
	}
	if body == any(currentPolicy) {
		return m.As("admin@demo.plein", "GET", "/api/v1/admin/policies", nil).Map(m.t)
	}
	m.t.Fatalf("unknown body %T", body)
	return nil
}

func TestAuthorization(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		m := newMatrixEnv(t, e)
		t.Run("matrix", func(t *testing.T) { m.t = t; testMatrix(t, m) })
		t.Run("bola", func(t *testing.T) { m.t = t; testBOLA(t, m) })
		t.Run("externals", func(t *testing.T) { m.t = t; testExternals(t, m) })
		t.Run("disabled", func(t *testing.T) { m.t = t; testDisabledStopsAtOnce(t, m) })
		t.Run("login limit", func(t *testing.T) { m.t = t; testLoginLimit(t, m) })
	})
}

func testMatrix(t *testing.T, m *matrixEnv) {
	ctx := context.Background()
	for _, c := range matrix {
		for a := range actors {
			f := m.fixture()
			method := strings.Fields(c.route)[0]
			token := m.tokens[a]
			if c.fresh && a != disabled && a != anonymous {
				s, err := m.App.Users.IssueToken(ctx, m.ids[a])
				if err != nil {
					t.Fatal(err)
				}
				token = s.Token
			}
			got := m.Do(method, f.expand(c.path), token, m.expandBody(f, c.body))
			if got.Status != c.expect[a] {
				t.Errorf("%s as %s: %d, want %d: %s", c.route, actorNames[a], got.Status, c.expect[a], got.Body)
				continue
			}
			if got.Status >= 400 && got.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s as %s: %d with content type %q, want a problem", c.route, actorNames[a], got.Status, got.Header.Get("Content-Type"))
			}
		}
	}
}

// testBOLA tries every object route on objects of other users, with tokens that are
// valid, just not for that object.
func testBOLA(t *testing.T, m *matrixEnv) {
	alice, bob := "employee@demo.plein", "secretary@demo.plein"
	aliceID, bobID := m.UserID(alice), m.UserID(bob)
	create := func(as, name, vis string) string {
		r := m.As(as, "POST", "/api/v1/spaces", map[string]any{"name": name, "visibility": vis})
		if r.Status != 201 {
			t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
		}
		return r.Map(t)["id"].(string)
	}
	type try struct {
		as, method, path string
		body             any
		want             int
	}
	check := func(tries []try) {
		t.Helper()
		for _, c := range tries {
			if r := m.As(c.as, c.method, c.path, c.body); r.Status != c.want {
				t.Errorf("%s %s as %s: %d, want %d: %s", c.method, c.path, c.as, r.Status, c.want, r.Body)
			}
		}
	}

	private := create(alice, "Alice private", "private")
	membersOnly := create(alice, "Alice members", "members")
	open := create(alice, "Alice open", "open")
	bobs := create(bob, "Bob private", "private")
	p := "/api/v1/spaces/"
	check([]try{
		// Alice's private space does not exist for Bob, whatever he tries.
		{bob, "GET", p + private, nil, hidden},
		{bob, "PATCH", p + private, map[string]any{"name": "Mine now"}, hidden},
		{bob, "DELETE", p + private, nil, hidden},
		{bob, "GET", p + private + "/members", nil, hidden},
		{bob, "PUT", p + private + "/members/" + bobID, map[string]any{"role": "owner"}, hidden},
		{bob, "PUT", p + private + "/members/" + bobID, map[string]any{"role": "member"}, hidden},
		{bob, "DELETE", p + private + "/members/" + aliceID, nil, hidden},
		// Nor Bob's for Alice, though she owns spaces of her own.
		{alice, "GET", p + bobs, nil, hidden},
		{alice, "PUT", p + bobs + "/members/" + aliceID, map[string]any{"role": "owner"}, hidden},
		// A members-only space: Bob sees it exists, and nothing else.
		{bob, "GET", p + membersOnly, nil, 200},
		{bob, "GET", p + membersOnly + "/members", nil, forbid},
		{bob, "PUT", p + membersOnly + "/members/" + bobID, map[string]any{"role": "member"}, forbid},
		{bob, "PATCH", p + membersOnly, map[string]any{"visibility": "open"}, forbid},
		{bob, "DELETE", p + membersOnly + "/members/" + aliceID, nil, forbid},
		// An open space: Bob may join as a member, not as its owner, and may not remove Alice.
		{bob, "PUT", p + open + "/members/" + bobID, map[string]any{"role": "owner"}, forbid},
		{bob, "PUT", p + open + "/members/" + bobID, map[string]any{"role": "member"}, 201},
		{bob, "PUT", p + open + "/members/" + bobID, map[string]any{"role": "moderator"}, forbid},
		{bob, "DELETE", p + open + "/members/" + aliceID, nil, forbid},
		{bob, "PATCH", p + open, map[string]any{"description": "Bob was here"}, forbid},
		{bob, "DELETE", p + open, nil, forbid},
		{bob, "DELETE", p + open + "/members/" + bobID, nil, 204}, // leaving is his own business
		// Alice's account is not Bob's to read or change; his own he may read, not promote.
		{bob, "GET", "/api/v1/users/" + aliceID, nil, forbid},
		{bob, "GET", "/api/v1/users/" + bobID, nil, 200},
		{bob, "PATCH", "/api/v1/users/" + bobID, map[string]any{"name": "Bob"}, forbid},
		{bob, "PUT", "/api/v1/users/" + bobID + "/roles", map[string]any{"roles": []string{"employee", "admin"}}, forbid},
		{bob, "DELETE", "/api/v1/users/" + aliceID, nil, forbid},
		// Managers run the structure, never credentials or privilege.
		{"manager@demo.plein", "PUT", "/api/v1/users/" + bobID + "/roles", map[string]any{"roles": []string{"employee", "admin"}}, forbid},
		{"manager@demo.plein", "PUT", "/api/v1/users/" + bobID + "/roles", map[string]any{"roles": []string{"employee", "manager"}}, forbid},
		{"manager@demo.plein", "PUT", "/api/v1/users/" + m.ids[admin] + "/roles", map[string]any{"roles": []string{"employee"}}, forbid},
		{"manager@demo.plein", "PATCH", "/api/v1/users/" + bobID, map[string]any{"password": "taken over 123"}, forbid},
		{"manager@demo.plein", "DELETE", "/api/v1/users/" + m.ids[admin], nil, forbid},
		{"manager@demo.plein", "PUT", "/api/v1/users/" + bobID + "/roles", map[string]any{"roles": []string{"employee", "secretariat", "dept-legal"}}, 200},
		// Alice's own spaces stay hers.
		{alice, "PATCH", p + private, map[string]any{"description": "still mine"}, 200},
		{alice, "DELETE", p + private, nil, 204},
	})
}

// testExternals checks that external parties read only the spaces opened to them.
func testExternals(t *testing.T, m *matrixEnv) {
	consultant := ""
	for email, u := range m.Org.Users {
		if slices.Contains(u.Roles, "external-consultant") {
			consultant = email
			break
		}
	}
	for email, want := range map[string][]string{
		"external@demo.plein": {"Project Nieuw Gemeentehuis", "Samenwerking met externen"}, // a contractor in the town hall project
		consultant:            {"Samenwerking met externen"},
	} {
		var list struct {
			Items []struct{ ID, Name string }
		}
		m.As(email, "GET", "/api/v1/spaces?limit=100", nil).JSON(t, &list)
		var got []string
		for _, s := range list.Items {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s lists %q, want %q", email, got, want)
		}
		for name, sp := range m.Org.Spaces {
			status := m.As(email, "GET", "/api/v1/spaces/"+sp.ID, nil).Status
			if slices.Contains(want, name) != (status == 200) || (status != 200 && status != hidden) {
				t.Errorf("%s GET space %q: %d", email, name, status)
			}
		}
	}
}

// testDisabledStopsAtOnce disables a user with a warm token: the very next request fails.
func testDisabledStopsAtOnce(t *testing.T, m *matrixEnv) {
	id := m.user("matrix-soon-disabled@test.plein", identity.RoleEmployee)
	s, err := m.App.Users.IssueToken(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // warm every cache on the way
		if r := m.Do("GET", "/api/v1/spaces", s.Token, nil); r.Status != 200 {
			t.Fatalf("before: %d", r.Status)
		}
	}
	if r := m.As("admin@demo.plein", "PATCH", "/api/v1/users/"+id, map[string]any{"disabled": true}); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := m.Do("GET", "/api/v1/spaces", s.Token, nil); r.Status != unauth {
		t.Fatalf("the disabled user's token answered %d", r.Status)
	}
	// Enabling the account again does not bring old tokens back.
	if r := m.As("admin@demo.plein", "PATCH", "/api/v1/users/"+id, map[string]any{"disabled": false}); r.Status != 200 {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	if r := m.Do("GET", "/api/v1/me", s.Token, nil); r.Status != unauth {
		t.Fatalf("a token revoked by disabling answered %d after enabling", r.Status)
	}
}

// testLoginLimit fails ten logins from one address: the eleventh attempt gets 429, even
// with the right password. It runs last: the limit holds for a minute.
func testLoginLimit(t *testing.T, m *matrixEnv) {
	for i := range 10 {
		r := m.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": fmt.Sprintf("nobody-%d@demo.plein", i), "password": "guess guess guess"})
		if r.Status != unauth {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := m.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "employee@demo.plein", "password": "plein-demo"})
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the 11th login: %d (Retry-After %q) %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
}

// TestHostileTextIsA4xxOnEveryRoute sends every route, as an admin, NUL and control
// characters where it takes text: in each path parameter, in each string of its body
// and in query values. Every answer is a 4xx problem (or 204 for an idempotent DELETE of
// what is not there), on both dialects: PostgreSQL refuses NUL in text, and that must
// never surface as a 500.
func TestHostileTextIsA4xxOnEveryRoute(t *testing.T) {
	testapp.Each(t, testapp.Options{}, func(t *testing.T, e *testapp.Env) {
		m := newMatrixEnv(t, e)
		m.t = t
		check := func(what, method, path string, body any) {
			t.Helper()
			r := m.Do(method, path, m.tokens[admin], body)
			if method == "DELETE" && r.Status == 204 {
				return
			}
			if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %s %s: %d %s", what, method, path, r.Status, r.Body)
			}
		}
		for _, c := range matrix {
			method := strings.Fields(c.route)[0]
			f := m.fixture()
			for _, param := range []string{"{space}", "{target}", "{role}", "{item}", "{comment}", "{doc}", "{trashed}", "bookmarks"} {
				if strings.Contains(c.path, param) {
					path := strings.Replace(c.path, param, "x%00y", 1)
					check("path "+param, method, f.expand(path), m.expandBody(f, c.body))
				}
			}
			if b, ok := m.expandBody(f, c.body).(map[string]any); ok {
				for k, v := range b {
					if _, isText := v.(string); isText {
						hostile := maps.Clone(b)
						hostile[k] = "a\u0000b"
						check("body "+k, method, f.expand(c.path), hostile)
					}
				}
			}
			if b, ok := m.expandBody(f, c.body).(map[string]string); ok {
				for k := range b {
					hostile := maps.Clone(b)
					hostile[k] = "a\u0000b"
					check("body "+k, method, f.expand(c.path), hostile)
				}
			}
		}
		for _, path := range []string{"/api/v1/feed?tag=a%00b", "/api/v1/feed?kind=a%01b", "/api/v1/search?q=a%00b",
			"/api/v1/users?role=a%00b", "/api/v1/users?cursor=WyJhXHUwMDAwYiJd", "/api/v1/feed?cursor=WyIxIiwiYVx1MDAwMGIiXQ",
			"/api/v1/spaces?cursor=%ff", "/api/v1/features?space=a%00b", "/api/v1/documents/x/content?version=%00",
			"/api/v1/spaces/x/trash?cursor=%ff"} {
			check("query", "GET", path, nil)
		}
	})
}
