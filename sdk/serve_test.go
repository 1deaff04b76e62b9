package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stubPlugin is the smallest Plugin, for tests of the process entry.
type stubPlugin struct{ m Manifest }

func (p stubPlugin) Manifest() Manifest                               { return p.m }
func (stubPlugin) Init(context.Context, *Host, json.RawMessage) error { return nil }
func (stubPlugin) Handler() http.Handler                              { return http.NotFoundHandler() }

func TestServeManifestPrintsIndentedJSONAndExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := serve(stubPlugin{validManifest()}, []string{"manifest"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var m Manifest
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("stdout is not a manifest: %v\n%s", err, stdout.String())
	}
	if m.Name != "likes" || m.APIVersion != APIVersion || len(m.Routes) != 2 {
		t.Fatalf("manifest = %+v", m)
	}
	if !strings.Contains(stdout.String(), "\n  \"name\": \"likes\"") {
		t.Fatalf("not indented:\n%s", stdout.String())
	}
	for _, key := range []string{`"api_version"`, `"decorations"`, `"routes"`, `"permission"`} {
		if !strings.Contains(stdout.String(), key) {
			t.Errorf("missing snake_case key %s", key)
		}
	}
}

func TestServeRefusesAnInvalidManifest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	m := validManifest()
	m.Name = "Bad Name"
	if code := serve(stubPlugin{m}, []string{"manifest"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "name") {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func TestServeRefusesUnknownArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := serve(stubPlugin{validManifest()}, []string{"run"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "usage") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestWatchParentReturnsWhenTheParentChanges(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	done := make(chan struct{})
	go func() {
		watchParent(context.Background(), func() int { return int(ppid.Load()) }, time.Millisecond)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("returned while the parent lives")
	case <-time.After(20 * time.Millisecond):
	}
	ppid.Store(1) // re-parented to init
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("did not notice the parent's death")
	}
}

func TestWatchParentStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	watchParent(ctx, func() int { return 1 }, time.Hour) // returns at once
}
