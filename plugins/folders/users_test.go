package main

import (
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
)

func TestADeletedUsersSharesStopAtOnceAndTheirFolderGoesAfterTheGrace(t *testing.T) {
	f := start(t, `{"deleted_user_grace":"24h"}`)
	dir := f.mkdir(ann, "", "Projecten")
	inner := f.mustUpload(ann, dir.ID, "plan.txt", []byte("plan"))
	loose := f.mustUpload(ann, "", "los.txt", []byte("los"))
	f.do(ann, "PUT", "/folders/"+dir.ID+"/shares", map[string]any{"users": []string{"bob"}})
	f.do(ann, "PUT", "/files/"+loose.ID+"/shares", map[string]any{"roles": []string{"employee"}})
	kept := f.mustUpload(carol, "", "carol.txt", []byte("carol"))
	f.do(carol, "PUT", "/files/"+kept.ID+"/shares", map[string]any{"users": []string{"ann", "bob"}})
	if !f.reads(bob, inner.ID) || !f.reads(bob, loose.ID) {
		t.Fatal("before the deletion")
	}

	event := sdk.Event{ID: "evt-1", Type: "user.deleted", Payload: []byte(`{"user_id":"ann"}`), Time: f.clock.now()}
	for range 2 { // redelivery is harmless
		if handled := f.Deliver(event); len(handled) != 1 {
			t.Fatalf("handled %v", handled)
		}
	}
	if f.reads(bob, inner.ID) || f.reads(bob, loose.ID) || f.reads(carol, loose.ID) {
		t.Fatal("ann's shares after her deletion")
	}
	if got := f.sharedWith(bob); len(got) != 1 || got[0] != kept.ID {
		t.Fatalf("bob's shared-with-me: %v", got)
	}
	if keys := f.KVKeys("g/user:ann/"); len(keys) != 0 {
		t.Fatalf("what was shared with ann is still indexed: %v", keys)
	}

	// Within the grace period the folder stays.
	if err := f.p.sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(f.KVKeys("n/")) != 4 {
		t.Fatalf("nodes within the grace: %v", f.KVKeys("n/"))
	}
	f.advance(25 * time.Hour)
	if err := f.p.sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"c/ann/", "d/ann/", "f/ann/", "x/", "s/" + dir.ID, "s/" + loose.ID} {
		if keys := f.KVKeys(prefix); len(keys) != 0 {
			t.Errorf("left under %s: %v", prefix, keys)
		}
	}
	if keys := f.KVKeys("n/"); len(keys) != 1 || keys[0] != nodeKey(kept.ID) {
		t.Errorf("nodes left: %v", keys)
	}
	if m := f.me(ann); m.Quota.Used != 0 || len(m.Folders) != 0 {
		t.Errorf("ann's counters: %+v", m)
	}
	if !f.reads(bob, kept.ID) || !f.reads(carol, kept.ID) {
		t.Error("other users' files")
	}
	if err := f.p.sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOtherEventsAreAcknowledged(t *testing.T) {
	f := start(t, "")
	for _, e := range []sdk.Event{
		{ID: "a", Type: "item.deleted", ItemID: "x"},
		{ID: "b", Type: "user.deleted", Payload: []byte(`{}`)},
		{ID: "c", Type: "user.deleted", Payload: []byte(`not json`)},
	} {
		if handled := f.Deliver(e); len(handled) != 1 {
			t.Errorf("%s not acknowledged", e.ID)
		}
	}
}
