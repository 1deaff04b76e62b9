package authz_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

// TestAnswersHoldWhilePolicyReloads stores the same policy again and again while other
// goroutines ask: a reload must never let an answer through that the policy does not give,
// nor take one away. Under -race it also catches the role manager being read while a
// reload rebuilds it.
func TestAnswersHoldWhilePolicyReloads(t *testing.T) {
	o := newSmallOrg(t, storetest.SQLite(t), memoryBus(t))
	ctx := context.Background()
	az := o.authz
	// Holding manager alone, this user is an employee only through inheritance, which
	// the set computation looks up in the role manager a reload rebuilds.
	mgr, err := o.users.CreateUser(ctx, identity.NewUser{Email: "manager@example.org", Name: "Manager", Password: "correct horse battery", Roles: []string{identity.RoleManager}})
	if err != nil {
		t.Fatal(err)
	}
	def := defaultPolicy(t)
	wantReadable := []string{o.open}

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	report := func(msg string) {
		select {
		case errs <- msg:
		default:
		}
	}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				p, err := az.Principal(ctx, mgr.ID)
				if err != nil {
					report(err.Error())
					return
				}
				if got := az.Readable(p); got.All || !slices.Equal(got.IDs, wantReadable) {
					report("readable set changed during a reload")
				}
				if got := az.Visible(p); !got.All {
					report("visible set changed during a reload")
				}
				if !az.Can(p, authz.Space(o.open), "content", "read") || az.Can(p, authz.Space(o.private), "content", "read") {
					report("a decision changed during a reload")
				}
			}
		})
	}
	var setErr error
	for range 50 {
		if setErr = az.SetPolicy(ctx, def); setErr != nil {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if setErr != nil {
		t.Fatal(setErr)
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestRequestsStartedBeforeAChangeDoNotCacheStaleSets follows a request that loaded its
// principal just before the user's roles changed and lists spaces just after: its answer
// fits the principal it holds, but must not be what later requests get.
func TestRequestsStartedBeforeAChangeDoNotCacheStaleSets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// No echo from a bus: a late notice would hide the stale entry by clearing it.
		o := newSmallOrg(t, db, silentBus{})
		az := o.authz
		if _, err := o.users.CreateRole(ctx, "night-shift", "Night shift", ""); err != nil {
			t.Fatal(err)
		}
		sp, err := o.spaces.Create(ctx, o.admin, spaces.NewSpace{Name: "Night desk", Visibility: spaces.Open, Roles: []string{"night-shift"}})
		if err != nil {
			t.Fatal(err)
		}

		before := principal(t, az, o.employee)
		if _, err := o.users.SetRoles(ctx, o.employee, []string{identity.RoleEmployee, "night-shift"}); err != nil {
			t.Fatal(err)
		}
		if az.Readable(before).Has(sp.ID) {
			t.Fatal("the principal loaded before the change reads the night desk")
		}
		if !az.Readable(principal(t, az, o.employee)).Has(sp.ID) {
			t.Fatal("a request after the change got the set of the principal loaded before it")
		}

		// The same with a membership ending.
		if _, err := o.spaces.SetMember(ctx, o.private, o.employee, spaces.Member); err != nil {
			t.Fatal(err)
		}
		before = principal(t, az, o.employee)
		if err := o.spaces.RemoveMember(ctx, o.private, o.employee); err != nil {
			t.Fatal(err)
		}
		if !az.Visible(before).Has(o.private) {
			t.Fatal("the principal loaded before leaving does not see the space")
		}
		if az.Visible(principal(t, az, o.employee)).Has(o.private) {
			t.Fatal("a request after leaving got the set of the principal loaded before it")
		}
	})
}

// silentBus is a replica alone: its notices reach only its own handlers, at once.
type silentBus struct{}

func (silentBus) Publish(context.Context, string, []byte) error { return nil }

func (silentBus) Subscribe(context.Context, string, bus.Handler) (func(), error) {
	return func() {}, nil
}

func (silentBus) Close() error { return nil }
