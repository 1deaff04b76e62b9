package authz_test

import (
	"context"
	"testing"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/store/storetest"
)

// benchOrg is the demo organisation on SQLite, alone on its bus, with the finance
// employee's principal loaded.
func benchOrg(b *testing.B) (*demoOrg, string) {
	b.Helper()
	d := seedDemo(b, storetest.SQLite(b), silentBus{})
	return d, d.user(b, "employee")
}

// BenchmarkDecision is one decision for an employee in an open space, as a request
// pays it: principal and decision cached since the last change.
func BenchmarkDecision(b *testing.B) {
	d, emp := benchOrg(b)
	p := principal(b, d.authz, emp)
	dom := authz.Space(d.space(b, news))
	if !d.authz.Can(p, dom, "content", "read") {
		b.Fatal("the employee cannot read the news")
	}
	b.ReportAllocs()
	for b.Loop() {
		d.authz.Can(p, dom, "content", "read")
	}
}

// BenchmarkDecisionUncached is a decision Casbin evaluates: each iteration brings a
// principal the decision cache has not seen (as after any change).
func BenchmarkDecisionUncached(b *testing.B) {
	d, emp := benchOrg(b)
	p := principal(b, d.authz, emp)
	dom := authz.Space(d.space(b, news))
	b.ReportAllocs()
	for b.Loop() {
		q := *p
		if !d.authz.Can(&q, dom, "content", "read") {
			b.Fatal("the employee cannot read the news")
		}
	}
}

// BenchmarkReadableSetWarm is what a list request pays for its filter: the principal
// and its readable spaces, both cached.
func BenchmarkReadableSetWarm(b *testing.B) {
	d, emp := benchOrg(b)
	ctx := context.Background()
	principal(b, d.authz, emp)
	b.ReportAllocs()
	for b.Loop() {
		p, err := d.authz.Principal(ctx, emp)
		if err != nil {
			b.Fatal(err)
		}
		if d.authz.Readable(p).All {
			b.Fatal("the employee reads everything")
		}
	}
}

// BenchmarkReadableSetCold is the same right after a change to the user: the principal
// comes from SQL again and the set is computed again.
func BenchmarkReadableSetCold(b *testing.B) {
	d, emp := benchOrg(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d.changes.Publish(ctx, changes.Change{Kind: changes.User, ID: emp})
		b.StartTimer()
		p, err := d.authz.Principal(ctx, emp)
		if err != nil {
			b.Fatal(err)
		}
		if d.authz.Readable(p).All {
			b.Fatal("the employee reads everything")
		}
	}
}

// BenchmarkReadableSetComputed is the set computation alone: the principal is loaded
// (untimed) after a change that drops every cached principal and set.
func BenchmarkReadableSetComputed(b *testing.B) {
	d, emp := benchOrg(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d.changes.Publish(context.Background(), changes.Change{Kind: changes.Roles})
		p := principal(b, d.authz, emp)
		b.StartTimer()
		if d.authz.Readable(p).All {
			b.Fatal("the employee reads everything")
		}
	}
}
