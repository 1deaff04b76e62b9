package authz_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/internal/testsvc"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/core/uid"
)

// The demo organisation's spaces.
const (
	news        = "Nieuws & mededelingen" // open to every employee
	knowledge   = "Kennisbank"
	helpdesk    = "IT-helpdesk"
	coffee      = "Koffiehoek"
	civil       = "Burgerzaken" // department spaces: open to the department's role
	finance     = "Financiën"
	ict         = "Informatievoorziening & ICT"
	planning    = "Ruimtelijke Ontwikkeling"
	secretariat = "Secretariaat" // members-only
	townHall    = "Project Nieuw Gemeentehuis"
	digital     = "Project Digitale Dienstverlening"
	housing     = "Project Woningbouw Centrum"
	management  = "Managementteam"            // private
	partners    = "Samenwerking met externen" // open to the externals' roles, a project's and the management team's
)

var everyone = []string{news, knowledge, helpdesk, coffee}

// TestDemoOrganisation checks authorization on the demo organisation, seeded once per
// backend. Subtests that change data make their own spaces or undo what they change.
func TestDemoOrganisation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := memoryBus(t)
		d := seedDemo(t, db, b)
		t.Run("Decisions", func(t *testing.T) { testDecisions(t, d) })
		t.Run("SpaceSetsOfSampleUsers", func(t *testing.T) { testSampleSets(t, d) })
		t.Run("SpaceSetsMatchDecisions", func(t *testing.T) { testSetsMatchDecisions(t, d) })
		t.Run("RequireSpaceHidesWhatCannotBeSeen", func(t *testing.T) { testRequireSpace(t, d) })
		t.Run("SpaceRolesInherit", func(t *testing.T) { testSpaceRoles(t, d) })
		t.Run("Rules", func(t *testing.T) { testRules(t, d) })
		t.Run("ChangesApplyAtOnce", func(t *testing.T) { testInvalidation(t, d) })
		t.Run("ChangesReachOtherReplicas", func(t *testing.T) {
			t.Run("memory", func(t *testing.T) { testReplicas(t, d.node, newNode(t, db, b)) })
			t.Run("redis", func(t *testing.T) {
				prefix := testsvc.Name("plein_authz_") + ":"
				c := testsvc.Redis(t)
				busA, busB := bus.NewRedis(c, prefix, quiet), bus.NewRedis(c, prefix, quiet)
				t.Cleanup(func() { _ = busA.Close(); _ = busB.Close() })
				testReplicas(t, newNode(t, db, busA), newNode(t, db, busB))
			})
		})
		t.Run("DisabledAndDeletedUsersAreSignedOut", func(t *testing.T) { testSignedOut(t, d) })
		// Whatever the subtests changed, sets and decisions still agree.
		t.Run("SpaceSetsStillMatchDecisions", func(t *testing.T) { testSetsMatchDecisions(t, d) })
	})
}

// sampleUsers returns the demo's sample logins and a few more kinds of user, by a short name.
func sampleUsers(t *testing.T, d *demoOrg) map[string]string {
	has := func(roles ...string) func(u identity.User) bool {
		return func(u identity.User) bool {
			for _, r := range roles {
				if !slices.Contains(u.Roles, r) {
					return false
				}
			}
			return true
		}
	}
	users := map[string]string{
		"finance-head": d.someone(t, "a head of finance", has("dept-finance", "management-team")),
		"comms":        d.someone(t, "in communications", has("dept-communications")),
		"consultant":   d.someone(t, "an external consultant", has("external-consultant")),
	}
	for _, local := range []string{"admin", "manager", "employee", "secretary", "helpdesk", "project", "external"} {
		users[local] = d.user(t, local)
	}
	return users
}

func testDecisions(t *testing.T, d *demoOrg) {
	users := sampleUsers(t, d)
	const global, missing = "", "(no such space)"
	cases := []struct {
		who, space, obj, act string
		want                 bool
	}{
		// Admins may do everything, everywhere, even in spaces that do not exist (yet).
		{"admin", global, "users", "manage", true},
		{"admin", global, "policies", "manage", true},
		{"admin", global, "roles", "assign_privileged", true},
		{"admin", global, "anything", "at-all", true},
		{"admin", management, "content", "read", true},
		{"admin", civil, "space", "delete", true},
		{"admin", missing, "content", "moderate", true},

		// Managers run roles, spaces and members, never users' credentials or the policy.
		{"manager", global, "roles", "read", true},
		{"manager", global, "roles", "create", true},
		{"manager", global, "roles", "update", true},
		{"manager", global, "roles", "delete", true},
		{"manager", global, "roles", "assign", true},
		{"manager", global, "roles", "assign_privileged", false},
		{"manager", global, "users", "read", true},
		{"manager", global, "users", "manage", false},
		{"manager", global, "users", "create", false},
		{"manager", global, "policies", "manage", false},
		{"manager", global, "policies", "read", false},
		{"manager", global, "spaces", "create", true},
		{"manager", global, "plugins", "manage", true},
		{"manager", civil, "space", "view", true},
		{"manager", civil, "space", "manage", true},
		{"manager", civil, "space", "delete", true},
		{"manager", civil, "members", "manage", true},
		{"manager", civil, "members", "read", true},
		{"manager", civil, "content", "read", false}, // managing a space is not reading it
		{"manager", civil, "content", "create", false},
		{"manager", management, "content", "read", true}, // a member
		{"manager", news, "content", "read", true},

		// Employees read open spaces, see members-only ones, and nothing else.
		{"employee", global, "spaces", "create", true},
		{"employee", global, "roles", "read", true},
		{"employee", global, "roles", "create", false},
		{"employee", global, "roles", "assign", false},
		{"employee", global, "users", "read", false},
		{"employee", global, "plugins", "manage", false},
		{"employee", global, "policies", "manage", false},
		{"employee", news, "space", "view", true},
		{"employee", news, "content", "read", true},
		{"employee", news, "members", "read", true},
		{"employee", news, "comment", "create", true},
		{"employee", news, "content", "create", false},
		{"employee", news, "content", "moderate", false},
		{"employee", news, "space", "manage", false},
		{"employee", news, "members", "manage", false},
		{"employee", finance, "content", "create", true}, // a member of their department
		{"employee", finance, "members", "manage", false},
		{"employee", finance, "space", "manage", false},
		{"employee", civil, "space", "view", false}, // another department's space
		{"employee", civil, "content", "read", false},
		{"employee", secretariat, "space", "view", true}, // members-only: the name, not the content
		{"employee", secretariat, "content", "read", false},
		{"employee", secretariat, "members", "read", false},
		{"employee", secretariat, "comment", "create", false},
		{"employee", townHall, "space", "view", true},
		{"employee", townHall, "content", "read", false},
		{"employee", management, "space", "view", false}, // private
		{"employee", management, "content", "read", false},
		{"employee", partners, "space", "view", false},
		{"employee", missing, "space", "view", false},

		{"finance-head", finance, "members", "manage", true}, // owner
		{"finance-head", finance, "space", "manage", true},
		{"finance-head", finance, "space", "delete", true},
		{"finance-head", civil, "members", "manage", false},
		{"finance-head", management, "content", "read", true},
		{"secretary", secretariat, "content", "read", true},
		{"secretary", secretariat, "content", "create", true},
		{"secretary", secretariat, "content", "moderate", false},
		{"secretary", management, "space", "view", false},
		{"helpdesk", helpdesk, "content", "moderate", true},
		{"helpdesk", news, "content", "moderate", false},
		{"helpdesk", ict, "content", "read", true},
		{"comms", news, "content", "moderate", true},
		{"comms", news, "members", "manage", false},
		{"project", townHall, "content", "create", true},
		{"project", partners, "content", "read", true},
		{"project", partners, "content", "create", false},
		{"project", housing, "space", "view", true},
		{"project", housing, "content", "read", false},
		{"project", planning, "content", "read", true},

		// Externals see only what is opened to their roles or where they are members.
		{"external", global, "spaces", "create", false},
		{"external", global, "roles", "read", false},
		{"external", global, "users", "read", false},
		{"external", news, "space", "view", false},
		{"external", coffee, "content", "read", false},
		{"external", partners, "content", "read", true},
		{"external", partners, "comment", "create", true},
		{"external", partners, "content", "create", false},
		{"external", townHall, "content", "read", true},
		{"external", townHall, "content", "create", true},
		{"external", secretariat, "space", "view", false}, // members-only spaces are for employees
		{"external", housing, "space", "view", false},
		{"external", management, "space", "view", false},
		{"external", finance, "space", "view", false},
		{"consultant", partners, "content", "read", true},
		{"consultant", townHall, "space", "view", false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s/%s", c.who, c.space, c.obj, c.act), func(t *testing.T) {
			p := principal(t, d.authz, users[c.who])
			dom := authz.Global
			switch c.space {
			case global:
			case missing:
				dom = authz.Space(uid.New())
			default:
				dom = authz.Space(d.space(t, c.space))
			}
			if got := d.authz.Can(p, dom, c.obj, c.act); got != c.want {
				t.Fatalf("Can = %v, want %v", got, c.want)
			}
			err := d.authz.Require(p, dom, c.obj, c.act)
			if c.want && err != nil || !c.want && !fault.Is(err, fault.Forbidden) {
				t.Fatalf("Require = %v", err)
			}
		})
	}
	if d.authz.Can(nil, authz.Global, "roles", "read") {
		t.Fatal("a nil principal may do something")
	}
}

func testSampleSets(t *testing.T, d *demoOrg) {
	plus := func(names ...string) []string { return append(slices.Clone(everyone), names...) }
	cases := []struct {
		who               string
		readable, visible []string // nil: All
	}{
		{"admin", nil, nil},
		{"manager", plus(management, partners), nil},
		{"employee", plus(finance), plus(finance, secretariat, townHall, digital, housing)},
		{"secretary", plus(secretariat), plus(secretariat, townHall, digital, housing)},
		{"helpdesk", plus(ict), plus(ict, secretariat, townHall, digital, housing)},
		{"project", plus(planning, townHall, partners), plus(planning, townHall, partners, secretariat, digital, housing)},
		{"external", []string{townHall, partners}, []string{townHall, partners}},
	}
	for _, c := range cases {
		t.Run(c.who, func(t *testing.T) {
			p := principal(t, d.authz, d.user(t, c.who))
			check := func(what string, got authz.SpaceSet, want []string) {
				t.Helper()
				if want == nil {
					if !got.All {
						t.Fatalf("%s: %q, want All", what, d.spaceNames(got.IDs))
					}
					return
				}
				if got.All || !slices.Equal(got.IDs, d.spaceIDs(t, want...)) {
					t.Fatalf("%s: %v %q, want %q", what, got.All, d.spaceNames(got.IDs), want)
				}
			}
			check("readable", d.authz.Readable(p), c.readable)
			check("visible", d.authz.Visible(p), c.visible)
			// A second call comes from the cache and says the same.
			check("readable again", d.authz.Readable(p), c.readable)
		})
	}
}

// testSetsMatchDecisions checks, for the sample users and a spread of others, that the
// space sets lists are filtered by hold exactly the spaces where a single decision says
// yes. (Every user would take seconds under the race detector.)
func testSetsMatchDecisions(t *testing.T, d *demoOrg) {
	ctx := context.Background()
	access, err := d.spaces.AccessList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(access))
	for i, a := range access {
		ids[i] = a.ID
	}
	future := uid.New() // a space made later: in the set only if the set is All

	samples := sampleUsers(t, d)
	users := slices.Collect(maps.Values(samples))
	emails := slices.Sorted(maps.Keys(d.org.Users))
	for i := 5; i < len(emails); i += 16 {
		users = append(users, d.org.Users[emails[i]].ID)
	}
	checked := 0
	for _, user := range users {
		p, err := d.authz.Principal(ctx, user)
		if fault.Is(err, fault.Unauthenticated) {
			continue // disabled or deleted by an earlier subtest
		}
		if err != nil {
			t.Fatal(err)
		}
		checked++
		who := emailOf(d, user)
		pairs := [][2]string{{"content", "read"}, {"space", "view"}}
		if slices.Contains(slices.Collect(maps.Values(samples)), user) {
			pairs = append(pairs, [2]string{"content", "create"}, [2]string{"content", "moderate"}, [2]string{"members", "manage"}, [2]string{"space", "manage"})
		}
		for _, oa := range pairs {
			set := d.authz.Spaces(p, oa[0], oa[1])
			if !set.All && !slices.IsSorted(set.IDs) {
				t.Fatalf("%s %s %s: set not sorted", who, oa[0], oa[1])
			}
			for _, id := range ids {
				if can := d.authz.Can(p, authz.Space(id), oa[0], oa[1]); can != set.Has(id) {
					t.Fatalf("%s %s %s in %q: Can says %v, the set says %v", who, oa[0], oa[1], d.spaceNames([]string{id}), can, set.Has(id))
				}
			}
			if can := d.authz.Can(p, authz.Space(future), oa[0], oa[1]); can != set.All {
				t.Fatalf("%s %s %s in a future space: Can says %v, the set is All: %v", who, oa[0], oa[1], can, set.All)
			}
			if !set.All {
				for _, id := range set.IDs {
					if !slices.Contains(ids, id) {
						t.Fatalf("%s %s %s: the set holds %s, which is no space", who, oa[0], oa[1], id)
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d users", checked)
	}
}

func emailOf(d *demoOrg, id string) string {
	for email, u := range d.org.Users {
		if u.ID == id {
			return email
		}
	}
	return id
}

func testRequireSpace(t *testing.T, d *demoOrg) {
	cases := []struct {
		who, space, obj, act string
		want                 fault.Kind // Internal: allowed
	}{
		{"employee", news, "content", "read", fault.Internal},
		{"employee", secretariat, "space", "view", fault.Internal},
		{"employee", secretariat, "content", "read", fault.Forbidden},
		{"employee", news, "space", "manage", fault.Forbidden},
		{"employee", management, "space", "view", fault.NotFound},
		{"employee", management, "content", "read", fault.NotFound},
		{"employee", civil, "content", "read", fault.NotFound},
		{"manager", civil, "content", "read", fault.Forbidden},
		{"manager", civil, "members", "manage", fault.Internal},
		{"external", news, "content", "read", fault.NotFound},
		{"external", partners, "content", "create", fault.Forbidden},
		{"admin", management, "space", "delete", fault.Internal},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s/%s", c.who, c.space, c.obj, c.act), func(t *testing.T) {
			p := principal(t, d.authz, d.user(t, c.who))
			err := d.authz.RequireSpace(p, d.space(t, c.space), c.obj, c.act)
			if c.want == fault.Internal {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, c.want)
		})
	}
	// A space that does not exist is not found, even by admins.
	admin := principal(t, d.authz, d.user(t, "admin"))
	for _, id := range []string{uid.New(), "not-an-id", ""} {
		wantKind(t, d.authz.RequireSpace(admin, id, "space", "view"), fault.NotFound)
		if d.authz.SpaceExists(id) {
			t.Fatalf("SpaceExists(%q)", id)
		}
	}
	if !d.authz.SpaceExists(d.space(t, management)) {
		t.Fatal("SpaceExists is false for a private space")
	}
}

// testSpaceRoles gives users each space role in a new private space and checks what
// each may do there: reader < member < moderator < owner.
func testSpaceRoles(t *testing.T, d *demoOrg) {
	ctx := context.Background()
	admin := d.user(t, "admin")
	sp, err := d.spaces.Create(ctx, admin, spaces.NewSpace{Name: "Role ladder", Visibility: spaces.Private})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.spaces.Delete(ctx, sp.ID) })
	// Four plain employees of the legal department: three members and one outsider.
	var legal []string
	for email, u := range d.org.Users {
		if slices.Equal(u.Roles, []string{"dept-legal", "employee"}) {
			legal = append(legal, email)
		}
	}
	if len(legal) < 4 {
		t.Fatalf("only %d plain legal employees in the demo", len(legal))
	}
	slices.Sort(legal)
	holders := map[string]string{"owner": admin}
	for i, role := range []string{spaces.Reader, spaces.Member, spaces.Moderator, "none"} {
		holders[role] = d.org.Users[legal[i]].ID
		if role != "none" {
			if _, err := d.spaces.SetMember(ctx, sp.ID, holders[role], role); err != nil {
				t.Fatal(err)
			}
		}
	}
	holders["manager"] = d.user(t, "manager")
	holders["external"] = d.user(t, "external")

	actions := [][2]string{
		{"space", "view"}, {"content", "read"}, {"members", "read"}, {"comment", "create"},
		{"content", "create"}, {"content", "moderate"}, {"space", "manage"}, {"space", "delete"}, {"members", "manage"},
	}
	want := map[string]int{ // how many of actions, from the first, each holder may do
		"none": 0, "external": 0, "reader": 4, "member": 5, "moderator": 6, "owner": 9,
	}
	for role, n := range want {
		p := principal(t, d.authz, holders[role])
		for i, oa := range actions {
			if got := d.authz.Can(p, authz.Space(sp.ID), oa[0], oa[1]); got != (i < n) {
				t.Errorf("%s: Can(%s %s) = %v, want %v", role, oa[0], oa[1], got, i < n)
			}
		}
		if got := p.SpaceRole(sp.ID); role != "none" && role != "external" && got != role {
			t.Errorf("%s: SpaceRole = %q", role, got)
		}
	}
	// Managers manage every space without reading it.
	p := principal(t, d.authz, holders["manager"])
	for _, oa := range actions {
		wantCan := oa[0] == "space" || oa[0] == "members"
		if got := d.authz.Can(p, authz.Space(sp.ID), oa[0], oa[1]); got != wantCan {
			t.Errorf("manager: Can(%s %s) = %v, want %v", oa[0], oa[1], got, wantCan)
		}
	}
}

func testRules(t *testing.T, d *demoOrg) {
	ctx := context.Background()
	az := d.authz
	users := sampleUsers(t, d)
	p := func(who string) *authz.Principal { return principal(t, az, users[who]) }

	t.Run("CheckReadUser", func(t *testing.T) {
		if err := az.CheckReadUser(p("employee"), users["employee"]); err != nil {
			t.Fatalf("reading oneself: %v", err)
		}
		wantKind(t, az.CheckReadUser(p("employee"), users["secretary"]), fault.Forbidden)
		wantKind(t, az.CheckReadUser(p("external"), users["employee"]), fault.Forbidden)
		for _, who := range []string{"manager", "admin"} {
			if err := az.CheckReadUser(p(who), users["employee"]); err != nil {
				t.Fatalf("%s reading a user: %v", who, err)
			}
		}
	})

	t.Run("CheckAssignRoles", func(t *testing.T) {
		emp := []string{"employee", "dept-finance"}
		cases := []struct {
			who           string
			before, after []string
			want          fault.Kind
		}{
			{"manager", emp, []string{"employee", "dept-it"}, fault.Internal},
			{"manager", nil, []string{"external", "external-contractor"}, fault.Internal},
			{"manager", emp, []string{"employee", "dept-finance", "manager"}, fault.Forbidden},
			{"manager", emp, []string{"admin"}, fault.Forbidden},
			{"manager", []string{"manager", "employee"}, []string{"employee"}, fault.Forbidden},
			{"manager", []string{"admin"}, []string{"admin", "employee"}, fault.Internal}, // admin neither given nor taken
			{"admin", emp, []string{"admin", "manager"}, fault.Internal},
			{"admin", []string{"manager"}, nil, fault.Internal},
			{"employee", emp, []string{"employee", "dept-it"}, fault.Forbidden},
			{"employee", emp, emp, fault.Forbidden},
			{"external", nil, []string{"external"}, fault.Forbidden},
		}
		for _, c := range cases {
			err := az.CheckAssignRoles(p(c.who), c.before, c.after)
			if c.want == fault.Internal && err != nil || c.want != fault.Internal && !fault.Is(err, c.want) {
				t.Errorf("%s: %v -> %v: got %v, want kind %d", c.who, c.before, c.after, err, c.want)
			}
		}
	})

	t.Run("CheckSetMember", func(t *testing.T) {
		cases := []struct {
			who, space, user, role string
			want                   fault.Kind
		}{
			{"employee", news, "employee", spaces.Member, fault.Internal},  // joining an open space
			{"employee", news, "employee", spaces.Owner, fault.Forbidden},  // but not as its owner
			{"employee", news, "employee", spaces.Reader, fault.Forbidden}, // only as a member
			{"employee", news, "secretary", spaces.Member, fault.Forbidden},
			{"employee", finance, "employee", spaces.Owner, fault.Forbidden}, // already a member: no self-promotion
			{"employee", secretariat, "employee", spaces.Member, fault.Forbidden},
			{"employee", management, "employee", spaces.Member, fault.NotFound},
			{"employee", civil, "employee", spaces.Member, fault.NotFound},
			{"external", partners, "external", spaces.Member, fault.Internal},
			{"external", news, "external", spaces.Member, fault.NotFound},
			{"finance-head", finance, "secretary", spaces.Owner, fault.Internal},
			{"finance-head", civil, "secretary", spaces.Member, fault.NotFound},
			{"manager", civil, "secretary", spaces.Owner, fault.Internal},
			{"manager", management, "employee", spaces.Member, fault.Internal},
			{"admin", management, "external", spaces.Reader, fault.Internal},
		}
		for _, c := range cases {
			err := az.CheckSetMember(p(c.who), d.space(t, c.space), users[c.user], c.role)
			if c.want == fault.Internal && err != nil || c.want != fault.Internal && !fault.Is(err, c.want) {
				t.Errorf("%s sets %s as %s in %s: got %v, want kind %d", c.who, c.user, c.role, c.space, err, c.want)
			}
		}
		wantKind(t, az.CheckSetMember(p("admin"), uid.New(), users["employee"], spaces.Member), fault.NotFound)
	})

	t.Run("CheckRemoveMember", func(t *testing.T) {
		cases := []struct {
			who, space, user string
			want             fault.Kind
		}{
			{"employee", finance, "employee", fault.Internal}, // leaving
			{"employee", news, "employee", fault.Internal},
			{"external", townHall, "external", fault.Internal},
			{"employee", finance, "finance-head", fault.Forbidden},
			{"secretary", secretariat, "employee", fault.Forbidden},
			{"employee", management, "manager", fault.NotFound},
			{"employee", management, "employee", fault.NotFound},
			{"finance-head", finance, "employee", fault.Internal},
			{"manager", civil, "employee", fault.Internal},
			{"admin", management, "manager", fault.Internal},
		}
		for _, c := range cases {
			err := az.CheckRemoveMember(p(c.who), d.space(t, c.space), users[c.user])
			if c.want == fault.Internal && err != nil || c.want != fault.Internal && !fault.Is(err, c.want) {
				t.Errorf("%s removes %s from %s: got %v, want kind %d", c.who, c.user, c.space, err, c.want)
			}
		}
	})

	t.Run("LastOwnerStays", func(t *testing.T) {
		// The admin made every demo space and owns it; in department spaces the head is
		// a second owner.
		admin, head := users["admin"], users["finance-head"]
		mt := d.space(t, management)
		wantKind(t, d.spaces.RemoveMember(ctx, mt, admin), fault.Conflict)
		_, err := d.spaces.SetMember(ctx, mt, admin, spaces.Member)
		wantKind(t, err, fault.Conflict)
		fin := d.space(t, finance)
		if _, err := d.spaces.SetMember(ctx, fin, head, spaces.Member); err != nil {
			t.Fatalf("demoting one of two owners: %v", err)
		}
		wantKind(t, d.spaces.RemoveMember(ctx, fin, admin), fault.Conflict)
		if _, err := d.spaces.SetMember(ctx, fin, head, spaces.Owner); err != nil {
			t.Fatal(err)
		}
		if !az.Can(p("finance-head"), authz.Space(fin), "members", "manage") {
			t.Fatal("the head is owner again but may not manage members")
		}
	})
}

func testInvalidation(t *testing.T, d *demoOrg) {
	ctx := context.Background()
	az := d.authz
	emp := d.user(t, "employee")
	readable := func(user string) authz.SpaceSet { return az.Readable(principal(t, az, user)) }
	visible := func(user string) authz.SpaceSet { return az.Visible(principal(t, az, user)) }

	t.Run("RoleChange", func(t *testing.T) {
		ictID := d.space(t, ict)
		if readable(emp).Has(ictID) { // also warms the caches
			t.Fatal("finance reads IT's space")
		}
		if _, err := d.users.SetRoles(ctx, emp, []string{"employee", "dept-finance", "dept-it"}); err != nil {
			t.Fatal(err)
		}
		if !readable(emp).Has(ictID) {
			t.Fatal("a new role did not open its space")
		}
		if _, err := d.users.SetRoles(ctx, emp, []string{"employee", "dept-finance"}); err != nil {
			t.Fatal(err)
		}
		if readable(emp).Has(ictID) {
			t.Fatal("a taken role still opens its space")
		}
	})

	t.Run("MembershipChange", func(t *testing.T) {
		mt := d.space(t, management)
		if visible(emp).Has(mt) || readable(emp).Has(mt) {
			t.Fatal("the private space shows before joining")
		}
		if _, err := d.spaces.SetMember(ctx, mt, emp, spaces.Reader); err != nil {
			t.Fatal(err)
		}
		if !visible(emp).Has(mt) || !readable(emp).Has(mt) {
			t.Fatal("joining did not show the private space")
		}
		if err := d.spaces.RemoveMember(ctx, mt, emp); err != nil {
			t.Fatal(err)
		}
		if visible(emp).Has(mt) || readable(emp).Has(mt) {
			t.Fatal("leaving did not hide the private space")
		}
	})

	t.Run("SpaceChange", func(t *testing.T) {
		hd := d.user(t, "helpdesk")
		admin := d.user(t, "admin")
		sp, err := d.spaces.Create(ctx, admin, spaces.NewSpace{Name: "Changing", Visibility: spaces.Members})
		if err != nil {
			t.Fatal(err)
		}
		step := func(what string, wantVisible, wantReadable bool, user string) {
			t.Helper()
			if got := visible(user).Has(sp.ID); got != wantVisible {
				t.Fatalf("%s: visible %v, want %v", what, got, wantVisible)
			}
			if got := readable(user).Has(sp.ID); got != wantReadable {
				t.Fatalf("%s: readable %v, want %v", what, got, wantReadable)
			}
		}
		step("members-only", true, false, emp)
		open := spaces.Open
		if _, err := d.spaces.Update(ctx, sp.ID, spaces.Patch{Visibility: &open}); err != nil {
			t.Fatal(err)
		}
		step("open to everyone", true, true, emp)
		roles := []string{"dept-it"}
		if _, err := d.spaces.Update(ctx, sp.ID, spaces.Patch{Roles: &roles}); err != nil {
			t.Fatal(err)
		}
		step("open to IT, for finance", false, false, emp)
		step("open to IT, for IT", true, true, hd)
		private := spaces.Private
		if _, err := d.spaces.Update(ctx, sp.ID, spaces.Patch{Visibility: &private}); err != nil {
			t.Fatal(err)
		}
		step("private, for IT", false, false, hd)
		if _, err := d.spaces.SetMember(ctx, sp.ID, hd, spaces.Member); err != nil {
			t.Fatal(err)
		}
		step("private, for a member", true, true, hd)
		if err := d.spaces.Delete(ctx, sp.ID); err != nil {
			t.Fatal(err)
		}
		step("deleted, for its former member", false, false, hd)
		if az.SpaceExists(sp.ID) {
			t.Fatal("a deleted space still exists")
		}
		if _, ok := principal(t, az, hd).Spaces[sp.ID]; ok {
			t.Fatal("the principal still holds a membership of a deleted space")
		}
	})

	t.Run("NewRoleOpensSpace", func(t *testing.T) {
		if _, err := d.users.CreateRole(ctx, "night-shift", "Night shift", ""); err != nil {
			t.Fatal(err)
		}
		sp, err := d.spaces.Create(ctx, d.user(t, "admin"), spaces.NewSpace{Name: "Night desk", Visibility: spaces.Open, Roles: []string{"night-shift"}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.spaces.Delete(ctx, sp.ID) }()
		if readable(emp).Has(sp.ID) {
			t.Fatal("the night desk is readable without the role")
		}
		if _, err := d.users.SetRoles(ctx, emp, []string{"employee", "dept-finance", "night-shift"}); err != nil {
			t.Fatal(err)
		}
		if !readable(emp).Has(sp.ID) {
			t.Fatal("the night desk is not readable with the role")
		}
		// Deleting a role takes it from everyone; it cannot go while it opens a space.
		wantKind(t, d.users.DeleteRole(ctx, "night-shift"), fault.Conflict)
		empty := []string{}
		if _, err := d.spaces.Update(ctx, sp.ID, spaces.Patch{Roles: &empty}); err != nil {
			t.Fatal(err)
		}
		if err := d.users.DeleteRole(ctx, "night-shift"); err != nil {
			t.Fatal(err)
		}
		if roles := principal(t, az, emp).Roles; !slices.Equal(roles, []string{"dept-finance", "employee"}) {
			t.Fatalf("after deleting the role the principal holds %q", roles)
		}
	})

	t.Run("PolicyChange", func(t *testing.T) {
		def := defaultPolicy(t)
		if got := readable(emp); len(got.IDs) == 0 {
			t.Fatal("the employee reads nothing")
		}
		noRead := without(def, authz.Permission{Role: "reader", Domain: "space:*", Object: "content", Action: "read"})
		if err := az.SetPolicy(ctx, noRead); err != nil {
			t.Fatal(err)
		}
		if got := readable(emp); got.All || len(got.IDs) != 0 {
			t.Fatalf("with no reader line the employee still reads %q", d.spaceNames(got.IDs))
		}
		if err := az.SetPolicy(ctx, def); err != nil {
			t.Fatal(err)
		}
		if got := readable(emp); !slices.Equal(got.IDs, d.spaceIDs(t, append(slices.Clone(everyone), finance)...)) {
			t.Fatalf("after restoring the policy the employee reads %q", d.spaceNames(got.IDs))
		}
	})

	t.Run("ResyncReloadsEverything", func(t *testing.T) {
		// A change behind the services' back, as a replica sees it after missing
		// notices: nothing changes until the resync.
		sec := d.space(t, secretariat)
		if readable(emp).Has(sec) {
			t.Fatal("finance reads the secretariat")
		}
		if _, err := d.db.ExecContext(ctx, `UPDATE spaces SET visibility = 'open' WHERE id = $1`, sec); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = d.db.ExecContext(ctx, `UPDATE spaces SET visibility = 'members' WHERE id = $1`, sec)
			d.changes.Publish(ctx, changes.Change{Kind: changes.All})
		}()
		if readable(emp).Has(sec) {
			t.Fatal("the cached set changed without a notice")
		}
		d.changes.Publish(ctx, changes.Change{Kind: changes.All})
		if !readable(emp).Has(sec) {
			t.Fatal("a resync did not reload the space")
		}
	})
}

// testReplicas makes changes through a and checks that b, another replica on the same
// database and bus, reflects each of them.
func testReplicas(t *testing.T, a, b *node) {
	ctx := context.Background()
	// Wait until b hears a, so no notice below is published before b listens.
	probe := changes.Change{Kind: changes.Token, ID: uid.New()}
	heard := make(chan struct{}, 1)
	b.changes.Handle(func(c changes.Change) {
		if c.Kind == probe.Kind && c.ID == probe.ID {
			select {
			case heard <- struct{}{}:
			default:
			}
		}
	})
	eventually(t, "the replica hears the probe", func() bool {
		a.changes.Publish(ctx, probe)
		select {
		case <-heard:
			return true
		default:
			return false
		}
	})

	emp, err := a.users.UserIDByEmail(ctx, "employee@demo.plein")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.users.UserIDByEmail(ctx, "admin@demo.plein")
	if err != nil {
		t.Fatal(err)
	}
	on := func(az *authz.Authorizer, read bool) authz.SpaceSet {
		p := principal(t, az, emp)
		if read {
			return az.Readable(p)
		}
		return az.Visible(p)
	}

	sp, err := a.spaces.Create(ctx, admin, spaces.NewSpace{Name: "Replicated", Visibility: spaces.Private})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.spaces.Delete(ctx, sp.ID) }()
	eventually(t, "b knows the new space", func() bool { return b.authz.SpaceExists(sp.ID) })
	if on(b.authz, false).Has(sp.ID) { // warms b's caches
		t.Fatal("b shows a private space to a non-member")
	}

	if _, err := a.spaces.SetMember(ctx, sp.ID, emp, spaces.Member); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the membership", func() bool { return on(b.authz, true).Has(sp.ID) })
	if err := a.spaces.RemoveMember(ctx, sp.ID, emp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the membership end", func() bool { return !on(b.authz, false).Has(sp.ID) })

	members := spaces.Members
	if _, err := a.spaces.Update(ctx, sp.ID, spaces.Patch{Visibility: &members}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the space become members-only", func() bool { return on(b.authz, false).Has(sp.ID) })
	open, roles := spaces.Open, []string{"dept-hr"}
	if _, err := a.spaces.Update(ctx, sp.ID, spaces.Patch{Visibility: &open, Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the space opened to HR only", func() bool { return !on(b.authz, false).Has(sp.ID) })
	if _, err := a.users.SetRoles(ctx, emp, []string{"employee", "dept-finance", "dept-hr"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the new role", func() bool { return on(b.authz, true).Has(sp.ID) })
	if _, err := a.users.SetRoles(ctx, emp, []string{"employee", "dept-finance"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b sees the role taken", func() bool { return !on(b.authz, true).Has(sp.ID) })

	def := defaultPolicy(t)
	if !b.authz.Can(principal(t, b.authz, emp), authz.Global, "spaces", "create") {
		t.Fatal("b refuses what the default policy allows")
	}
	if err := a.authz.SetPolicy(ctx, without(def, authz.Permission{Role: "employee", Domain: "global", Object: "spaces", Action: "create"})); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b applies the new policy", func() bool {
		return !b.authz.Can(principal(t, b.authz, emp), authz.Global, "spaces", "create")
	})
	if err := a.authz.SetPolicy(ctx, def); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b applies the restored policy", func() bool {
		return b.authz.Can(principal(t, b.authz, emp), authz.Global, "spaces", "create")
	})

	disabled := true
	if _, err := a.users.UpdateUser(ctx, emp, identity.UserPatch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b signs the disabled user out", func() bool {
		_, err := b.authz.Principal(ctx, emp)
		return fault.Is(err, fault.Unauthenticated)
	})
	disabled = false
	if _, err := a.users.UpdateUser(ctx, emp, identity.UserPatch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b lets the enabled user in", func() bool {
		_, err := b.authz.Principal(ctx, emp)
		return err == nil
	})

	if err := a.spaces.Delete(ctx, sp.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b forgets the deleted space", func() bool { return !b.authz.SpaceExists(sp.ID) })
}

func testSignedOut(t *testing.T, d *demoOrg) {
	ctx := context.Background()
	az := d.authz
	user := d.someone(t, "in the secretariat other than the sample", func(u identity.User) bool {
		return slices.Contains(u.Roles, "secretariat") && u.Email != "secretary@demo.plein"
	})
	principal(t, az, user) // cached
	disabled := true
	if _, err := d.users.UpdateUser(ctx, user, identity.UserPatch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	_, err := az.Principal(ctx, user)
	wantKind(t, err, fault.Unauthenticated)
	disabled = false
	if _, err := d.users.UpdateUser(ctx, user, identity.UserPatch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	p := principal(t, az, user)
	if !az.Readable(p).Has(d.space(t, secretariat)) {
		t.Fatal("an enabled user lost their membership")
	}

	if err := d.users.DeleteUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	_, err = az.Principal(ctx, user)
	wantKind(t, err, fault.Unauthenticated)
	_, err = az.Principal(ctx, uid.New())
	wantKind(t, err, fault.Unauthenticated)
}
