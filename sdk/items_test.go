package sdk_test

import (
	"errors"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func TestItemsAreReadAsTheActingUser(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	secret := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "page", SpaceID: "s1", Title: "Salaries 2026"}})
	open := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "post", SpaceID: "s1", Title: "Canteen menu"}, Public: true})
	roleOnly := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "page", Title: "HR handbook", Restricted: []string{"role:hr"}}})
	h.AllowRead("ann", secret)
	ann, bob, hr := plugintest.User{ID: "ann"}, plugintest.User{ID: "bob"}, plugintest.User{ID: "hilde", Roles: []string{"hr"}}

	if it, err := p.host.Items().Get(asUser(t, h, ann), secret); err != nil || it.Title != "Salaries 2026" || it.Owner != "core" {
		t.Fatalf("ann reads the secret page: %+v, %v", it, err)
	}
	if _, err := p.host.Items().Get(asUser(t, h, bob), secret); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("bob reads the secret page: %v, want ErrNotFound", err)
	}
	if _, err := p.host.Items().Get(asUser(t, h, bob), "no-such-item"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("missing item: %v, want ErrNotFound", err)
	}
	if _, err := p.host.Items().Get(asUser(t, h, hr), roleOnly); err != nil {
		t.Fatalf("a role grantee reads: %v", err)
	}
	found, err := p.host.Items().Search(asUser(t, h, bob), sdk.ItemQuery{Query: "a"})
	if err != nil || len(found) != 1 || found[0].ID != open {
		t.Fatalf("bob's search = %+v, %v", found, err)
	}
	if ok, err := p.host.Authorize(asUser(t, h, ann), "read", secret); err != nil || !ok {
		t.Fatalf("Authorize ann read = %v, %v", ok, err)
	}
	if ok, err := p.host.Authorize(asUser(t, h, ann), "moderate", secret); err != nil || ok {
		t.Fatalf("Authorize ann moderate = %v, %v", ok, err)
	}
	h.Allow("ann", "moderate", secret)
	if ok, _ := p.host.Authorize(asUser(t, h, ann), "moderate", secret); !ok {
		t.Fatal("Allow did not grant moderate")
	}
	if ok, err := p.host.Authorize(asUser(t, h, ann), "read", "no-such-item"); err != nil || ok {
		t.Fatalf("Authorize on a missing item = %v, %v; want false, nil", ok, err)
	}
}

func TestRegisteredItemsBelongToThePluginAndTheirAuthor(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	ann, bob := plugintest.User{ID: "ann"}, plugintest.User{ID: "bob"}
	id, err := p.host.Items().Register(asUser(t, h, ann), sdk.NewItem{Kind: "question", SpaceID: "it", Title: "VPN?", Body: "How do I connect?"})
	if err != nil {
		t.Fatal(err)
	}
	it, ok := h.Item(id)
	if !ok || it.Owner != "probe" || it.AuthorID != "ann" || it.Kind != "question" || it.CreatedAt.IsZero() {
		t.Fatalf("registered item = %+v", it)
	}
	if _, err := p.host.Items().Register(asUser(t, h, ann), sdk.NewItem{Kind: "question"}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("Register without a title = %v, want ErrInvalid", err)
	}
	if err := p.host.Items().Update(asUser(t, h, bob), id, sdk.ItemUpdate{Title: "hijacked"}); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("bob updates ann's item: %v, want ErrForbidden", err)
	}
	if err := p.host.Items().Update(asUser(t, h, ann), id, sdk.ItemUpdate{Title: "VPN from home?", Body: "b", Restricted: []string{"user:ann"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.host.Items().Get(asUser(t, h, bob), id); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("bob reads the restricted item: %v, want ErrNotFound", err)
	}
	if err := p.host.Items().Delete(background(t), id); err != nil {
		t.Fatalf("the plugin deletes its own item in the background: %v", err)
	}
	pub := h.Published()
	if len(pub) != 1 || pub[0].Type != "item.deleted" || pub[0].ItemID != id || pub[0].SpaceID != "it" || pub[0].Actor != "plugin:probe" {
		t.Fatalf("published %+v", pub)
	}
	core := h.AddItem(plugintest.Item{Item: sdk.Item{Kind: "post", Title: "core"}, Public: true})
	if err := p.host.Items().Delete(asUser(t, h, ann), core); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("deleting a core item: %v, want ErrNotFound", err)
	}
}

func TestPublishRecordsTheActor(t *testing.T) {
	p := &probe{}
	h := plugintest.New(t, p, plugintest.Options{})
	if err := p.host.Publish(asUser(t, h, plugintest.User{ID: "ann"}), "probe.poked", "i1", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.host.Publish(background(t), "probe.tick", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.host.Publish(background(t), "probe.bad", "", func() {}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("unencodable payload: %v, want ErrInvalid", err)
	}
	pub := h.Published()
	if len(pub) != 2 || pub[0].Actor != "ann" || string(pub[0].Payload) != `{"n":1}` || pub[1].Actor != "plugin:probe" || pub[0].ID == pub[1].ID {
		t.Fatalf("published %+v", pub)
	}
}
