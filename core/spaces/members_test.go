package spaces_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/spaces"
	"github.com/pleinhq/plein/core/uid"
)

func TestValidMemberRole(t *testing.T) {
	for _, r := range []string{"owner", "moderator", "member", "reader"} {
		if !spaces.ValidMemberRole(r) {
			t.Errorf("%q refused", r)
		}
	}
	for _, r := range []string{"", "viewer", "admin", "Owner", "employee"} {
		if spaces.ValidMemberRole(r) {
			t.Errorf("%q accepted", r)
		}
	}
}

func testSetMember(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	sp := e.create(t, ada, spaces.NewSpace{Name: "Team"})

	e.log.reset()
	created, err := e.spaces.SetMember(ctx, sp.ID, bob, spaces.Reader)
	if err != nil || !created {
		t.Fatalf("joining: %v %v", created, err)
	}
	if !e.log.has(changes.Change{Kind: changes.User, ID: bob}) {
		t.Fatalf("not announced: %v", e.log.all)
	}
	for _, role := range []string{spaces.Moderator, spaces.Owner, spaces.Member, spaces.Member} {
		created, err := e.spaces.SetMember(ctx, sp.ID, bob, role)
		if err != nil || created {
			t.Fatalf("changing to %s: %v %v", role, created, err)
		}
		if got, err := e.spaces.MemberRole(ctx, sp.ID, bob); err != nil || got != role {
			t.Fatalf("role %q, %v; want %s", got, err, role)
		}
	}
	if m, err := e.spaces.MembershipsOf(ctx, bob); err != nil || len(m) != 1 || m[sp.ID] != spaces.Member {
		t.Fatalf("memberships %v %v", m, err)
	}

	cases := []struct {
		name        string
		space, user string
		role        string
		kind        fault.Kind
	}{
		{"a role spaces do not have", sp.ID, bob, "viewer", fault.Invalid},
		{"no role", sp.ID, bob, "", fault.Invalid},
		{"an unknown user", sp.ID, uid.New(), spaces.Member, fault.NotFound},
		{"an unknown space", uid.New(), bob, spaces.Member, fault.NotFound},
		{"a malformed user id", sp.ID, "bob", spaces.Member, fault.NotFound},
		{"a malformed space id", "team", bob, spaces.Member, fault.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.spaces.SetMember(ctx, c.space, c.user, c.role)
			wantKind(t, err, c.kind)
		})
	}
	if got, _ := e.spaces.MemberRole(ctx, sp.ID, bob); got != spaces.Member {
		t.Fatalf("refused changes left role %q", got)
	}
	if got, err := e.spaces.MemberRole(ctx, sp.ID, uid.New()); err != nil || got != "" {
		t.Fatalf("a non-member's role %q, %v", got, err)
	}
}

func testRemoveMember(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	sp := e.create(t, ada, spaces.NewSpace{Name: "Team"})
	if _, err := e.spaces.SetMember(ctx, sp.ID, bob, spaces.Moderator); err != nil {
		t.Fatal(err)
	}
	e.log.reset()
	if err := e.spaces.RemoveMember(ctx, sp.ID, bob); err != nil {
		t.Fatal(err)
	}
	if !e.log.has(changes.Change{Kind: changes.User, ID: bob}) {
		t.Fatalf("not announced: %v", e.log.all)
	}
	if got, _ := e.spaces.MemberRole(ctx, sp.ID, bob); got != "" {
		t.Fatalf("removed member still %q", got)
	}
	if m, _ := e.spaces.MembershipsOf(ctx, bob); len(m) != 0 {
		t.Fatalf("memberships %v", m)
	}
	// Removing a non-member, or from nowhere, does nothing.
	for _, c := range [][2]string{{sp.ID, bob}, {sp.ID, uid.New()}, {uid.New(), bob}, {"x", "y"}} {
		if err := e.spaces.RemoveMember(ctx, c[0], c[1]); err != nil {
			t.Fatalf("RemoveMember(%q, %q): %v", c[0], c[1], err)
		}
	}
	if got, _ := e.spaces.MemberRole(ctx, sp.ID, ada); got != spaces.Owner {
		t.Fatalf("the owner is now %q", got)
	}
}

func testSpaceKeepsAnOwner(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	sp := e.create(t, ada, spaces.NewSpace{Name: "Team"})

	for _, role := range []string{spaces.Moderator, spaces.Member, spaces.Reader} {
		_, err := e.spaces.SetMember(ctx, sp.ID, ada, role)
		wantKind(t, err, fault.Conflict)
	}
	wantKind(t, e.spaces.RemoveMember(ctx, sp.ID, ada), fault.Conflict)
	if created, err := e.spaces.SetMember(ctx, sp.ID, ada, spaces.Owner); err != nil || created {
		t.Fatalf("the last owner staying owner: %v %v", created, err)
	}

	// With a second owner, either may step down, but not both.
	if _, err := e.spaces.SetMember(ctx, sp.ID, bob, spaces.Owner); err != nil {
		t.Fatal(err)
	}
	if _, err := e.spaces.SetMember(ctx, sp.ID, ada, spaces.Member); err != nil {
		t.Fatalf("stepping down beside another owner: %v", err)
	}
	wantKind(t, e.spaces.RemoveMember(ctx, sp.ID, bob), fault.Conflict)
	if err := e.spaces.RemoveMember(ctx, sp.ID, ada); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.spaces.MemberRole(ctx, sp.ID, bob); got != spaces.Owner {
		t.Fatalf("bob is %q", got)
	}
}

// TestOwnersLeavingTogetherLeaveAnOwner has two owners leave at the same moment: one of
// them must stay.
func testOwnersLeavingTogetherLeaveAnOwner(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	for i := range 10 {
		sp := e.create(t, ada, spaces.NewSpace{Name: fmt.Sprintf("Team %d", i)})
		if _, err := e.spaces.SetMember(ctx, sp.ID, bob, spaces.Owner); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, u := range []string{ada, bob} {
			wg.Go(func() {
				if j == 0 {
					errs[j] = e.spaces.RemoveMember(ctx, sp.ID, u)
				} else {
					_, errs[j] = e.spaces.SetMember(ctx, sp.ID, u, spaces.Member)
				}
			})
		}
		wg.Wait()
		var owners int
		if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE space_id = $1 AND role = 'owner'`, sp.ID).Scan(&owners); err != nil {
			t.Fatal(err)
		}
		if owners != 1 {
			t.Fatalf("space %d has %d owners (errors %v)", i, owners, errs)
		}
		if (errs[0] == nil) == (errs[1] == nil) || !fault.Is(firstErr(errs), fault.Conflict) {
			t.Fatalf("space %d: want one success and one conflict, got %v", i, errs)
		}
	}
}

// firstErr returns the first non-nil error.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func testMembersPagesByUserID(t *testing.T, e *env) {
	ctx := context.Background()
	owner := e.user(t, "owner")
	sp := e.create(t, owner, spaces.NewSpace{Name: "Big team"})
	other := e.create(t, owner, spaces.NewSpace{Name: "Other team"})
	want := map[string]string{owner: spaces.Owner}
	roles := []string{spaces.Reader, spaces.Member, spaces.Moderator}
	for i := range 7 {
		u := e.user(t, fmt.Sprintf("user%d", i))
		want[u] = roles[i%len(roles)]
		if _, err := e.spaces.SetMember(ctx, sp.ID, u, want[u]); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 3, 8, 20} {
		var got []spaces.MemberInfo
		q := spaces.MemberQuery{Limit: limit}
		for {
			page, more, err := e.spaces.Members(ctx, sp.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit || more && len(page) != limit {
				t.Fatalf("page of %d, more=%v, at limit %d", len(page), more, limit)
			}
			got = append(got, page...)
			if !more {
				break
			}
			q.After = page[len(page)-1].UserID
		}
		if len(got) != len(want) || !slices.IsSortedFunc(got, func(a, b spaces.MemberInfo) int {
			return strings.Compare(a.UserID, b.UserID)
		}) {
			t.Fatalf("limit %d: %d members, sorted %v", limit, len(got), got)
		}
		for _, m := range got {
			if want[m.UserID] != m.Role || m.Name == "" || m.Email != m.Name+"@example.org" || m.JoinedAt.IsZero() {
				t.Fatalf("member %+v, want role %s", m, want[m.UserID])
			}
		}
	}
	if page, more, err := e.spaces.Members(ctx, other.ID, spaces.MemberQuery{Limit: 10}); err != nil || more || len(page) != 1 || page[0].UserID != owner {
		t.Fatalf("the other space's members: %+v %v %v", page, more, err)
	}
	if page, more, err := e.spaces.Members(ctx, uid.New(), spaces.MemberQuery{Limit: 10}); err != nil || more || len(page) != 0 {
		t.Fatalf("an unknown space's members: %+v %v %v", page, more, err)
	}
}

func testMembershipsOf(t *testing.T, e *env) {
	ctx := context.Background()
	ada, bob := e.user(t, "ada"), e.user(t, "bob")
	want := map[string]string{}
	for i, role := range []string{spaces.Reader, spaces.Member, spaces.Moderator} {
		sp := e.create(t, ada, spaces.NewSpace{Name: fmt.Sprintf("Team %d", i)})
		if _, err := e.spaces.SetMember(ctx, sp.ID, bob, role); err != nil {
			t.Fatal(err)
		}
		want[sp.ID] = role
	}
	mine := e.create(t, bob, spaces.NewSpace{Name: "Bob's"})
	want[mine.ID] = spaces.Owner
	got, err := e.spaces.MembershipsOf(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for id, role := range want {
		if got[id] != role {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if none, err := e.spaces.MembershipsOf(ctx, uid.New()); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("an unknown user's memberships %v %v", none, err)
	}
}
