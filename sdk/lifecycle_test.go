package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestInitGetsTheSettingsAndRunsOnce(t *testing.T) {
	var got []string
	p := &probe{init: func(s json.RawMessage) error {
		got = append(got, string(s))
		return nil
	}}
	h := plugintest.New(t, p, plugintest.Options{Settings: json.RawMessage(`{"limit":3}`)})
	if len(got) != 1 || got[0] != `{"limit":3}` {
		t.Fatalf("Init saw %q", got)
	}
	err := h.Client().Configure(background(t), json.RawMessage(`{"limit":4}`), 1)
	if err == nil || len(got) != 1 {
		t.Fatalf("a second Configure = %v, Init calls %d; want refused, 1", err, len(got))
	}
	if err := h.Client().Health(background(t)); err != nil {
		t.Fatalf("Health = %v", err)
	}
	if m, err := h.Client().Describe(background(t)); err != nil || m.Name != "probe" || m.APIVersion != sdk.APIVersion {
		t.Fatalf("Describe = %+v, %v", m, err)
	}
}

func TestAFailedInitLeavesThePluginUnavailable(t *testing.T) {
	p := &probe{init: func(json.RawMessage) error { return errors.New("database unreachable") }}
	h, err := plugintest.Start(t, p, plugintest.Options{})
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if err := h.Client().Health(background(t)); err == nil {
		t.Fatal("Health succeeded before a successful Init")
	}
	if resp := h.Do(plugintest.User{ID: "ann"}, "GET", "/x", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request before Init: %d", resp.StatusCode)
	}

	p = &probe{init: func(json.RawMessage) error { return errors.Join(errors.New("max must be positive"), sdk.ErrInvalid) }}
	if _, err := plugintest.Start(t, p, plugintest.Options{}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("Init's ErrInvalid reached the host as %v", err)
	}
	if _, err := plugintest.Start(t, &probe{}, plugintest.Options{Settings: json.RawMessage(`{`)}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("settings that are not JSON: %v", err)
	}
}

func TestDecorateReturnsOnlyRequestedItemsAsTheViewer(t *testing.T) {
	p := &probe{}
	p.decorate = func(ctx context.Context, items []sdk.ItemRef) (map[string]json.RawMessage, error) {
		out := map[string]json.RawMessage{"not-asked": json.RawMessage(`{"x":1}`)}
		for _, it := range items {
			out[it.ID] = json.RawMessage(`{"viewer":"` + sdk.CallFrom(ctx).UserID + `","kind":"` + it.Kind + `"}`)
		}
		return out, nil
	}
	h := plugintest.New(t, decoratingProbe{p}, plugintest.Options{})
	got := h.Decorate(plugintest.User{ID: "ann"}, sdk.ItemRef{ID: "i1", Kind: "post"}, sdk.ItemRef{ID: "i2", Kind: "page"})
	if len(got) != 2 || string(got["i1"]) != `{"viewer":"ann","kind":"post"}` || string(got["i2"]) != `{"viewer":"ann","kind":"page"}` {
		t.Fatalf("Decorate = %s", got)
	}
}

func TestDecorateFailsClosed(t *testing.T) {
	tests := map[string]func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error){
		"an error": func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error) {
			return nil, errors.New("kv down")
		},
		"a panic": func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error) { panic("boom") },
		"not an object": func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error) {
			return map[string]json.RawMessage{"i1": json.RawMessage(`[1]`)}, nil
		},
		"invalid JSON": func(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error) {
			return map[string]json.RawMessage{"i1": json.RawMessage(`{`)}, nil
		},
	}
	for name, decorate := range tests {
		t.Run(name, func(t *testing.T) {
			h := plugintest.New(t, decoratingProbe{&probe{decorate: decorate}}, plugintest.Options{})
			call := h.BeginCall(plugintest.User{ID: "ann"})
			fields, err := h.Client().Decorate(background(t), call, []sdk.ItemRef{{ID: "i1"}})
			if err == nil || fields != nil {
				t.Fatalf("Decorate = %s, %v; want an error", fields, err)
			}
			if err := h.Client().Health(background(t)); err != nil {
				t.Fatalf("the plugin died: %v", err)
			}
		})
	}
}

func TestAPluginWithoutDecoratorAddsNothing(t *testing.T) {
	h := plugintest.New(t, &probe{}, plugintest.Options{})
	if got := h.Decorate(plugintest.User{ID: "ann"}, sdk.ItemRef{ID: "i1"}); len(got) != 0 {
		t.Fatalf("Decorate = %s", got)
	}
}

func TestDeliverAnswersOnlyTheEventsHandled(t *testing.T) {
	p := &probe{}
	p.event = func(ctx context.Context, e sdk.Event) error {
		if sdk.CallFrom(ctx).Handle != "" {
			t.Errorf("event %s carries a call", e.ID)
		}
		switch e.ItemID {
		case "fails":
			return errors.New("try later")
		case "panics":
			panic("boom")
		}
		return nil
	}
	h := plugintest.New(t, handlingProbe{p}, plugintest.Options{})
	handled := h.Deliver(
		sdk.Event{ID: "e1", Type: "item.deleted", ItemID: "ok"},
		sdk.Event{ID: "e2", Type: "item.deleted", ItemID: "fails"},
		sdk.Event{ID: "e3", Type: "item.deleted", ItemID: "panics"},
		sdk.Event{ID: "e4", Type: "item.deleted", ItemID: "ok"},
	)
	if len(handled) != 2 || handled[0] != "e1" || handled[1] != "e4" {
		t.Fatalf("handled %v, want [e1 e4]", handled)
	}
}

func TestDeliverToAPluginWithoutEventHandlerFails(t *testing.T) {
	h := plugintest.New(t, &probe{}, plugintest.Options{})
	if _, err := h.Client().Deliver(background(t), []sdk.Event{{ID: "e1", Type: "item.deleted"}}); err == nil {
		t.Fatal("Deliver succeeded without an EventHandler")
	}
}
