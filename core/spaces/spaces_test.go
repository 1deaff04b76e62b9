package spaces_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/core/uid"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// changeLog records every change the services announce.
type changeLog struct {
	mu  sync.Mutex
	all []changes.Change
}

func (l *changeLog) add(c changes.Change) { l.mu.Lock(); l.all = append(l.all, c); l.mu.Unlock() }

func (l *changeLog) has(c changes.Change) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.all, func(x changes.Change) bool { return reflect.DeepEqual(x, c) })
}

func (l *changeLog) reset() { l.mu.Lock(); l.all = nil; l.mu.Unlock() }

// env is the spaces service with the identity service to make users and roles.
type env struct {
	db     *store.DB
	spaces *spaces.Service
	users  *identity.Service
	log    *changeLog
	made   atomic.Int64 // users made, to keep names unique
}

// TestService runs the service's tests on one database per backend (each migration of a
// PostgreSQL schema costs a few hundred milliseconds). Every subtest makes its own users
// and spaces.
func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			name string
			fn   func(*testing.T, *env)
		}{
			{"CreateMakesTheCreatorOwner", testCreateSpaceMakesTheCreatorOwner},
			{"CreateRefusesBadInput", testCreateSpaceRefusesBadInput},
			{"GetUnknownSpaceIsNotFound", testGetUnknownSpaceIsNotFound},
			{"Update", testUpdateSpace},
			{"DeleteEndsItsMemberships", testDeleteSpaceEndsItsMemberships},
			{"ListPagesByNameThenID", testListSpacesPagesByNameThenID},
			{"AccessListAndAccessOf", testAccessListAndAccessOf},
			{"SetMember", testSetMember},
			{"RemoveMember", testRemoveMember},
			{"SpaceKeepsAnOwner", testSpaceKeepsAnOwner},
			{"OwnersLeavingTogetherLeaveAnOwner", testOwnersLeavingTogetherLeaveAnOwner},
			{"MembersPageByUserID", testMembersPagesByUserID},
			{"MembershipsOf", testMembershipsOf},
		} {
			t.Run(c.name, func(t *testing.T) { c.fn(t, e) })
		}
	})
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	n := changes.New(b, quiet)
	log := &changeLog{}
	n.Handle(log.add)
	users := identity.New(db, ratelimit.NewMemory(), n, quiet, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
	ctx := context.Background()
	if err := users.EnsureBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"dept-a", "dept-b", "dept-c"} {
		if _, err := users.CreateRole(ctx, r, strings.ToUpper(r), ""); err != nil {
			t.Fatal(err)
		}
	}
	return &env{db: db, spaces: spaces.New(db, n), users: users, log: log}
}

// user makes an employee whose name starts with name; the email is name@example.org.
func (e *env) user(t *testing.T, name string) string {
	t.Helper()
	name = fmt.Sprintf("%s-%d", name, e.made.Add(1))
	u, err := e.users.CreateUser(context.Background(), identity.NewUser{Email: name + "@example.org", Name: name, Password: "correct horse battery", Roles: []string{identity.RoleEmployee}})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (e *env) create(t *testing.T, owner string, in spaces.NewSpace) spaces.Space {
	t.Helper()
	sp, err := e.spaces.Create(context.Background(), owner, in)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func (e *env) countSpaces(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT count(*) FROM spaces`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantKind(t *testing.T, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("got %v, want a fault of kind %d", err, kind)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantKind(t, err, fault.Invalid)
	if f := fault.As(err).Fields; len(f) != 1 || f[0].Name != field {
		t.Fatalf("invalid fields %+v, want %s", f, field)
	}
}

func sameSpace(a, b spaces.Space) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Description == b.Description && a.Visibility == b.Visibility &&
		slices.Equal(a.Roles, b.Roles) && (a.CreatedBy == nil) == (b.CreatedBy == nil) &&
		(a.CreatedBy == nil || *a.CreatedBy == *b.CreatedBy) && a.CreatedAt.Equal(b.CreatedAt)
}

func testCreateSpaceMakesTheCreatorOwner(t *testing.T, e *env) {
	ctx := context.Background()
	ada := e.user(t, "ada")
	e.log.reset()

	sp := e.create(t, ada, spaces.NewSpace{Name: "  Team Ada  ", Description: " Our work. "})
	if sp.Roles == nil {
		t.Fatal("Create returned nil roles, where Get returns an empty list (JSON null, not [])")
	}
	if !uid.Valid(sp.ID) || sp.Name != "Team Ada" || sp.Description != "Our work." || sp.Visibility != spaces.Members ||
		len(sp.Roles) != 0 || sp.CreatedBy == nil || *sp.CreatedBy != ada || sp.CreatedAt.IsZero() || !sp.CreatedAt.Equal(sp.UpdatedAt) {
		t.Fatalf("created %+v", sp)
	}
	got, err := e.spaces.Get(ctx, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSpace(got, sp) {
		t.Fatalf("got %+v, want %+v", got, sp)
	}
	if role, err := e.spaces.MemberRole(ctx, sp.ID, ada); err != nil || role != spaces.Owner {
		t.Fatalf("creator's role %q, %v", role, err)
	}
	if m, err := e.spaces.MembershipsOf(ctx, ada); err != nil || len(m) != 1 || m[sp.ID] != spaces.Owner {
		t.Fatalf("memberships %v, %v", m, err)
	}
	if !e.log.has(changes.Change{Kind: changes.Space, ID: sp.ID}) || !e.log.has(changes.Change{Kind: changes.User, ID: ada}) {
		t.Fatalf("announced %v", e.log.all)
	}

	open := e.create(t, ada, spaces.NewSpace{Name: "Departments", Visibility: spaces.Open, Roles: []string{"dept-b", "dept-a", "dept-b"}})
	if !slices.Equal(open.Roles, []string{"dept-a", "dept-b"}) {
		t.Fatalf("roles %q", open.Roles)
	}
	if got, err := e.spaces.Get(ctx, open.ID); err != nil || !sameSpace(got, open) {
		t.Fatalf("got %+v, %v; want %+v", got, err, open)
	}
	priv := e.create(t, ada, spaces.NewSpace{Name: strings.Repeat("é", 200), Description: strings.Repeat("d", 5000), Visibility: spaces.Private})
	if priv.Visibility != spaces.Private {
		t.Fatalf("visibility %q", priv.Visibility)
	}
}

func testCreateSpaceRefusesBadInput(t *testing.T, e *env) {
	ada := e.user(t, "ada")
	before := e.countSpaces(t)
	manyRoles := make([]string, 101)
	for i := range manyRoles {
		manyRoles[i] = "role-" + strings.Repeat("x", i)
	}
	for _, c := range []struct {
		name  string
		in    spaces.NewSpace
		field string
	}{
		{"no name", spaces.NewSpace{Name: "  "}, "name"},
		{"a long name", spaces.NewSpace{Name: strings.Repeat("n", 201)}, "name"},
		{"a control character", spaces.NewSpace{Name: "a\nb"}, "name"},
		{"a NUL", spaces.NewSpace{Name: "a\x00b"}, "name"},
		{"bad UTF-8", spaces.NewSpace{Name: "a\xffb"}, "name"},
		{"a long description", spaces.NewSpace{Name: "n", Description: strings.Repeat("d", 5001)}, "description"},
		{"bad UTF-8 description", spaces.NewSpace{Name: "n", Description: "\xff"}, "description"},
		{"an unknown visibility", spaces.NewSpace{Name: "n", Visibility: "public"}, "visibility"},
		{"roles on a members-only space", spaces.NewSpace{Name: "n", Visibility: spaces.Members, Roles: []string{"dept-a"}}, "roles"},
		{"roles on a private space", spaces.NewSpace{Name: "n", Visibility: spaces.Private, Roles: []string{"dept-a"}}, "roles"},
		{"roles by default visibility", spaces.NewSpace{Name: "n", Roles: []string{"dept-a"}}, "roles"},
		{"an unknown role", spaces.NewSpace{Name: "n", Visibility: spaces.Open, Roles: []string{"dept-a", "no-such-role"}}, "roles"},
		{"too many roles", spaces.NewSpace{Name: "n", Visibility: spaces.Open, Roles: manyRoles}, "roles"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.spaces.Create(context.Background(), ada, c.in)
			wantField(t, err, c.field)
			if n := e.countSpaces(t); n != before {
				t.Fatalf("a refused space left a row: %d, was %d", n, before)
			}
		})
	}
	// A creator who does not exist cannot own a space.
	if _, err := e.spaces.Create(context.Background(), uid.New(), spaces.NewSpace{Name: "n"}); err == nil {
		t.Fatal("a space was made by nobody")
	}
	if n := e.countSpaces(t); n != before {
		t.Fatalf("a refused space left a row: %d, was %d", n, before)
	}
}

func testGetUnknownSpaceIsNotFound(t *testing.T, e *env) {
	for _, id := range []string{uid.New(), "not-an-id", ""} {
		_, err := e.spaces.Get(context.Background(), id)
		wantKind(t, err, fault.NotFound)
	}
}

func testUpdateSpace(t *testing.T, e *env) {
	ctx := context.Background()
	ada := e.user(t, "ada")
	sp := e.create(t, ada, spaces.NewSpace{Name: "Before", Description: "Kept", Visibility: spaces.Open, Roles: []string{"dept-a"}})
	str := func(s string) *string { return &s }
	vis := func(v spaces.Visibility) *spaces.Visibility { return &v }
	roles := func(r ...string) *[]string { return &r }
	update := func(p spaces.Patch) spaces.Space {
		t.Helper()
		e.log.reset()
		got, err := e.spaces.Update(ctx, sp.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if !e.log.has(changes.Change{Kind: changes.Space, ID: sp.ID}) {
			t.Fatalf("the update was not announced: %v", e.log.all)
		}
		stored, err := e.spaces.Get(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSpace(stored, got) {
			t.Fatalf("returned %+v, stored %+v", got, stored)
		}
		return got
	}

	got := update(spaces.Patch{Name: str("  After ")})
	if got.Name != "After" || got.Description != "Kept" || got.Visibility != spaces.Open || !slices.Equal(got.Roles, []string{"dept-a"}) ||
		!got.CreatedAt.Equal(sp.CreatedAt) || got.UpdatedAt.Before(sp.UpdatedAt) {
		t.Fatalf("after renaming: %+v", got)
	}
	if got = update(spaces.Patch{Roles: roles("dept-c", "dept-b")}); !slices.Equal(got.Roles, []string{"dept-b", "dept-c"}) {
		t.Fatalf("roles %q", got.Roles)
	}
	if got = update(spaces.Patch{Roles: roles()}); len(got.Roles) != 0 || got.Roles == nil {
		t.Fatalf("roles %q, want none", got.Roles)
	}
	update(spaces.Patch{Roles: roles("dept-a")})
	if got = update(spaces.Patch{Visibility: vis(spaces.Members)}); got.Visibility != spaces.Members || len(got.Roles) != 0 {
		t.Fatalf("making it members-only kept the roles: %+v", got)
	}
	if got = update(spaces.Patch{Visibility: vis(spaces.Open), Roles: roles("dept-b"), Description: str("")}); got.Visibility != spaces.Open ||
		!slices.Equal(got.Roles, []string{"dept-b"}) || got.Description != "" {
		t.Fatalf("reopening: %+v", got)
	}

	// Refused patches change nothing, not even the fields that were fine.
	before, _ := e.spaces.Get(ctx, sp.ID)
	for _, c := range []struct {
		name  string
		p     spaces.Patch
		field string
	}{
		{"an empty name", spaces.Patch{Name: str(""), Description: str("changed")}, "name"},
		{"an unknown visibility", spaces.Patch{Visibility: vis("everyone")}, "visibility"},
		{"roles on a private space", spaces.Patch{Visibility: vis(spaces.Private), Roles: roles("dept-a")}, "roles"},
		{"an unknown role", spaces.Patch{Name: str("Renamed"), Roles: roles("dept-a", "nobody-has-this")}, "roles"},
		{"a long description", spaces.Patch{Description: str(strings.Repeat("x", 5001))}, "description"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.spaces.Update(ctx, sp.ID, c.p)
			wantField(t, err, c.field)
			if after, _ := e.spaces.Get(ctx, sp.ID); !sameSpace(after, before) {
				t.Fatalf("a refused patch changed %+v into %+v", before, after)
			}
		})
	}
	update(spaces.Patch{Visibility: vis(spaces.Members)})
	_, err := e.spaces.Update(ctx, sp.ID, spaces.Patch{Roles: roles("dept-a")})
	wantField(t, err, "roles")

	for _, id := range []string{uid.New(), "nope"} {
		_, err := e.spaces.Update(ctx, id, spaces.Patch{Name: str("x")})
		wantKind(t, err, fault.NotFound)
	}
}

func testDeleteSpaceEndsItsMemberships(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	if _, err := e.users.CreateRole(ctx, "doomed-role", "Doomed", ""); err != nil {
		t.Fatal(err)
	}
	sp := e.create(t, ada, spaces.NewSpace{Name: "Doomed", Visibility: spaces.Open, Roles: []string{"doomed-role"}})
	keep := e.create(t, bob, spaces.NewSpace{Name: "Kept"})
	if _, err := e.spaces.SetMember(ctx, sp.ID, bob, spaces.Member); err != nil {
		t.Fatal(err)
	}
	e.log.reset()
	if err := e.spaces.Delete(ctx, sp.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []changes.Change{{Kind: changes.Space, ID: sp.ID}, {Kind: changes.User, ID: ada}, {Kind: changes.User, ID: bob}} {
		if !e.log.has(c) {
			t.Fatalf("%v was not announced: %v", c, e.log.all)
		}
	}
	_, err := e.spaces.Get(ctx, sp.ID)
	wantKind(t, err, fault.NotFound)
	if m, _ := e.spaces.MembershipsOf(ctx, bob); len(m) != 1 || m[keep.ID] != spaces.Owner {
		t.Fatalf("bob's memberships %v", m)
	}
	if m, _ := e.spaces.MembershipsOf(ctx, ada); len(m) != 0 {
		t.Fatalf("ada's memberships %v", m)
	}
	if _, found, err := e.spaces.AccessOf(ctx, sp.ID); err != nil || found {
		t.Fatalf("AccessOf a deleted space: %v %v", found, err)
	}
	// The role that opened it can go now.
	if err := e.users.DeleteRole(ctx, "doomed-role"); err != nil {
		t.Fatalf("deleting the role of a deleted space: %v", err)
	}
	wantKind(t, e.spaces.Delete(ctx, sp.ID), fault.NotFound)
	wantKind(t, e.spaces.Delete(ctx, "nope"), fault.NotFound)
}

func testListSpacesPagesByNameThenID(t *testing.T, e *env) {
	ctx := context.Background()
	ada := e.user(t, "ada")
	var made []spaces.Space
	for _, name := range []string{"Delta", "Alpha", "Charlie", "Bravo", "Alpha", "Echo", "Bravo"} {
		in := spaces.NewSpace{Name: name}
		if name == "Charlie" {
			in = spaces.NewSpace{Name: name, Visibility: spaces.Open, Roles: []string{"dept-b", "dept-a"}}
		}
		made = append(made, e.create(t, ada, in))
	}
	byNameThenID := func(a, b spaces.Space) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	want := slices.SortedFunc(slices.Values(made), byNameThenID)
	ids := make([]string, len(made))
	for i, sp := range made {
		ids[i] = sp.ID
	}
	all := func(q spaces.Query) []spaces.Space {
		t.Helper()
		var out []spaces.Space
		for page := 0; ; page++ {
			list, more, err := e.spaces.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) > q.Limit || more && len(list) != q.Limit {
				t.Fatalf("page of %d with more=%v at limit %d", len(list), more, q.Limit)
			}
			out = append(out, list...)
			if !more {
				return out
			}
			if page > 1000 {
				t.Fatal("paging does not end")
			}
			last := list[len(list)-1]
			q.AfterName, q.AfterID = last.Name, last.ID
		}
	}
	for _, limit := range []int{1, 2, 3, 7, 50} {
		got := all(spaces.Query{IDs: ids, Limit: limit})
		if !slices.EqualFunc(got, want, sameSpace) {
			t.Fatalf("limit %d: got %d spaces in another order", limit, len(got))
		}
	}
	// Every space, other tests' too: pages of any size add up to one sorted list.
	every := all(spaces.Query{All: true, Limit: 1000})
	if len(every) < len(made) || !slices.IsSortedFunc(every, byNameThenID) {
		t.Fatalf("listing all: %d spaces, sorted %v", len(every), slices.IsSortedFunc(every, byNameThenID))
	}
	for _, limit := range []int{1, 4} {
		if got := all(spaces.Query{All: true, Limit: limit}); !slices.EqualFunc(got, every, sameSpace) {
			t.Fatalf("listing all by %d: %d spaces, want %d in the same order", limit, len(got), len(every))
		}
	}
	charlie := made[2]
	some := all(spaces.Query{IDs: []string{made[0].ID, charlie.ID, uid.New()}, Limit: 1})
	if len(some) != 2 || some[0].ID != charlie.ID || some[1].ID != made[0].ID {
		t.Fatalf("filtered: %+v", some)
	}
	if !slices.Equal(some[0].Roles, []string{"dept-a", "dept-b"}) || some[1].Roles == nil {
		t.Fatalf("roles in a list: %q %q", some[0].Roles, some[1].Roles)
	}
	for _, ids := range [][]string{nil, {}} {
		if none := all(spaces.Query{IDs: ids, Limit: 5}); len(none) != 0 {
			t.Fatalf("an empty filter listed %d spaces", len(none))
		}
	}
}

func testAccessListAndAccessOf(t *testing.T, e *env) {
	ctx := context.Background()
	ada := e.user(t, "ada")
	made := []spaces.Space{
		e.create(t, ada, spaces.NewSpace{Name: "Open", Visibility: spaces.Open}),
		e.create(t, ada, spaces.NewSpace{Name: "Depts", Visibility: spaces.Open, Roles: []string{"dept-c", "dept-a", "dept-b"}}),
		e.create(t, ada, spaces.NewSpace{Name: "Members"}),
		e.create(t, ada, spaces.NewSpace{Name: "Private", Visibility: spaces.Private}),
	}
	list, err := e.spaces.AccessList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < len(made) || !slices.IsSortedFunc(list, func(a, b spaces.Access) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatalf("access list %+v", list)
	}
	for _, sp := range made {
		i := slices.IndexFunc(list, func(a spaces.Access) bool { return a.ID == sp.ID })
		if i < 0 || list[i].Visibility != sp.Visibility || !slices.Equal(list[i].Roles, sp.Roles) {
			t.Fatalf("access of %s: %+v, want %+v", sp.Name, list, sp)
		}
		one, found, err := e.spaces.AccessOf(ctx, sp.ID)
		if err != nil || !found || one.ID != sp.ID || one.Visibility != sp.Visibility || !slices.Equal(one.Roles, sp.Roles) {
			t.Fatalf("AccessOf %s: %+v %v %v", sp.Name, one, found, err)
		}
	}
	for _, id := range []string{uid.New(), "nope"} {
		if _, found, err := e.spaces.AccessOf(ctx, id); err != nil || found {
			t.Fatalf("AccessOf(%q): %v %v", id, found, err)
		}
	}
}
