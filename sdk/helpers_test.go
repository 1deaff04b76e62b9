package sdk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// probe is a plugin that keeps its Host so tests can call the host client directly,
// and serves whatever handler and hooks a test gives it.
type probe struct {
	host     *sdk.Host
	handler  http.Handler
	decorate func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error)
	event    func(context.Context, sdk.Event) error
	init     func(json.RawMessage) error
}

func (p *probe) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name: "probe", Title: "Probe", Version: "0.0.1",
		Routes: []sdk.Route{
			{Method: "POST", Path: "/echo", Permission: sdk.PermissionAuthenticated},
			{Method: "GET", Path: "/{what}", Permission: sdk.PermissionAuthenticated},
			{Method: "HEAD", Path: "/{what}", Permission: sdk.PermissionAuthenticated},
		},
		Events: []string{"item.deleted"},
	}
}

func (p *probe) Init(_ context.Context, h *sdk.Host, settings json.RawMessage) error {
	p.host = h
	if p.init != nil {
		return p.init(settings)
	}
	return nil
}

func (p *probe) Handler() http.Handler { return p.handler }

// decoratingProbe and handlingProbe add the optional interfaces.
type decoratingProbe struct{ *probe }

func (p decoratingProbe) Decorate(ctx context.Context, items []sdk.ItemRef) (map[string]json.RawMessage, error) {
	return p.decorate(ctx, items)
}

type handlingProbe struct{ *probe }

func (p handlingProbe) HandleEvent(ctx context.Context, e sdk.Event) error { return p.event(ctx, e) }

// asUser returns a context acting as u through a fresh call handle, ended with the test.
func asUser(t *testing.T, h *plugintest.Harness, u plugintest.User) context.Context {
	t.Helper()
	call := h.BeginCall(u)
	t.Cleanup(func() { h.EndCall(call) })
	ctx, cancel := context.WithTimeout(sdk.WithCall(context.Background(), call), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// background returns a context acting as the plugin.
func background(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
