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
	"github.com/pleinhq/plein/sdk/pluginrpc"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// hostAPI is the host API of the plugin "qa" over the real content service and
// authorizer, with two employees, ann and bob, and a members-only space of ann's
// holding a post.
type hostAPI struct {
	svc          pluginrpc.HostService
	db           *store.DB
	cs           *content.Service
	users        *identity.Service
	annID, bobID string
	ann, bob     string // their call handles
	team         spaces.Space
	post         content.Item
	newUser      func(email string, roles ...string) string
	handle       func(userID string) string
}

func newHostAPI(t *testing.T, db *store.DB) *hostAPI {
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
	newUser := func(email string, roles ...string) string {
		if roles == nil {
			roles = []string{"employee"}
		}
		u, err := users.CreateUser(ctx, identity.NewUser{Email: email, Name: email[:3], Password: "correct horse battery", Roles: roles})
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
	return &hostAPI{svc: svc, db: db, cs: cs, users: users, annID: annID, bobID: bobID, ann: ann, bob: bob, team: team, post: post,
		newUser: newUser, handle: handle}
}

// TestTheHostAPIReadsAndWritesContentAsTheUser runs the host API of a plugin over the
// real content service and authorizer: what a user may not read does not exist for
// the plugin acting as them.
func TestTheHostAPIReadsAndWritesContentAsTheUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHostAPI(t, db)
		svc, cs, annID, ann, bob, team, post := h.svc, h.cs, h.annID, h.ann, h.bob, h.team, h.post

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

// TestItemsOutsideSpacesReachOnlyTheirGrantees: a plugin's item without a space (a
// project of a few colleagues) is read by its restriction's grantees and its author,
// by nobody else (admins included), and keeps a restriction for as long as it lives.
func TestItemsOutsideSpacesReachOnlyTheirGrantees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHostAPI(t, db)
		carlID, adminID := h.newUser("carl@example.org"), h.newUser("root@example.org", "admin")
		carl, admin := h.handle(carlID), h.handle(adminID)
		if _, err := h.svc.ItemRegister(ctx, h.ann, sdk.NewItem{Kind: "project", Title: "For all?"}); !errors.Is(err, sdk.ErrInvalid) {
			t.Fatalf("an unrestricted item outside spaces: %v", err)
		}
		id, err := h.svc.ItemRegister(ctx, h.ann, sdk.NewItem{Kind: "project", Title: "Fietsplan", Body: "Samen fietsen",
			Restricted: []string{"user:" + h.bobID}})
		if err != nil {
			t.Fatal(err)
		}
		reads := func(handle string) bool {
			_, getErr := h.svc.ItemGet(ctx, handle, id)
			if getErr != nil && !errors.Is(getErr, sdk.ErrNotFound) {
				t.Fatal(getErr)
			}
			hits, err := h.svc.ItemSearch(ctx, handle, sdk.ItemQuery{Query: "fietsen", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if (getErr == nil) != (len(hits) == 1) {
				t.Fatalf("search and get disagree: %v", hits)
			}
			// Authorize reads the item's head, not the item: the same answer.
			if may, err := h.svc.Authorize(ctx, handle, "read", id); err != nil || may != (getErr == nil) {
				t.Fatalf("authorize read: %v %v, get: %v", may, err, getErr)
			}
			return len(hits) == 1
		}
		for who, want := range map[string]bool{h.ann: true, h.bob: true, carl: false, admin: false} {
			if reads(who) != want {
				t.Errorf("%s reads: %v, want %v", who, !want, want)
			}
		}
		if it, err := h.svc.ItemGet(ctx, h.bob, id); err != nil || it.SpaceID != "" || it.Owner != "qa" {
			t.Fatalf("bob's read: %+v %v", it, err)
		}
		if err := h.svc.ItemUpdate(ctx, "", id, sdk.ItemUpdate{Title: "Fietsplan"}); !errors.Is(err, sdk.ErrInvalid) {
			t.Fatalf("lifting the restriction of an item outside spaces: %v", err)
		}
		if err := h.svc.ItemUpdate(ctx, "", id, sdk.ItemUpdate{Title: "Fietsplan", Body: "Samen fietsen", Restricted: []string{"user:" + carlID}}); err != nil {
			t.Fatal(err)
		}
		if reads(h.bob) || !reads(carl) {
			t.Fatal("the new restriction is not the one that counts")
		}
		// Its author's account gone, the plugin still changes it in the background.
		if err := h.users.DeleteUser(ctx, h.annID); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.ItemUpdate(ctx, "", id, sdk.ItemUpdate{Title: "Fietsplan 2", Body: "Samen fietsen", Restricted: []string{"user:" + carlID}}); err != nil {
			t.Fatalf("background update without author or editor: %v", err)
		}
		if it, err := h.svc.ItemGet(ctx, carl, id); err != nil || it.Title != "Fietsplan 2" || it.AuthorID != "" {
			t.Fatalf("after the update: %+v %v", it, err)
		}
		if err := h.svc.ItemDelete(ctx, "", id); err != nil {
			t.Fatal(err)
		}
		var space string
		if err := db.QueryRowContext(ctx, `SELECT space_id FROM events WHERE item_id = $1 AND type = 'item.deleted'`, id).Scan(&space); err != nil || space != "" {
			t.Fatalf("the deletion event: %q %v", space, err)
		}
	})
}
