package pluginhost

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/uid"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// bookmarksBin is the example plugin binary, built once for the package's tests.
var bookmarksBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bookmarksBin = filepath.Join(dir, "bookmarks")
	// Without -race even under it: the plugin's own races are the SDK's tests'
	// business, and a race-built binary takes several times longer to launch.
	cmd := exec.Command("go", "build", "-o", bookmarksBin, "github.com/pleinhq/plein/sdk/examples/bookmarks/cmd/bookmarks")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build bookmarks: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// testClock is real time shifted by Advance.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// fakeAuthz is an Authorizer from explicit grants: which spaces each user reads,
// and which (domain, object, action) each may do.
type fakeAuthz struct {
	mu     sync.Mutex
	reads  map[string][]string
	grants map[string]bool
}

func newFakeAuthz() *fakeAuthz {
	return &fakeAuthz{reads: map[string][]string{}, grants: map[string]bool{}}
}

func (a *fakeAuthz) read(user string, spaces ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reads[user] = append(a.reads[user], spaces...)
}

func (a *fakeAuthz) allow(user, dom, obj, act string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.grants[user+"|"+dom+"|"+obj+"|"+act] = true
}

func (a *fakeAuthz) Readable(p *authz.Principal) authz.SpaceSet {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := slices.Clone(a.reads[p.UserID])
	slices.Sort(ids)
	return authz.SpaceSet{IDs: slices.Compact(ids)}
}

func (a *fakeAuthz) Can(p *authz.Principal, dom, obj, act string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.grants[p.UserID+"|"+dom+"|"+obj+"|"+act]
}

func (a *fakeAuthz) RequireSpace(p *authz.Principal, spaceID, obj, act string) error {
	if !a.Readable(p).Has(spaceID) {
		return fault.NotFoundf("no such space")
	}
	if (obj == "content" && act == "read") || a.Can(p, authz.Space(spaceID), obj, act) {
		return nil
	}
	return fault.Forbiddenf("you may not %s %s", act, obj)
}

func (a *fakeAuthz) CheckCreateItem(p *authz.Principal, spaceID, _ string) error {
	return a.RequireSpace(p, spaceID, "content", "create")
}

func (a *fakeAuthz) CheckEditContent(p *authz.Principal, spaceID, authorID string) error {
	if authorID == p.UserID || a.Can(p, authz.Space(spaceID), "content", "moderate") {
		return nil
	}
	return fault.Forbiddenf("not yours")
}

// fakeItems keeps items in memory; a reader reads the items of their spaces that are
// not restricted, or restricted to them, or theirs.
type fakeItems struct {
	db *store.DB

	mu    sync.Mutex
	items map[string]sdk.Item
}

func newFakeItems(db *store.DB) *fakeItems {
	return &fakeItems{db: db, items: map[string]sdk.Item{}}
}

// add stores it (with a new id if it has none; owner "core" if none) and returns its id.
func (f *fakeItems) add(it sdk.Item) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it.ID == "" {
		it.ID = uid.New()
	}
	if it.Owner == "" {
		it.Owner = "core"
	}
	f.items[it.ID] = it
	return it.ID
}

func (f *fakeItems) item(id string) (sdk.Item, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[id]
	return it, ok
}

func readerMay(r Reader, it sdk.Item) bool {
	if !r.Spaces.Has(it.SpaceID) {
		return false
	}
	if len(it.Restricted) == 0 || it.AuthorID == r.UserID {
		return true
	}
	return slices.ContainsFunc(it.Restricted, func(g string) bool {
		return g == "user:"+r.UserID || slices.ContainsFunc(r.Roles, func(role string) bool { return g == "role:"+role })
	})
}

func (f *fakeItems) Get(_ context.Context, r Reader, id string) (sdk.Item, error) {
	it, ok := f.item(id)
	if !ok || !readerMay(r, it) {
		return sdk.Item{}, fault.NotFoundf("no such item")
	}
	return it, nil
}

func (f *fakeItems) Head(ctx context.Context, r Reader, id string) (sdk.Item, error) {
	it, err := f.Get(ctx, r, id)
	return sdk.Item{ID: it.ID, Kind: it.Kind, Owner: it.Owner, SpaceID: it.SpaceID, AuthorID: it.AuthorID}, err
}

func (f *fakeItems) Load(_ context.Context, id string) (sdk.Item, error) {
	it, ok := f.item(id)
	if !ok {
		return sdk.Item{}, fault.NotFoundf("no such item")
	}
	return it, nil
}

func (f *fakeItems) Search(_ context.Context, r Reader, q ItemQuery) ([]sdk.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []sdk.Item{}
	for _, it := range f.items {
		if q.Owner != "" && it.Owner != q.Owner || q.Owner == "" && !readerMay(r, it) ||
			q.SpaceID != "" && it.SpaceID != q.SpaceID || q.Kind != "" && it.Kind != q.Kind ||
			!strings.Contains(strings.ToLower(it.Title+" "+it.Body), strings.ToLower(q.Query)) {
			continue
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b sdk.Item) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(len(out), q.Limit)], nil
}

func (f *fakeItems) Create(_ context.Context, owner, author string, in sdk.NewItem) (string, error) {
	if in.Title == "" {
		return "", fault.Invalidf("title", "required")
	}
	return f.add(sdk.Item{Kind: in.Kind, SpaceID: in.SpaceID, Owner: owner, AuthorID: author, Title: in.Title,
		Body: in.Body, Restricted: in.Restricted, CreatedAt: time.Now()}), nil
}

func (f *fakeItems) Update(_ context.Context, _, id string, u sdk.ItemUpdate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[id]
	if !ok {
		return fault.NotFoundf("no such item")
	}
	it.Title, it.Body, it.Restricted = u.Title, u.Body, u.Restricted
	f.items[id] = it
	return nil
}

func (f *fakeItems) Delete(ctx context.Context, actor, id string) error {
	f.mu.Lock()
	it, ok := f.items[id]
	delete(f.items, id)
	f.mu.Unlock()
	if !ok {
		return fault.NotFoundf("no such item")
	}
	_, err := PublishTx(ctx, f.db, sdk.Event{Type: EventItemDeleted, ItemID: id, SpaceID: it.SpaceID, Actor: actor})
	return err
}

// env is what a Host needs, with fakes for items and authorization.
type env struct {
	db      *store.DB
	blobs   blob.Store
	bus     *bus.Memory
	changes *changes.Notifier
	az      *fakeAuthz
	items   *fakeItems
	clock   *testClock
	dir     string
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	return &env{db: db, blobs: blobs, bus: b, changes: changes.New(b, plugintest.Logger(t)), az: newFakeAuthz(),
		items: newFakeItems(db), clock: &testClock{}, dir: t.TempDir()}
}

// config is a Host configuration on the env, tuned for tests: quick restarts and
// health checks.
func (e *env) config(t testing.TB) Config {
	return Config{
		Dir: e.dir, DB: e.db, Blobs: e.blobs, Changes: e.changes, Items: e.items, Authz: e.az, Log: plugintest.Logger(t),
		Backoff:        func(int) time.Duration { return 20 * time.Millisecond },
		HealthInterval: 200 * time.Millisecond, ExitPoll: 20 * time.Millisecond, DrainTimeout: time.Second,
		EventPoll: 50 * time.Millisecond, Now: e.clock.Now,
	}
}

// host returns a Host on cfg, closed when the test ends; it is not started.
func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// service returns a host service for plugin on the env, as the supervisor builds it.
func (e *env) service(plugin string, calls *Calls) *hostService {
	return NewHostService(HostServiceConfig{Plugin: plugin, DB: e.db, Blobs: e.blobs, Items: e.items, Authz: e.az,
		Calls: calls, Now: e.clock.Now, MaxBlobSize: 1 << 20}).(*hostService)
}

// serveInProcess runs p on h as a running plugin without a process: the plugin and
// the host API talk over in-memory gRPC connections, as over go-plugin. rec is the
// desired state (enabled is set).
func serveInProcess(t *testing.T, h *Host, rec Record, p sdk.Plugin) *instance {
	t.Helper()
	m := p.Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	rec.Name, rec.Enabled, rec.Manifest = m.Name, true, &m
	log := plugintest.Logger(t)
	hostSrv := pluginrpc.NewHostServer(h.hostService(m.Name, log), log)
	hostLis := listen(t, hostSrv)
	var conns []*grpc.ClientConn
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	dialHost := func(uint32) (*grpc.ClientConn, error) {
		c, err := dialBuf(hostLis)
		if err == nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
		return c, err
	}
	conn, err := dialBuf(listen(t, sdk.NewGRPCServer(p, dialHost, log)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := pluginrpc.NewClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Configure(ctx, rec.Settings, 1); err != nil {
		t.Fatal(err)
	}
	in := newInstance(h, m.Name)
	in.state, in.proc = StateRunning, &proc{client: client, manifest: m, routes: routeMux(m)}
	h.mu.Lock()
	h.records[m.Name] = rec
	h.slots[m.Name] = in
	h.mu.Unlock()
	return in
}

func listen(t *testing.T, s *grpc.Server) *bufconn.Listener {
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis
}

func dialBuf(lis *bufconn.Listener) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///pluginhost-test",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
}

// eventually retries f every 20 ms until it returns nil, failing with its last error
// after d.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func principal(id string, roles ...string) *authz.Principal {
	return &authz.Principal{UserID: id, Roles: roles, Spaces: map[string]string{}}
}

// liveCalls returns the number of handles not ended.
func liveCalls(c *Calls) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}
