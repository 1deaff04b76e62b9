package pluginhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func (e *env) registry(t *testing.T) *Registry {
	return NewRegistry(RegistryConfig{DB: e.db, Dir: e.dir, Changes: e.changes, Log: plugintest.Logger(t), Now: e.clock.Now})
}

func TestScanRecordsNewBinariesAndRefusesChangedOnes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		r := e.registry(t)
		ctx := ctxT(t)
		writeFile(t, filepath.Join(e.dir, "likes"), "#!/bin/sh\necho v1\n", 0o755)
		writeFile(t, filepath.Join(e.dir, "notes.txt"), "not a plugin", 0o644)
		writeFile(t, filepath.Join(e.dir, "Bad_Name"), "#!/bin/sh\n", 0o755)
		writeFile(t, filepath.Join(e.dir, ".install-123"), "#!/bin/sh\n", 0o755)

		recs, err := r.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Name != "likes" || recs[0].Enabled || recs[0].Refused != "" || len(recs[0].SHA256) != 64 ||
			recs[0].State != StateStopped || string(recs[0].Settings) != "{}" || recs[0].Spaces != nil {
			t.Fatalf("scan: %+v", recs)
		}
		approved := recs[0].SHA256

		writeFile(t, filepath.Join(e.dir, "likes"), "#!/bin/sh\necho v2, or a trojan\n", 0o755)
		rec, err := r.Get(ctx, "likes")
		if err != nil {
			t.Fatal(err)
		}
		if rec.SHA256 != approved || !strings.Contains(rec.Refused, "changed since") || !strings.Contains(rec.Refused, "approve") {
			t.Fatalf("changed binary: %+v", rec)
		}
		if err := r.Approve(ctx, "likes"); err != nil {
			t.Fatal(err)
		}
		if rec, _ := r.Get(ctx, "likes"); rec.Refused != "" || rec.SHA256 == approved {
			t.Fatalf("after approve: %+v", rec)
		}

		if err := os.Remove(filepath.Join(e.dir, "likes")); err != nil {
			t.Fatal(err)
		}
		if rec, err := r.Get(ctx, "likes"); err != nil || !strings.Contains(rec.Refused, "no plugin binary") {
			t.Fatalf("missing binary: %+v %v", rec, err)
		}
		for _, name := range []string{"nothing", "Bad_Name", "../likes"} {
			if _, err := r.Get(ctx, name); !fault.Is(err, fault.NotFound) {
				t.Errorf("get %q: %v", name, err)
			}
		}
		if err := r.Approve(ctx, "likes"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("approve without a binary: %v", err)
		}
	})
}

func TestInstallCopiesTheBinaryAndReadsItsManifest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		r := e.registry(t)
		ctx := ctxT(t)
		m, err := r.Install(ctx, bookmarksBin)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != "bookmarks" || len(m.Routes) != 4 || m.Events[0] != "item.deleted" {
			t.Fatalf("manifest %+v", m)
		}
		want, _ := fileSHA256(bookmarksBin)
		rec, err := r.Get(ctx, "bookmarks")
		if err != nil || rec.SHA256 != want || rec.Refused != "" || rec.Enabled || rec.Manifest == nil || rec.Manifest.Title != "Bookmarks" ||
			rec.Path != filepath.Join(e.dir, "bookmarks") {
			t.Fatalf("installed record: %+v %v", rec, err)
		}

		bogus := filepath.Join(t.TempDir(), "bogus")
		writeFile(t, bogus, "#!/bin/sh\necho not json\n", 0o755)
		failing := filepath.Join(t.TempDir(), "failing")
		writeFile(t, failing, "#!/bin/sh\necho 'manifest: name \"X\" is not valid' >&2\nexit 1\n", 0o755)
		invalid := filepath.Join(t.TempDir(), "invalid")
		writeFile(t, invalid, "#!/bin/sh\necho '{\"name\":\"Bad Name\",\"title\":\"t\",\"version\":\"1\"}'\n", 0o755)
		for _, src := range []string{bogus, failing, invalid} {
			_, err := r.Install(ctx, src)
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || !strings.Contains(fe.Detail, "not a Plein plugin") {
				t.Errorf("install %s: %v", filepath.Base(src), err)
			}
		}
		if _, err := r.Install(ctx, filepath.Join(t.TempDir(), "missing")); err == nil {
			t.Error("installed a missing file")
		}
		entries, _ := os.ReadDir(e.dir)
		if len(entries) != 1 || entries[0].Name() != "bookmarks" {
			t.Fatalf("plugin directory holds %v", entries)
		}
	})
}

func TestSetStateValidatesAndReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		r := e.registry(t)
		ctx := ctxT(t)
		// Another replica: its own notifier on the same bus.
		other := changes.New(e.bus, plugintest.Logger(t))
		heard := make(chan changes.Change, 10)
		other.Handle(func(c changes.Change) { heard <- c })
		stop, err := other.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		writeFile(t, filepath.Join(e.dir, "likes"), "#!/bin/sh\n", 0o755)
		before, err := r.Get(ctx, "likes")
		if err != nil {
			t.Fatal(err)
		}

		spaces := []string{"s2", "s1", "s2"}
		rec, err := r.SetState(ctx, "likes", StateUpdate{Enabled: ptr(true), Spaces: &spaces, Settings: json.RawMessage(`{ "max": 3 }`)})
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Enabled || strings.Join(rec.Spaces, ",") != "s1,s2" || rec.Roles != nil || string(rec.Settings) != `{"max":3}` ||
			rec.Generation <= before.Generation {
			t.Fatalf("after SetState: %+v", rec)
		}
		select {
		case c := <-heard:
			if c.Kind != ChangeKind || c.ID != "likes" {
				t.Fatalf("heard %+v", c)
			}
		case <-time.After(time.Second):
			t.Fatal("the other replica heard nothing within a second")
		}

		var everywhere []string
		none := []string{}
		rec, err = r.SetState(ctx, "likes", StateUpdate{Spaces: &everywhere, Roles: &none})
		if err != nil || rec.Spaces != nil || rec.Roles == nil || len(rec.Roles) != 0 || !rec.Enabled || string(rec.Settings) != `{"max":3}` {
			t.Fatalf("scope back to everywhere, for no role: %+v %v", rec, err)
		}

		bad := []StateUpdate{
			{Settings: json.RawMessage(`[1]`)},
			{Settings: json.RawMessage(`{"a":`)},
			{Settings: json.RawMessage(`null`)},
			{Roles: &[]string{""}},
		}
		for _, u := range bad {
			if _, err := r.SetState(ctx, "likes", u); !fault.Is(err, fault.Invalid) {
				t.Errorf("SetState(%+v): %v", u, err)
			}
		}
		if _, err := r.SetState(ctx, "nothing", StateUpdate{Enabled: ptr(true)}); !fault.Is(err, fault.NotFound) {
			t.Fatalf("unknown plugin: %v", err)
		}
		if err := r.Reset(ctx, "nothing"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("reset unknown plugin: %v", err)
		}
		if err := r.Reset(ctx, "likes"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestManifestTimeoutBoundsInstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	r := NewRegistry(RegistryConfig{DB: e.db, Dir: e.dir, ManifestTimeout: 200 * time.Millisecond})
	slow := filepath.Join(t.TempDir(), "slow")
	writeFile(t, slow, "#!/bin/sh\nexec sleep 10\n", 0o755)
	start := time.Now()
	_, err := r.Install(ctxT(t), slow)
	if !fault.Is(err, fault.Invalid) || time.Since(start) > 5*time.Second {
		t.Fatalf("a binary that never answers: %v after %v", err, time.Since(start))
	}
}

// TestDefaultPoliciesGrantOnlyThePluginsOwn checks which manifest policy lines a
// plugin may bring.
func TestDefaultPoliciesGrantOnlyThePluginsOwn(t *testing.T) {
	m := sdk.Manifest{Name: "qa", Policies: []string{
		"p, employee, global, plugin-qa, use",
		"p, reader, space:*, item-question, create",
		"p, reader, global, item-answer, create",
		"p, employee, global, plugin-likes, use", // another plugin
		"p, employee, space:*, plugin-qa, use",   // a plugin object in spaces
		"p, employee, global, item-post, create", // a core kind
		"p, employee, global, plugin-qa, *",      // any action
		"p, *, global, plugin-qa, use",           // any role
		"p, employee, *, item-question, create",  // any domain
		"p, employee, global, content, read",     // the core's objects
		"g, employee, admin",                     // inheritance
	}}
	got := DefaultPolicies(m, plugintest.Logger(t))
	want := []authz.Permission{
		{Role: "employee", Domain: "global", Object: "plugin-qa", Action: "use"},
		{Role: "reader", Domain: "space:*", Object: "item-question", Action: "create"},
		{Role: "reader", Domain: "global", Object: "item-answer", Action: "create"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := DefaultPolicies(sdk.Manifest{Name: "x", Policies: []string{`p, "unclosed`}}, plugintest.Logger(t)); got != nil {
		t.Fatalf("unreadable lines: %v", got)
	}
}
