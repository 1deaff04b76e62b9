package authz_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/policies"
)

func defaultPolicy(t testing.TB) authz.PolicyLines {
	t.Helper()
	pl, err := authz.ParsePolicyCSV(policies.Default)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// samePolicy compares two policies as sets of lines.
func samePolicy(a, b authz.PolicyLines) bool {
	cmpP := func(x, y authz.Permission) int {
		return strings.Compare(x.Role+"|"+x.Domain+"|"+x.Object+"|"+x.Action, y.Role+"|"+y.Domain+"|"+y.Object+"|"+y.Action)
	}
	cmpG := func(x, y authz.Inheritance) int { return strings.Compare(x.Role+"|"+x.Inherits, y.Role+"|"+y.Inherits) }
	ap, bp := slices.SortedFunc(slices.Values(a.Permissions), cmpP), slices.SortedFunc(slices.Values(b.Permissions), cmpP)
	ag, bg := slices.SortedFunc(slices.Values(a.Inheritance), cmpG), slices.SortedFunc(slices.Values(b.Inheritance), cmpG)
	return slices.Equal(ap, bp) && slices.Equal(ag, bg)
}

// without returns pl minus the permission line.
func without(pl authz.PolicyLines, p authz.Permission) authz.PolicyLines {
	out := authz.PolicyLines{Permissions: slices.Clone(pl.Permissions), Inheritance: slices.Clone(pl.Inheritance)}
	out.Permissions = slices.DeleteFunc(out.Permissions, func(q authz.Permission) bool { return q == p })
	return out
}

func countRules(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM casbin_rule`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParsePolicyCSV(t *testing.T) {
	pl := defaultPolicy(t)
	if len(pl.Permissions) < 20 || len(pl.Inheritance) != 6 {
		t.Fatalf("default policy: %d permissions, %d inheritance lines", len(pl.Permissions), len(pl.Inheritance))
	}
	if err := pl.Validate(); err != nil {
		t.Fatalf("the default policy is invalid: %v", err)
	}

	got, err := authz.ParsePolicyCSV("# comment\n\np,  admin , *, *, *\n  g, owner,member\n")
	if err != nil {
		t.Fatal(err)
	}
	want := authz.PolicyLines{
		Permissions: []authz.Permission{{Role: "admin", Domain: "*", Object: "*", Action: "*"}},
		Inheritance: []authz.Inheritance{{Role: "owner", Inherits: "member"}},
	}
	if !samePolicy(got, want) || len(got.Permissions) != 1 || len(got.Inheritance) != 1 {
		t.Fatalf("got %+v", got)
	}

	for _, bad := range []string{
		"p, admin, *, *",
		"p, admin, *, *, *, extra",
		"g, owner",
		"g, owner, member, space:*",
		"x, admin, *, *, *",
		`p, "admin, *, *, *`,
	} {
		if _, err := authz.ParsePolicyCSV(bad); err == nil {
			t.Errorf("ParsePolicyCSV(%q) succeeded", bad)
		}
	}
}

func TestValidateRefusesBadPolicies(t *testing.T) {
	base := defaultPolicy(t)
	with := func(p authz.Permission) authz.PolicyLines {
		return authz.PolicyLines{Permissions: append(slices.Clone(base.Permissions), p), Inheritance: base.Inheritance}
	}
	withG := func(g authz.Inheritance) authz.PolicyLines {
		return authz.PolicyLines{Permissions: base.Permissions, Inheritance: append(slices.Clone(base.Inheritance), g)}
	}
	// The bad line is the one appended, so Validate names it.
	added, addedG := fmt.Sprintf("permissions[%d]", len(base.Permissions)), fmt.Sprintf("inheritance[%d]", len(base.Inheritance))
	many := authz.PolicyLines{Permissions: slices.Clone(base.Permissions)}
	for len(many.Permissions) <= 1000 {
		many.Permissions = append(many.Permissions, authz.Permission{Role: "r", Domain: "global", Object: "o", Action: "a"})
	}
	for _, c := range []struct {
		name  string
		pl    authz.PolicyLines
		field string
	}{
		{"one space's domain", with(authz.Permission{Role: "employee", Domain: "space:01HZY3", Object: "content", Action: "read"}), added},
		{"a pattern over spaces", with(authz.Permission{Role: "employee", Domain: "space:01*", Object: "content", Action: "read"}), added},
		{"an empty domain", with(authz.Permission{Role: "employee", Domain: "", Object: "content", Action: "read"}), added},
		{"an unknown domain", with(authz.Permission{Role: "employee", Domain: "plugins", Object: "content", Action: "read"}), added},
		{"a space domain without the star", with(authz.Permission{Role: "employee", Domain: "space:", Object: "content", Action: "read"}), added},
		{"a wildcard role", with(authz.Permission{Role: "*", Domain: "global", Object: "users", Action: "read"}), added},
		{"an upper-case role", with(authz.Permission{Role: "Employee", Domain: "global", Object: "users", Action: "read"}), added},
		{"a pattern object", with(authz.Permission{Role: "employee", Domain: "global", Object: "user*", Action: "read"}), added},
		{"an empty action", with(authz.Permission{Role: "employee", Domain: "global", Object: "users", Action: ""}), added},
		{"a long role", with(authz.Permission{Role: strings.Repeat("r", 65), Domain: "global", Object: "users", Action: "read"}), added},
		{"no admin line", without(base, authz.Permission{Role: "admin", Domain: "*", Object: "*", Action: "*"}), "permissions"},
		{"a role inheriting itself", withG(authz.Inheritance{Role: "owner", Inherits: "owner"}), addedG},
		{"a bad inherited role", withG(authz.Inheritance{Role: "owner", Inherits: "a b"}), addedG},
		{"too many lines", many, "permissions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.pl.Validate()
			wantKind(t, err, fault.Invalid)
			if f := fault.As(err).Fields; len(f) != 1 || f[0].Name != c.field {
				t.Fatalf("fields %+v, want %s", f, c.field)
			}
		})
	}
}

// smallOrg is a node with an admin, an employee, an external and one space of each visibility.
type smallOrg struct {
	*node
	admin, employee, external string
	open, members, private    string
}

func newSmallOrg(t testing.TB, db *store.DB, b bus.Bus) *smallOrg {
	t.Helper()
	ctx := context.Background()
	o := &smallOrg{node: newNode(t, db, b)}
	mk := func(email string, roles ...string) string {
		u, err := o.users.CreateUser(ctx, identity.NewUser{Email: email, Name: email, Password: "correct horse battery", Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	o.admin = mk("admin@example.org", identity.RoleAdmin)
	o.employee = mk("employee@example.org", identity.RoleEmployee)
	o.external = mk("external@example.org", identity.RoleExternal)
	sp := func(name string, v spaces.Visibility) string {
		s, err := o.spaces.Create(ctx, o.admin, spaces.NewSpace{Name: name, Visibility: v})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	o.open, o.members, o.private = sp("Open", spaces.Open), sp("Members", spaces.Members), sp("Private", spaces.Private)
	return o
}

func TestDefaultPolicyIsWrittenOnFirstStartOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		def := defaultPolicy(t)
		if n := countRules(t, db); n != 0 {
			t.Fatalf("a new database holds %d policy lines", n)
		}
		first := newNode(t, db, memoryBus(t))
		if n := countRules(t, db); n != len(def.Permissions)+len(def.Inheritance) {
			t.Fatalf("first start stored %d lines, want %d", n, len(def.Permissions)+len(def.Inheritance))
		}
		got, err := first.authz.Policy()
		if err != nil {
			t.Fatal(err)
		}
		if !samePolicy(got, def) {
			t.Fatalf("policy in force %+v, want the default", got)
		}

		// A restart keeps what is stored, edited or not, and adds nothing.
		newNode(t, db, memoryBus(t))
		if n := countRules(t, db); n != len(def.Permissions)+len(def.Inheritance) {
			t.Fatalf("a restart changed the line count to %d", n)
		}
		edited := without(def, authz.Permission{Role: "employee", Domain: "global", Object: "spaces", Action: "create"})
		if err := first.authz.SetPolicy(ctx, edited); err != nil {
			t.Fatal(err)
		}
		again := newNode(t, db, memoryBus(t))
		got, err = again.authz.Policy()
		if err != nil {
			t.Fatal(err)
		}
		if !samePolicy(got, edited) {
			t.Fatalf("after a restart the policy is %+v, want the edited one", got)
		}
		if n := countRules(t, db); n != len(edited.Permissions)+len(edited.Inheritance) {
			t.Fatalf("stored %d lines, want %d", n, len(edited.Permissions)+len(edited.Inheritance))
		}
	})
}

func TestSetPolicyTakesEffectAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newSmallOrg(t, db, memoryBus(t))
		az := o.authz
		def := defaultPolicy(t)
		emp := principal(t, az, o.employee)
		readable := func() authz.SpaceSet { return az.Readable(principal(t, az, o.employee)) }

		if !az.Can(emp, authz.Global, "spaces", "create") {
			t.Fatal("an employee cannot create spaces under the default policy")
		}
		if got := readable(); got.All || !slices.Equal(got.IDs, []string{o.open}) {
			t.Fatalf("readable %+v, want only the open space", got)
		}

		// Taking a line away denies at once.
		if err := az.SetPolicy(ctx, without(def, authz.Permission{Role: "employee", Domain: "global", Object: "spaces", Action: "create"})); err != nil {
			t.Fatal(err)
		}
		if az.Can(emp, authz.Global, "spaces", "create") {
			t.Fatal("an employee still creates spaces after the line was removed")
		}

		// A line for every space turns the set into All, private spaces included.
		wide := def
		wide.Permissions = append(slices.Clone(def.Permissions), authz.Permission{Role: "employee", Domain: "space:*", Object: "content", Action: "read"})
		if err := az.SetPolicy(ctx, wide); err != nil {
			t.Fatal(err)
		}
		if got := readable(); !got.All || !got.Has(o.private) {
			t.Fatalf("readable %+v, want All", got)
		}
		if !az.Can(emp, authz.Space(o.private), "content", "read") {
			t.Fatal("the employee-wide line does not reach private spaces")
		}
		if az.Readable(principal(t, az, o.external)).All {
			t.Fatal("externals got the employees' line")
		}

		// Dropping an inheritance line takes its permissions with it.
		noReader := authz.PolicyLines{Permissions: def.Permissions}
		for _, g := range def.Inheritance {
			if g != (authz.Inheritance{Role: "reader", Inherits: "viewer"}) {
				noReader.Inheritance = append(noReader.Inheritance, g)
			}
		}
		if err := az.SetPolicy(ctx, noReader); err != nil {
			t.Fatal(err)
		}
		if got := az.Visible(principal(t, az, o.employee)); got.All || !slices.Equal(got.IDs, []string{o.members}) {
			t.Fatalf("visible %+v: readers no longer inherit viewer, so only the members-only space stays", got)
		}

		// A refused edit changes nothing.
		if err := az.SetPolicy(ctx, def); err != nil {
			t.Fatal(err)
		}
		before := countRules(t, db)
		bad := def
		bad.Permissions = append(slices.Clone(def.Permissions), authz.Permission{Role: "employee", Domain: authz.Space(o.private), Object: "content", Action: "read"})
		wantKind(t, az.SetPolicy(ctx, bad), fault.Invalid)
		wantKind(t, az.SetPolicy(ctx, without(def, authz.Permission{Role: "admin", Domain: "*", Object: "*", Action: "*"})), fault.Invalid)
		if got, _ := az.Policy(); !samePolicy(got, def) || countRules(t, db) != before {
			t.Fatalf("a refused edit changed the policy to %+v", got)
		}
		if az.Can(principal(t, az, o.employee), authz.Space(o.private), "content", "read") {
			t.Fatal("a refused line took effect")
		}
	})
}
