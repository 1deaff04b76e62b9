package authz_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one replica's domain services, wired as core/app wires them.
type node struct {
	db      *store.DB
	changes *changes.Notifier
	users   *identity.Service
	spaces  *spaces.Service
	authz   *authz.Authorizer
}

// newNode builds the services on db and b, and follows the other replicas' changes.
func newNode(t testing.TB, db *store.DB, b bus.Bus) *node {
	t.Helper()
	ctx := context.Background()
	n := changes.New(b, quiet)
	users := identity.New(db, ratelimit.NewMemory(), n, quiet, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
	if err := users.EnsureBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	sp := spaces.New(db, n)
	az, err := authz.New(ctx, db, authzsource.New(users, sp), n, quiet)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := n.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &node{db: db, changes: n, users: users, spaces: sp, authz: az}
}

// memoryBus returns an in-process bus, closed when the test ends.
func memoryBus(t testing.TB) *bus.Memory {
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// demoOrg is a node with the demo organisation seeded.
type demoOrg struct {
	*node
	org *demo.Org
}

// seedDemo seeds the demo organisation on db through a new node on b.
func seedDemo(t testing.TB, db *store.DB, b bus.Bus) *demoOrg {
	t.Helper()
	n := newNode(t, db, b)
	org, err := demo.Seed(context.Background(), demo.Services{Users: n.users, Spaces: n.spaces}, "demo password 1")
	if err != nil {
		t.Fatal(err)
	}
	return &demoOrg{node: n, org: org}
}

// user returns the id of the demo user whose email starts with local.
func (d *demoOrg) user(t testing.TB, local string) string {
	t.Helper()
	u, ok := d.org.Users[local+"@"+demo.Domain]
	if !ok {
		t.Fatalf("no demo user %s", local)
	}
	return u.ID
}

// space returns the id of the demo space with the name.
func (d *demoOrg) space(t testing.TB, name string) string {
	t.Helper()
	sp, ok := d.org.Spaces[name]
	if !ok {
		t.Fatalf("no demo space %q", name)
	}
	return sp.ID
}

// principal loads the user as the authorizer sees them.
func principal(t testing.TB, az *authz.Authorizer, userID string) *authz.Principal {
	t.Helper()
	p, err := az.Principal(context.Background(), userID)
	if err != nil {
		t.Fatalf("principal %s: %v", userID, err)
	}
	return p
}

// eventually retries cond until it holds or a few seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantKind(t testing.TB, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("got %v, want a fault of kind %d", err, kind)
	}
}

// someone returns the id of the demo user with the lowest email who matches.
func (d *demoOrg) someone(t testing.TB, what string, match func(u identity.User) bool) string {
	t.Helper()
	best := ""
	for email, u := range d.org.Users {
		if match(u) && (best == "" || email < best) {
			best = email
		}
	}
	if best == "" {
		t.Fatalf("no demo user is %s", what)
	}
	return d.org.Users[best].ID
}

// spaceIDs returns the ids of the named demo spaces, sorted as a SpaceSet holds them.
func (d *demoOrg) spaceIDs(t testing.TB, names ...string) []string {
	t.Helper()
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = d.space(t, n)
	}
	slices.Sort(ids)
	return ids
}

// spaceNames names the spaces of a set, for failure messages.
func (d *demoOrg) spaceNames(ids []string) []string {
	byID := map[string]string{}
	for name, sp := range d.org.Spaces {
		byID[sp.ID] = name
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
		if out[i] == "" {
			out[i] = id
		}
	}
	return out
}
