package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// pid returns the plugin's process id on h, or 0 if it is not running.
func (h *Host) pid(name string) int {
	_, in, ok := h.lookup(name)
	if !ok || in == nil {
		return 0
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != StateRunning || in.proc == nil || in.proc.process == nil {
		return 0
	}
	return in.proc.process.Pid()
}

// stateOf returns the plugin's state on h, "" if h does not know it.
func (h *Host) stateOf(name string) State {
	_, in, ok := h.lookup(name)
	if !ok || in == nil {
		return ""
	}
	st, _, _ := in.snapshot()
	return st
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// bookmarksEnv is a host with the bookmarks plugin installed, an item ann may read,
// and the host started.
type bookmarksEnv struct {
	*env
	h    *Host
	item string
	ann  *authz.Principal
}

func startBookmarks(t *testing.T, db *store.DB, tune func(*Config)) *bookmarksEnv {
	t.Helper()
	e := newEnv(t, db)
	cfg := e.config(t)
	if tune != nil {
		tune(&cfg)
	}
	h := newHost(t, cfg)
	if _, err := h.Install(ctxT(t), bookmarksBin); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.az.read("ann", "s1")
	item := e.items.add(sdk.Item{Kind: "page", SpaceID: "s1", Title: "Budget"})
	return &bookmarksEnv{env: e, h: h, item: item, ann: principal("ann", "employee")}
}

// call routes a request to the bookmarks plugin as ann.
func (b *bookmarksEnv) call(method, path string) (int, string, error) {
	return routeTo(b.h, b.ann, "bookmarks", method, path)
}

func routeTo(h *Host, p *authz.Principal, plugin, method, path string) (int, string, error) {
	resp, err := h.Route(context.Background(), Request{Principal: p, Plugin: plugin, RequestID: "r", Method: method, Path: path, Header: map[string][]string{}})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.Status, string(data), err
}

func (b *bookmarksEnv) enable(t *testing.T, on bool) {
	t.Helper()
	if _, err := b.h.SetState(ctxT(t), "bookmarks", StateUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
}

// running waits for the plugin to answer a request and returns its pid.
func (b *bookmarksEnv) running(t *testing.T, within time.Duration) int {
	t.Helper()
	eventually(t, within, func() error {
		if status, body, err := b.call("GET", "/bookmarks"); err != nil || status != 200 {
			return fmt.Errorf("GET /bookmarks: %d %s %v", status, body, err)
		}
		return nil
	})
	return b.h.pid("bookmarks")
}

func wantCode(err error, code string) error {
	if fe := fault.As(err); fe == nil || fe.Code != code {
		return fmt.Errorf("got %v, want %s", err, code)
	}
	return nil
}

func TestEnableRunsThePluginAndDisableStopsItKeepingItsData(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := startBookmarks(t, db, nil)
		ctx := ctxT(t)
		if _, _, err := b.call("GET", "/bookmarks"); !errors.Is(err, ErrFeatureDisabled) {
			t.Fatalf("before enabling: %v", err)
		}

		start := time.Now()
		b.enable(t, true)
		eventually(t, time.Second, func() error {
			status, body, err := b.call("PUT", "/items/"+b.item+"/bookmark")
			if err != nil || status != 201 {
				return fmt.Errorf("PUT bookmark: %d %s %v", status, body, err)
			}
			return nil
		})
		t.Logf("enabled and answering after %v", time.Since(start))
		pid := b.h.pid("bookmarks")
		if pid == 0 || !alive(pid) {
			t.Fatalf("no process (pid %d)", pid)
		}
		if status, body, _ := b.call("GET", "/bookmarks"); status != 200 || !strings.Contains(body, b.item) {
			t.Fatalf("GET /bookmarks: %d %s", status, body)
		}
		refs := []sdk.ItemRef{{ID: b.item, Kind: "page", SpaceID: "s1"}}
		if got := b.h.Decorate(ctx, b.ann, "r", refs); string(got[b.item]["bookmarks"]) != `{"bookmarked":true}` {
			t.Fatalf("decorations %s", got)
		}
		if fs := b.h.Features(b.ann, ""); len(fs) != 1 || fs[0].Name != "bookmarks" || fs[0].Title != "Bookmarks" || fs[0].Version != "1.0.0" {
			t.Fatalf("features %+v", fs)
		}
		if st, err := b.h.Plugin(ctx, "bookmarks"); err != nil || st.State != StateRunning || !st.Enabled || st.Version != "1.0.0" || len(st.SettingsSchema) == 0 {
			t.Fatalf("admin view %+v %v", st, err)
		}

		b.enable(t, false)
		eventually(t, 5*time.Second, func() error {
			if alive(pid) {
				return fmt.Errorf("process %d still running", pid)
			}
			_, _, err := b.call("GET", "/bookmarks")
			return wantCode(err, "feature_disabled")
		})
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM plugin_kv WHERE plugin = 'bookmarks'`).Scan(&rows); err != nil || rows == 0 {
			t.Fatalf("KV rows after disabling: %d %v", rows, err)
		}
		if fs := b.h.Features(b.ann, ""); len(fs) != 0 {
			t.Fatalf("features of a disabled plugin: %+v", fs)
		}
		if got := b.h.Decorate(ctx, b.ann, "r", refs); len(got) != 0 {
			t.Fatalf("decorations of a disabled plugin: %s", got)
		}
		if st, _ := b.h.Plugin(ctx, "bookmarks"); st.State != StateStopped || st.Enabled {
			t.Fatalf("admin view after disabling: %+v", st)
		}

		b.enable(t, true)
		b.running(t, 5*time.Second)
		if status, body, _ := b.call("GET", "/bookmarks"); status != 200 || !strings.Contains(body, b.item) {
			t.Fatalf("the bookmark after enabling again: %d %s", status, body)
		}

		// Events reach it: the item's deletion removes its bookmarks.
		if _, err := b.h.Publish(ctx, sdk.Event{Type: EventItemDeleted, ItemID: b.item}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() error {
			if _, body, _ := b.call("GET", "/bookmarks"); !strings.Contains(body, `"items":[]`) {
				return fmt.Errorf("bookmarks after item.deleted: %s", body)
			}
			return nil
		})

		// Closing the host leaves no process behind.
		pid = b.h.pid("bookmarks")
		if err := b.h.Close(); err != nil {
			t.Fatal(err)
		}
		if alive(pid) {
			t.Fatalf("process %d outlived Close", pid)
		}
	})
}

func TestAKilledPluginComesBackAndThreeCrashesInTenMinutesFailIt(t *testing.T) {
	t.Parallel()
	b := startBookmarks(t, storetest.SQLite(t), func(c *Config) {
		c.Backoff = func(int) time.Duration { return 300 * time.Millisecond }
	})
	b.enable(t, true)
	pid := b.running(t, 5*time.Second)

	kill := func() int {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Second, func() error {
			_, _, err := b.call("GET", "/bookmarks")
			return wantCode(err, "plugin_unavailable")
		})
		return pid
	}
	// Crashes six minutes apart: never three within ten minutes.
	for range 3 {
		old := kill()
		pid = b.running(t, 5*time.Second)
		if pid == old || pid == 0 {
			t.Fatalf("pid %d after restarting %d", pid, old)
		}
		b.clock.Advance(6 * time.Minute)
	}
	// The last two crashes are within ten minutes: it still comes back. A third
	// within ten minutes fails it, and it stays down.
	kill()
	pid = b.running(t, 5*time.Second)
	kill()
	eventually(t, 2*time.Second, func() error {
		st, err := b.h.Plugin(ctxT(t), "bookmarks")
		if err != nil || st.State != StateFailed || !strings.Contains(st.Error, "crashed 3 times within 10m0s") {
			return fmt.Errorf("admin view %+v %v", st, err)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	if _, _, err := b.call("GET", "/bookmarks"); wantCode(err, "plugin_unavailable") != nil {
		t.Fatalf("a failed plugin answered: %v", err)
	}
	var state, lastErr string
	if err := b.db.QueryRowContext(ctxT(t), `SELECT state, last_error FROM plugin_state WHERE name = 'bookmarks'`).Scan(&state, &lastErr); err != nil ||
		state != "failed" || lastErr == "" {
		t.Fatalf("stored state %q %q %v", state, lastErr, err)
	}

	if err := b.h.Reset(ctxT(t), "bookmarks"); err != nil {
		t.Fatal(err)
	}
	b.running(t, 5*time.Second)
}

func TestAChangedBinaryIsRefusedUntilApproved(t *testing.T) {
	t.Parallel()
	b := startBookmarks(t, storetest.SQLite(t), nil)
	b.enable(t, true)
	b.running(t, 5*time.Second)
	if err := b.h.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.OpenFile(filepath.Join(b.dir, "bookmarks"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tampered"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	h := newHost(t, b.config(t))
	b.h = h
	if err := h.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		st, err := h.Plugin(ctxT(t), "bookmarks")
		if err != nil || st.State != StateRefused || !strings.Contains(st.Error, "changed since") || !strings.Contains(st.Error, "approve") {
			return fmt.Errorf("admin view %+v %v", st, err)
		}
		// Enabled but refused: its routes answer 503, not 404.
		_, _, err = b.call("GET", "/bookmarks")
		return wantCode(err, "plugin_unavailable")
	})
	if h.pid("bookmarks") != 0 {
		t.Fatal("a refused binary runs")
	}

	if err := h.Approve(ctxT(t), "bookmarks"); err != nil {
		t.Fatal(err)
	}
	b.running(t, 5*time.Second)
}

func TestSettingsReachInitAndRefusedSettingsFailThePlugin(t *testing.T) {
	t.Parallel()
	b := startBookmarks(t, storetest.SQLite(t), nil)
	ctx := ctxT(t)
	if _, err := b.h.SetState(ctx, "bookmarks", StateUpdate{Enabled: ptr(true), Settings: json.RawMessage(`{"max_per_user":1}`)}); err != nil {
		t.Fatal(err)
	}
	b.running(t, 5*time.Second)
	other := b.items.add(sdk.Item{Kind: "page", SpaceID: "s1", Title: "Other"})
	if status, body, _ := b.call("PUT", "/items/"+b.item+"/bookmark"); status != 201 {
		t.Fatalf("first bookmark: %d %s", status, body)
	}
	if status, body, _ := b.call("PUT", "/items/"+other+"/bookmark"); status != 409 || !strings.Contains(body, "bookmark_limit") {
		t.Fatalf("over the limit of the settings: %d %s", status, body)
	}

	pid := b.h.pid("bookmarks")
	if _, err := b.h.SetState(ctx, "bookmarks", StateUpdate{Settings: json.RawMessage(`{"max_per_user":2}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if status, body, _ := b.call("PUT", "/items/"+other+"/bookmark"); status != 201 {
			return fmt.Errorf("with the new limit: %d %s", status, body)
		}
		return nil
	})
	if b.h.pid("bookmarks") == pid {
		t.Fatal("new settings did not restart the plugin")
	}

	if _, err := b.h.SetState(ctx, "bookmarks", StateUpdate{Settings: json.RawMessage(`{"max_per_user":0}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		st, _ := b.h.Plugin(ctx, "bookmarks")
		if st.State != StateFailed || !strings.Contains(st.Error, "refused its settings") {
			return fmt.Errorf("admin view %+v", st)
		}
		return nil
	})
}

func TestAnotherReplicaFollowsWithinASecond(t *testing.T) {
	t.Parallel()
	db := storetest.Postgres(t)
	b := startBookmarks(t, db, nil)
	// The second replica: its own notifier on the shared bus, its own processes.
	n2 := changes.New(b.bus, plugintest.Logger(t))
	cfg := b.config(t)
	cfg.Changes = n2
	h2 := newHost(t, cfg)
	stop, err := n2.Start(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if err := h2.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	b.enable(t, true)
	// Within a second the other replica has applied it (its process is starting or
	// running); launching takes what it takes.
	eventually(t, time.Second, func() error {
		if st := h2.stateOf("bookmarks"); st != StateStarting && st != StateRunning {
			return fmt.Errorf("replica 2 is %q", st)
		}
		return nil
	})
	t.Logf("replica 2 applied it %v after the change", time.Since(start))
	eventually(t, 5*time.Second, func() error {
		if status, _, err := routeTo(h2, b.ann, "bookmarks", "GET", "/bookmarks"); err != nil || status != 200 {
			return fmt.Errorf("replica 2: %d %v", status, err)
		}
		return nil
	})
	t.Logf("replica 2 answering %v after the change", time.Since(start))
	b.running(t, 5*time.Second)
	if p1, p2 := b.h.pid("bookmarks"), h2.pid("bookmarks"); p1 == 0 || p2 == 0 || p1 == p2 {
		t.Fatalf("pids %d and %d: each replica runs its own process", p1, p2)
	}

	b.enable(t, false)
	eventually(t, time.Second, func() error {
		_, _, err := routeTo(h2, b.ann, "bookmarks", "GET", "/bookmarks")
		return wantCode(err, "feature_disabled")
	})
}
