package scale_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/demo/scale"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/pluginhost"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

var quiet = slog.New(slog.DiscardHandler)

const password = "pw-demo-123"

// env is the services a server would have over one database.
type env struct {
	ctx     context.Context
	db      *store.DB
	users   *identity.Service
	content *content.Service
	authz   *authz.Authorizer
	docs    *documents.Service
}

// newEnv seeds the demo organisation into db (unless bare) and builds the services.
func newEnv(t *testing.T, db *store.DB, bare bool) *env {
	t.Helper()
	ctx := context.Background()
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	n := changes.New(b, quiet)
	users := identity.New(db, ratelimit.NewMemory(), n, quiet, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
	if err := users.EnsureBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	sp := spaces.New(db, n)
	cs := content.New(db, content.Options{Language: "dutch"})
	if !bare {
		if _, err := demo.Seed(ctx, demo.Services{Users: users, Spaces: sp, Content: cs}, password); err != nil {
			t.Fatal(err)
		}
	}
	a, err := authz.New(ctx, db, authzsource.New(users, sp), n, quiet)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	docs := documents.New(db, blobs, cs, quiet, documents.Options{})
	return &env{ctx: ctx, db: db, users: users, content: cs, authz: a, docs: docs}
}

func (e *env) deps() scale.Deps {
	return scale.Deps{DB: e.db, Users: e.users, Authz: e.authz, Docs: e.docs, Language: e.content.Language(), Password: password, Seed: 7}
}

func (e *env) scope(t *testing.T, userID string) content.Scope {
	t.Helper()
	p, err := e.authz.Principal(e.ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	set := e.authz.Readable(p)
	return content.Scope{UserID: p.UserID, Roles: p.Roles, AllSpaces: set.All, Spaces: set.IDs}
}

var small = scale.Sizes{Users: 40, Items: 400, Likes: 2000, Documents: 3, DocumentSize: 5000}

func TestSeedGrowsTheDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, false)
		res, err := scale.Seed(e.ctx, e.deps(), small)
		if err != nil {
			t.Fatal(err)
		}
		if res.Users != small.Users || res.Items != small.Items || res.Likes != small.Likes || res.Documents != small.Documents || res.Comments == 0 {
			t.Fatalf("result: %d users, %d items, %d comments, %d likes, %d documents", res.Users, res.Items, res.Comments, res.Likes, res.Documents)
		}
		t.Logf("steps: %v", res.Steps)
		m := res.Manifest
		if len(m.Users) != 40 || m.Users[0] != scale.UserEmail(1) {
			t.Fatalf("manifest users %v", m.Users)
		}
		var items, docs int
		for _, c := range m.Spaces {
			items += len(c.Items)
			docs += len(c.Documents)
		}
		if items != 400 || docs != 3 {
			t.Fatalf("manifest: %d items, %d documents", items, docs)
		}

		// A seeded user logs in with the demo password and reads items, and finds them.
		sess, err := e.users.Login(e.ctx, scale.UserEmail(2), password, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		sc := e.scope(t, sess.User.ID)
		feed, _, err := e.content.Feed(e.ctx, sc, content.FeedQuery{Limit: 20})
		if err != nil || len(feed) != 20 {
			t.Fatalf("feed: %d items, %v", len(feed), err)
		}
		hits, _, err := e.content.Search(e.ctx, e.scope(t, e.admin(t)), content.SearchQuery{Q: "gemeente", Limit: 20})
		if err != nil || len(hits) == 0 {
			t.Fatalf("search: %d hits, %v", len(hits), err)
		}

		// Every manifest item reads as its space's readers read it.
		for spaceID, c := range m.Spaces {
			for _, id := range c.Items[:min(3, len(c.Items))] {
				it, err := e.content.Get(e.ctx, e.scope(t, e.admin(t)), id)
				if err != nil || it.SpaceID != spaceID {
					t.Fatalf("item %s: %+v %v", id, it, err)
				}
			}
			for _, id := range c.Documents {
				doc, err := e.docs.Get(e.ctx, e.scope(t, e.admin(t)), id)
				if err != nil || len(doc.Versions) != 1 || doc.Versions[0].Size != small.DocumentSize {
					t.Fatalf("document %s: %+v %v", id, doc, err)
				}
				r, err := e.docs.Open(e.ctx, doc.Versions[0], 0, -1)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(r)
				r.Close()
				if err != nil || int64(len(data)) != small.DocumentSize {
					t.Fatalf("document bytes: %d, %v", len(data), err)
				}
			}
		}
		checkLikes(t, e, m)

		if _, err := scale.Seed(e.ctx, e.deps(), small); !errors.Is(err, scale.ErrGrown) {
			t.Fatalf("seeding twice: %v, want ErrGrown", err)
		}
	})
}

func (e *env) admin(t *testing.T) string {
	t.Helper()
	var id string
	if err := e.db.QueryRowContext(e.ctx, `SELECT id FROM users WHERE email = $1`, "admin@"+demo.Domain).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// checkLikes reads the seeded likes through the host's own KV and counter code, as
// the likes plugin sees them, and runs the plugin's unlike and like transactions on
// them.
func checkLikes(t *testing.T, e *env, m scale.Manifest) {
	t.Helper()
	host := pluginhost.NewHostService(pluginhost.HostServiceConfig{Plugin: "likes", DB: e.db, Calls: pluginhost.NewCalls(time.Now)})
	var names, ids []string
	for _, c := range m.Spaces {
		for _, id := range c.Items {
			names, ids = append(names, "n/"+id), append(ids, id)
		}
	}
	counts, err := host.CounterBatchGet(e.ctx, "", names)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, v := range counts {
		total += v
	}
	if total != int64(small.Likes) {
		t.Fatalf("counters add up to %d, want %d", total, small.Likes)
	}
	// The most liked item: its likes are l/{item}/{user} with a time, each user a
	// reader of the item, each indexed under u/{user}/{item}.
	top := ids[0]
	for _, id := range ids {
		if counts["n/"+id] > counts["n/"+top] {
			top = id
		}
	}
	likes, _, err := host.KVList(e.ctx, "", "l/"+top+"/", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(likes)) != min(100, counts["n/"+top]) {
		t.Fatalf("%d likes listed for %s, counter %d", len(likes), top, counts["n/"+top])
	}
	item, err := e.content.Get(e.ctx, e.scope(t, e.admin(t)), top)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	for _, l := range likes {
		user = strings.TrimPrefix(l.Key, "l/"+top+"/")
		if !strings.Contains(string(l.Value), `"liked_at":"`) {
			t.Fatalf("like %s holds %q", l.Key, l.Value)
		}
		if sc := e.scope(t, user); !sc.AllSpaces && !contains(sc.Spaces, item.SpaceID) {
			t.Fatalf("%s liked %s in a space they cannot read", user, top)
		}
		if got, err := host.KVBatchGet(e.ctx, "", []string{"u/" + user + "/" + top}); err != nil || len(got) != 1 {
			t.Fatalf("index entry of %s: %v %v", l.Key, got, err)
		}
	}
	// The plugin's unlike, then its like, on a seeded like.
	txn, ok := host.(pluginrpc.TxnService)
	if !ok {
		t.Fatal("the host service applies no transactions")
	}
	like, index := "l/"+top+"/"+user, "u/"+user+"/"+top
	res, err := txn.KVTxn(e.ctx, "", sdk.Txn{If: []sdk.Cond{sdk.IfPresent(like)}, Delete: []string{like, index},
		Add: []sdk.Delta{{Name: "n/" + top, Delta: -1}}})
	if err != nil || res.Counters["n/"+top] != counts["n/"+top]-1 {
		t.Fatalf("unlike: %+v %v", res, err)
	}
	res, err = txn.KVTxn(e.ctx, "", sdk.Txn{If: []sdk.Cond{sdk.IfAbsent(like)}, Put: []sdk.Put{{Key: like, Value: []byte(`{}`)}, {Key: index}},
		Add: []sdk.Delta{{Name: "n/" + top, Delta: 1}}})
	if err != nil || res.Counters["n/"+top] != counts["n/"+top] {
		t.Fatalf("like again: %+v %v", res, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSeedNeedsTheDemo(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), true)
	if _, err := scale.Seed(e.ctx, e.deps(), small); !errors.Is(err, scale.ErrNoDemo) {
		t.Fatalf("without the demo: %v, want ErrNoDemo", err)
	}
}

func TestSeedRefusesBadSizes(t *testing.T) {
	for _, s := range []scale.Sizes{
		{Users: -1},
		{Items: -5},
		{Likes: 10},
		{Documents: scale.MaxDocuments + 1},
		{DocumentSize: -1},
	} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if err := (scale.Sizes{Users: 2000, Items: 100_000, Likes: 1_000_000, Documents: 20}).Check(); err != nil {
		t.Fatal(err)
	}
}

func TestSeedRefusesMoreLikesThanReaders(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), false)
	_, err := scale.Seed(e.ctx, e.deps(), scale.Sizes{Items: 2, Likes: 100_000})
	if err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Fatalf("too many likes: %v", err)
	}
}
