package authz

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/policies"
)

// storedLines returns the casbin_rule table as "ptype, v0, ..." lines without empty fields, sorted.
func storedLines(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line [7]string
		if err := rows.Scan(&line[0], &line[1], &line[2], &line[3], &line[4], &line[5], &line[6]); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(trimEmpty(line[:]), ", "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// enforcerLines returns what an enforcer holds, in the same form as storedLines.
func enforcerLines(t *testing.T, e *casbin.Enforcer) []string {
	t.Helper()
	ps, err := e.GetPolicy()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := e.GetGroupingPolicy()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, "p, "+strings.Join(p, ", "))
	}
	for _, g := range gs {
		out = append(out, "g, "+strings.Join(g, ", "))
	}
	slices.Sort(out)
	return out
}

// defaultLines returns policies/default.csv in the same form as storedLines.
func defaultLines(t *testing.T) []string {
	t.Helper()
	pl, err := ParsePolicyCSV(policies.Default)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pl.Permissions {
		out = append(out, strings.Join([]string{"p", p.Role, p.Domain, p.Object, p.Action}, ", "))
	}
	for _, g := range pl.Inheritance {
		out = append(out, strings.Join([]string{"g", g.Role, g.Inherits}, ", "))
	}
	slices.Sort(out)
	return out
}

func emptyModel(t *testing.T) model.Model {
	t.Helper()
	m, err := model.NewModelFromString(policies.Model)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadedEnforcer(t *testing.T, a *adapter) *casbin.Enforcer {
	t.Helper()
	e, err := casbin.NewEnforcer(emptyModel(t), a)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAdapter runs the adapter's tests on one database per backend.
func TestAdapter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Run("SavesAndLoadsTheDefaultPolicy", func(t *testing.T) { testAdapterSavesAndLoadsTheDefaultPolicy(t, db) })
		t.Run("AddsAndRemovesLines", func(t *testing.T) { testAdapterAddsAndRemovesLines(t, db) })
	})
}

func testAdapterSavesAndLoadsTheDefaultPolicy(t *testing.T, db *store.DB) {
	a := &adapter{db: db}
	pl, err := ParsePolicyCSV(policies.Default)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pl.model()
	if err != nil {
		t.Fatal(err)
	}
	want := defaultLines(t)
	for range 2 { // saving again replaces, never duplicates
		if err := a.SavePolicy(m); err != nil {
			t.Fatal(err)
		}
		if got := storedLines(t, db); !slices.Equal(got, want) {
			t.Fatalf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if got := enforcerLines(t, loadedEnforcer(t, a)); !slices.Equal(got, want) {
		t.Fatalf("loaded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A smaller policy replaces the whole table.
	small := PolicyLines{Permissions: []Permission{adminLine}, Inheritance: []Inheritance{{"owner", "member"}}}
	sm, err := small.model()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SavePolicy(sm); err != nil {
		t.Fatal(err)
	}
	if got := storedLines(t, db); !slices.Equal(got, []string{"g, owner, member", "p, admin, *, *, *"}) {
		t.Fatalf("stored %q", got)
	}
}

func testAdapterAddsAndRemovesLines(t *testing.T, db *store.DB) {
	a := &adapter{db: db}
	if err := a.SavePolicy(emptyModel(t)); err != nil {
		t.Fatal(err)
	}
	if got := storedLines(t, db); len(got) != 0 {
		t.Fatalf("saving an empty policy left %q", got)
	}
	e := loadedEnforcer(t, a)
	if got := enforcerLines(t, e); len(got) != 0 {
		t.Fatalf("an empty table loads %q", got)
	}
	add := [][]string{
		{"admin", "*", "*", "*"},
		{"reader", "space:*", "content", "read"},
		{"reader", "space:*", "members", "read"},
		{"member", "space:*", "content", "create"},
		{"auditor", "global", "users", "read"},
	}
	for _, rule := range add {
		if ok, err := e.AddPolicy(rule); err != nil || !ok {
			t.Fatalf("add %v: %v %v", rule, ok, err)
		}
	}
	if _, err := e.AddGroupingPolicy("member", "reader"); err != nil {
		t.Fatal(err)
	}
	// The adapter itself refuses to store a line twice.
	if err := a.AddPolicy("p", "p", add[1]); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"g, member, reader",
		"p, admin, *, *, *",
		"p, auditor, global, users, read",
		"p, member, space:*, content, create",
		"p, reader, space:*, content, read",
		"p, reader, space:*, members, read",
	}
	if got := storedLines(t, db); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	if got := enforcerLines(t, loadedEnforcer(t, a)); !slices.Equal(got, want) {
		t.Fatalf("reloaded %q, want %q", got, want)
	}

	if ok, err := e.RemovePolicy("auditor", "global", "users", "read"); err != nil || !ok {
		t.Fatalf("remove: %v %v", ok, err)
	}
	// Removing a line that is not stored does nothing.
	if err := a.RemovePolicy("p", "p", []string{"nobody", "global", "users", "read"}); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(s string) bool { return s == "p, auditor, global, users, read" })
	if got := storedLines(t, db); !slices.Equal(got, want) {
		t.Fatalf("after remove: %q, want %q", got, want)
	}

	// An empty field value matches anything: every line on content, whoever holds it.
	if err := a.RemoveFilteredPolicy("p", "p", 1, "", "content"); err != nil {
		t.Fatal(err)
	}
	want = []string{"g, member, reader", "p, admin, *, *, *", "p, reader, space:*, members, read"}
	if got := storedLines(t, db); !slices.Equal(got, want) {
		t.Fatalf("after filtered remove: %q, want %q", got, want)
	}
	if _, err := e.RemoveFilteredGroupingPolicy(0, "member"); err != nil {
		t.Fatal(err)
	}
	want = want[1:]
	if got := storedLines(t, db); !slices.Equal(got, want) {
		t.Fatalf("after filtered grouping remove: %q, want %q", got, want)
	}
	if got := enforcerLines(t, loadedEnforcer(t, a)); !slices.Equal(got, want) {
		t.Fatalf("reloaded %q, want %q", got, want)
	}
}

func TestAdapterRefusesBadLines(t *testing.T) {
	a := &adapter{db: storetest.SQLite(t)}
	for _, c := range []struct {
		index  int
		values []string
	}{
		{-1, []string{"x"}},
		{5, []string{"x", "y"}},
		{0, []string{"a", "b", "c", "d", "e", "f", "g"}},
	} {
		if err := a.RemoveFilteredPolicy("p", "p", c.index, c.values...); err == nil {
			t.Errorf("RemoveFilteredPolicy(%d, %q) succeeded", c.index, c.values)
		}
	}
	if err := a.AddPolicy("p", "p", []string{"a", "b", "c", "d", "e", "f", "g"}); err == nil {
		t.Error("a line of seven fields was stored")
	}
	if got := storedLines(t, a.db); len(got) != 0 {
		t.Fatalf("stored %q", got)
	}
}
