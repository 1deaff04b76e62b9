package content_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a fake time that moves on a millisecond at every reading, so every write
// gets an instant of its own and ordering by time is exact.
type clock struct{ ticks atomic.Int64 }

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func (c *clock) now() time.Time {
	return epoch.Add(time.Duration(c.ticks.Add(1)) * time.Millisecond)
}

// env is a content service with the users and spaces its foreign keys need.
type env struct {
	ctx     context.Context
	db      *store.DB
	changes *changes.Notifier
	users   *identity.Service
	spaces  *spaces.Service
	svc     *content.Service
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	n := changes.New(b, quiet)
	users := identity.New(db, ratelimit.NewMemory(), n, quiet, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
	if err := users.EnsureBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	svc := content.New(db, content.Options{Language: "dutch"})
	svc.SetClock((&clock{}).now)
	return &env{ctx: ctx, db: db, changes: n, users: users, spaces: spaces.New(db, n), svc: svc}
}

func (e *env) user(t testing.TB, email string, roles ...string) identity.User {
	t.Helper()
	name := strings.ToUpper(email[:1]) + email[1:strings.IndexByte(email, '@')]
	u, err := e.users.CreateUser(e.ctx, identity.NewUser{Email: email, Name: name, Password: "correct horse battery", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) role(t testing.TB, name string) {
	t.Helper()
	if _, err := e.users.CreateRole(e.ctx, name, name, ""); err != nil {
		t.Fatal(err)
	}
}

func (e *env) space(t testing.TB, creator, name string) string {
	t.Helper()
	sp, err := e.spaces.Create(e.ctx, creator, spaces.NewSpace{Name: name, Visibility: spaces.Members})
	if err != nil {
		t.Fatal(err)
	}
	return sp.ID
}

func (e *env) create(t testing.TB, author, spaceID string, in content.NewItem) content.Item {
	t.Helper()
	it, err := e.svc.Create(e.ctx, author, spaceID, in)
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return it
}

func (e *env) post(t testing.TB, author, spaceID, body string) content.Item {
	t.Helper()
	return e.create(t, author, spaceID, content.NewItem{Kind: content.KindPost, Body: body})
}

func (e *env) page(t testing.TB, author, spaceID, title string, parent *string) content.Item {
	t.Helper()
	return e.create(t, author, spaceID, content.NewItem{Kind: content.KindPage, Title: title, Body: "Over " + title, ParentID: parent})
}

func (e *env) comment(t testing.TB, author, itemID, body string, parent *string) content.Comment {
	t.Helper()
	c, err := e.svc.AddComment(e.ctx, author, itemID, body, parent)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) get(t testing.TB, id string) content.Item {
	t.Helper()
	it, err := e.svc.GetAny(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// column returns the first column of every row a query returns.
func (e *env) column(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := e.db.QueryContext(e.ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRowContext(e.ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// reader is the scope of u reading the given spaces.
func reader(u identity.User, spaceIDs ...string) content.Scope {
	return content.Scope{UserID: u.ID, Roles: u.Roles, Spaces: spaceIDs}
}

func wantKind(t testing.TB, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("got %v, want a fault of kind %d", err, kind)
	}
}

func ptr[T any](v T) *T { return &v }

func ids(items []content.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func hitIDs(hits []content.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// search returns every hit of q for sc, walking all pages.
func (e *env) search(t testing.TB, sc content.Scope, sq content.SearchQuery) []content.Hit {
	t.Helper()
	if sq.Limit == 0 {
		sq.Limit = 50
	}
	var all []content.Hit
	for {
		hits, more, err := e.svc.Search(e.ctx, sc, sq)
		if err != nil {
			t.Fatalf("search %q: %v", sq.Q, err)
		}
		all = append(all, hits...)
		if !more {
			return all
		}
		last := hits[len(hits)-1]
		sq.AfterRank, sq.AfterID = ptr(last.Rank), last.ID
	}
}

// feed returns the whole feed for sc, walking all pages.
func (e *env) feed(t testing.TB, sc content.Scope, fq content.FeedQuery) []content.Item {
	t.Helper()
	if fq.Limit == 0 {
		fq.Limit = 50
	}
	var all []content.Item
	for {
		items, more, err := e.svc.Feed(e.ctx, sc, fq)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if !more {
			return all
		}
		last := items[len(items)-1]
		fq.BeforeCreated, fq.BeforeID = store.Micros(last.CreatedAt), last.ID
	}
}

// demoEnv is an env with the demo organisation and the real authorizer.
type demoEnv struct {
	*env
	org   *demo.Org
	authz *authz.Authorizer
}

func seedDemo(t testing.TB, db *store.DB) *demoEnv {
	t.Helper()
	e := newEnv(t, db)
	org, err := demo.Seed(e.ctx, demo.Services{Users: e.users, Spaces: e.spaces}, "pw-demo-123")
	if err != nil {
		t.Fatal(err)
	}
	a, err := authz.New(e.ctx, db, authzsource.New(e.users, e.spaces), e.changes, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return &demoEnv{env: e, org: org, authz: a}
}

// scope is what the API computes for the user: the spaces the authorizer lets them read.
func (d *demoEnv) scope(t testing.TB, userID string) content.Scope {
	t.Helper()
	p, err := d.authz.Principal(d.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	set := d.authz.Readable(p)
	return content.Scope{UserID: p.UserID, Roles: p.Roles, AllSpaces: set.All, Spaces: set.IDs}
}
