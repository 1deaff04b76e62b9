package contentitems_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/core/pluginhost/contentitems"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// TestTheHostAPIReadsAndWritesContentAsTheUser runs the host API of a plugin over the
// real content service and authorizer: what a user may not read does not exist for
// the plugin acting as them.
func TestTheHostAPIReadsAndWritesContentAsTheUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := plugintest.Logger(t)
		b := bus.NewMemory()
		t.Cleanup(func() { _ = b.Close() })
		n := changes.New(b, log)
		users := identity.New(db, ratelimit.NewMemory(), n, log, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
		if err := users.EnsureBuiltinRoles(ctx); err != nil {
			t.Fatal(err)
		}
		sp := spaces.New(db, n)
		az, err := authz.New(ctx, db, authzsource.New(users, sp), n, log)
		if err != nil {
			t.Fatal(err)
		}
		cs := content.New(db, content.Options{})
		newUser := func(email string) string {
			u, err := users.CreateUser(ctx, identity.NewUser{Email: email, Name: email[:3], Password: "correct horse battery", Roles: []string{"employee"}})
			if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		annID, bobID := newUser("ann@example.org"), newUser("bob@example.org")
		team, err := sp.Create(ctx, annID, spaces.NewSpace{Name: "Team", Visibility: spaces.Members})
		if err != nil {
			t.Fatal(err)
		}
		n.Publish(ctx, changes.Change{Kind: changes.All}) // the authorizer learns the new space and membership
		post, err := cs.Create(ctx, annID, team.ID, content.NewItem{Kind: content.KindPost, Body: "Team only"})
		if err != nil {
			t.Fatal(err)
		}

		blobs, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		calls := pluginhost.NewCalls(nil)
		svc := pluginhost.NewHostService(pluginhost.HostServiceConfig{Plugin: "qa", DB: db, Blobs: blobs,
			Items: contentitems.New(cs, db), Authz: az, Calls: calls, Log: log})
		handle := func(userID string) string {
			p, err := az.Principal(ctx, userID)
			if err != nil {
				t.Fatal(err)
			}
			c, end := calls.Begin("qa", p, az.Readable(p), "req", time.Now().Add(time.Minute))
			t.Cleanup(end)
			return c.Handle
		}
		ann, bob := handle(annID), handle(bobID)

		if _, err := svc.ItemGet(ctx, bob, post.ID); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("bob read a members-only post: %v", err)
		}
		if ok, err := svc.Authorize(ctx, bob, "read", post.ID); ok || err != nil {
			t.Fatalf("bob authorized: %v %v", ok, err)
		}
		if it, err := svc.ItemGet(ctx, ann, post.ID); err != nil || it.Body != "Team only" || it.AuthorID != annID || it.Owner != "core" {
			t.Fatalf("ann's read: %+v %v", it, err)
		}
		if ok, _ := svc.Authorize(ctx, ann, "edit", post.ID); !ok {
			t.Fatal("ann may not edit her own post")
		}
		// Employees see a members-only space's name, not its content.
		if _, err := svc.ItemRegister(ctx, bob, sdk.NewItem{Kind: "question", SpaceID: team.ID, Title: "Hi?"}); !errors.Is(err, sdk.ErrForbidden) {
			t.Fatalf("bob registered in a space he is no member of: %v", err)
		}

		q, err := svc.ItemRegister(ctx, ann, sdk.NewItem{Kind: "question", SpaceID: team.ID, Title: "Budget?", Body: "Who knows",
			Restricted: []string{"user:" + annID}})
		if err != nil {
			t.Fatal(err)
		}
		it, err := svc.ItemGet(ctx, ann, q)
		if err != nil || it.Owner != "qa" || it.Kind != "question" || len(it.Restricted) != 1 || it.Restricted[0] != "user:"+annID {
			t.Fatalf("registered %+v %v", it, err)
		}
		if hits, err := svc.ItemSearch(ctx, ann, sdk.ItemQuery{Query: "budget", Limit: 10}); err != nil || len(hits) != 1 || hits[0].ID != q {
			t.Fatalf("ann's search: %+v %v", hits, err)
		}
		if hits, err := svc.ItemSearch(ctx, ann, sdk.ItemQuery{Kind: "question", Limit: 10}); err != nil || len(hits) != 1 {
			t.Fatalf("ann's listing: %+v %v", hits, err)
		}
		if err := svc.ItemUpdate(ctx, "", q, sdk.ItemUpdate{Title: "Budget 2027?", Body: "Still nobody"}); err != nil {
			t.Fatalf("background update of its own item: %v", err)
		}
		if it, _ := svc.ItemGet(ctx, ann, q); it.Title != "Budget 2027?" || it.Restricted != nil {
			t.Fatalf("after the update: %+v", it)
		}
		if _, err := svc.ItemGet(ctx, "", post.ID); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("background read of a core item: %v", err)
		}
		if err := svc.ItemDelete(ctx, ann, post.ID); !errors.Is(err, sdk.ErrNotFound) {
			t.Fatalf("deleted a core item: %v", err)
		}
		if err := svc.ItemDelete(ctx, ann, q); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Load(ctx, q); err == nil {
			t.Fatal("the item is still there")
		}
		var typ, payload string
		var events int
		if err := db.QueryRowContext(ctx, `SELECT type, payload, (SELECT COUNT(*) FROM events WHERE item_id = $1) FROM events WHERE item_id = $1`, q).Scan(&typ, &payload, &events); err != nil ||
			typ != pluginhost.EventItemDeleted || events != 1 || !strings.Contains(payload, `"owner"`) {
			t.Fatalf("outbox after the delete: %q %q %d %v", typ, payload, events, err)
		}
	})
}
