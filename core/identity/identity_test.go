package identity_test

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// changeLog records every change the service announces.
type changeLog struct {
	mu  sync.Mutex
	all []changes.Change
}

func (l *changeLog) add(c changes.Change) { l.mu.Lock(); l.all = append(l.all, c); l.mu.Unlock() }

func (l *changeLog) has(c changes.Change) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.all, func(x changes.Change) bool { return reflect.DeepEqual(x, c) })
}

func newService(t *testing.T, db *store.DB) (*identity.Service, *changeLog) {
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	n := changes.New(b, quiet)
	log := &changeLog{}
	n.Handle(log.add)
	s := identity.New(db, ratelimit.NewMemory(), n, quiet, identity.Options{TokenTTL: time.Hour, HashCost: identity.HashCost{Time: 1, MemoryKiB: 64}})
	if err := s.EnsureBuiltinRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, log
}

func mustCreate(t *testing.T, s *identity.Service, email string, roles ...string) identity.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), identity.NewUser{Email: email, Name: "Test " + email, Password: "correct horse battery", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func wantKind(t *testing.T, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("got %v, want a fault of kind %d", err, kind)
	}
}

func TestCreateAndGetUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, " Ada.Lovelace@Example.ORG ", "employee", "admin", "employee")
		if u.Email != "ada.lovelace@example.org" || !slices.Equal(u.Roles, []string{"admin", "employee"}) {
			t.Fatalf("%+v", u)
		}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != u.Email || got.Name != u.Name || !slices.Equal(got.Roles, u.Roles) || !got.CreatedAt.Equal(u.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("got %+v, want %+v", got, u)
		}
		_, err = s.CreateUser(ctx, identity.NewUser{Email: "ADA.lovelace@example.org", Name: "Twin", Password: "another long one"})
		wantKind(t, err, fault.Conflict)
		_, err = s.GetUser(ctx, "06h0fznpw94qarcr9ez33qwe08")
		wantKind(t, err, fault.NotFound)
		_, err = s.GetUser(ctx, "../../etc/passwd")
		wantKind(t, err, fault.NotFound)
	})
}

func TestCreateUserRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		for _, in := range []identity.NewUser{
			{Email: "not-an-email", Name: "X", Password: "long enough pw"},
			{Email: "Name <x@example.org>", Name: "X", Password: "long enough pw"},
			{Email: "x@example.org", Name: "", Password: "long enough pw"},
			{Email: "x@example.org", Name: "bell\a", Password: "long enough pw"},
			{Email: "x@example.org", Name: strings.Repeat("n", 201), Password: "long enough pw"},
			{Email: "x@example.org", Name: "X", Password: "short"},
			{Email: "x@example.org", Name: "X", Password: strings.Repeat("p", 1025)},
			{Email: "x@example.org", Name: "X", Password: "long enough pw", Roles: []string{"no-such-role"}},
			{Email: "x@example.org", Name: "X", Password: "long enough pw", Roles: []string{"Bad Role"}},
		} {
			_, err := s.CreateUser(context.Background(), in)
			wantKind(t, err, fault.Invalid)
		}
		if n, _ := s.CountUsers(context.Background()); n != 0 {
			t.Fatalf("%d users created from bad input", n)
		}
	})
}

func TestListUsersPagesByEmailAndFiltersByRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		for _, e := range []string{"c@x.org", "a@x.org", "e@x.org", "b@x.org", "d@x.org"} {
			roles := []string{"employee"}
			if e == "b@x.org" || e == "d@x.org" {
				roles = []string{"external"}
			}
			mustCreate(t, s, e, roles...)
		}
		var got []string
		after := ""
		for range 10 {
			page, more, err := s.ListUsers(ctx, identity.UserQuery{After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				got = append(got, u.Email)
				after = u.Email
			}
			if !more {
				break
			}
		}
		if !slices.Equal(got, []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"}) {
			t.Fatalf("pages: %v", got)
		}
		ext, more, err := s.ListUsers(ctx, identity.UserQuery{Role: "external", Limit: 10})
		if err != nil || more || len(ext) != 2 || ext[0].Email != "b@x.org" || !slices.Equal(ext[0].Roles, []string{"external"}) {
			t.Fatalf("role filter: %+v %v %v", ext, more, err)
		}
	})
}

func TestLoginIssuesATokenThatAuthenticates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, "emp@x.org", "employee")
		sess, err := s.Login(ctx, "EMP@x.org", "correct horse battery", "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sess.Token, "plein_") || sess.User.ID != u.ID || time.Until(sess.ExpiresAt) < 59*time.Minute {
			t.Fatalf("%+v", sess)
		}
		id, err := s.Authenticate(ctx, sess.Token)
		if err != nil || id != u.ID {
			t.Fatalf("authenticate: %q %v", id, err)
		}
		var stored int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE hash = $1`, sess.Token).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the plain token is stored (%d rows, %v)", stored, err)
		}
		if err := s.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, sess.Token)
		wantKind(t, err, fault.Unauthenticated)
	})
}

func TestWrongPasswordUnknownEmailAndDisabledUserFailAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		mustCreate(t, s, "emp@x.org", "employee")
		off := mustCreate(t, s, "off@x.org", "employee")
		disabled := true
		if _, err := s.UpdateUser(ctx, off.ID, identity.UserPatch{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, c := range []struct{ email, pw string }{
			{"emp@x.org", "wrong password!"}, {"nobody@x.org", "correct horse battery"}, {"off@x.org", "correct horse battery"},
		} {
			_, err := s.Login(ctx, c.email, c.pw, "10.0.0.2")
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Unauthenticated {
				t.Fatalf("%s: %v", c.email, err)
			}
			msgs = append(msgs, fe.Code+"|"+fe.Detail)
		}
		if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
			t.Fatalf("failures differ: %q", msgs)
		}
	})
}

func TestTheEleventhFailedLoginFromAnAddressIsRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		mustCreate(t, s, "emp@x.org", "employee")
		for i := range 10 {
			// Different accounts, so only the address limit can trigger.
			_, err := s.Login(ctx, "user"+string(rune('a'+i))+"@x.org", "wrong password!", "192.0.2.7")
			wantKind(t, err, fault.Unauthenticated)
		}
		_, err := s.Login(ctx, "emp@x.org", "correct horse battery", "192.0.2.7")
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.RateLimited || fe.RetryAfter <= 0 {
			t.Fatalf("11th attempt: %v", err)
		}
		// Another address is not affected.
		if _, err := s.Login(ctx, "emp@x.org", "correct horse battery", "192.0.2.8"); err != nil {
			t.Fatalf("other address: %v", err)
		}
	})
}

func TestSuccessfulLoginsAreNotRateLimited(t *testing.T) {
	db := storetest.SQLite(t)
	s, _ := newService(t, db)
	mustCreate(t, s, "emp@x.org", "employee")
	// An office behind one address: many people log in at nine.
	for range 15 {
		if _, err := s.Login(context.Background(), "emp@x.org", "correct horse battery", "198.51.100.1"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDisablingAUserRevokesTheirTokensAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, log := newService(t, db)
		ctx := context.Background()
		mustCreate(t, s, "admin@x.org", "admin")
		u := mustCreate(t, s, "emp@x.org", "employee")
		sess, err := s.IssueToken(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, sess.Token); err != nil { // now cached
			t.Fatal(err)
		}
		disabled := true
		if _, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, sess.Token)
		wantKind(t, err, fault.Unauthenticated)
		if !log.has(changes.Change{Kind: changes.User, ID: u.ID}) {
			t.Fatal("no change announced")
		}
	})
}

func TestChangePasswordChecksTheCurrentOneAndRevokesTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, "emp@x.org", "employee")
		sess, _ := s.IssueToken(ctx, u.ID)
		wantKind(t, s.ChangePassword(ctx, u.ID, "not the password", "a brand new secret"), fault.Forbidden)
		if err := s.ChangePassword(ctx, u.ID, "correct horse battery", "a brand new secret"); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(ctx, sess.Token)
		wantKind(t, err, fault.Unauthenticated)
		if _, err := s.Login(ctx, "emp@x.org", "a brand new secret", "10.0.0.3"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWrongCurrentPasswordsAreRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, "emp@x.org", "employee")
		for range 10 {
			wantKind(t, s.ChangePassword(ctx, u.ID, "a wrong guess", "a brand new secret"), fault.Forbidden)
		}
		// Even the right one is refused now: the guesser learns nothing.
		wantKind(t, s.ChangePassword(ctx, u.ID, "correct horse battery", "a brand new secret"), fault.RateLimited)
	})
}

func TestTheLastAdminCannotBeRemoved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		a := mustCreate(t, s, "admin@x.org", "admin")
		yes := true
		_, err := s.UpdateUser(ctx, a.ID, identity.UserPatch{Disabled: &yes})
		wantKind(t, err, fault.Conflict)
		_, err = s.SetRoles(ctx, a.ID, []string{"employee"})
		wantKind(t, err, fault.Conflict)
		wantKind(t, s.DeleteUser(ctx, a.ID), fault.Conflict)

		b := mustCreate(t, s, "admin2@x.org", "admin")
		if _, err := s.SetRoles(ctx, a.ID, []string{"employee"}); err != nil {
			t.Fatalf("with a second admin: %v", err)
		}
		wantKind(t, s.DeleteUser(ctx, b.ID), fault.Conflict)
	})
}

func TestDeleteUserRemovesTokensAndRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, "emp@x.org", "employee")
		sess, _ := s.IssueToken(ctx, u.ID)
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(ctx, sess.Token)
		wantKind(t, err, fault.Unauthenticated)
		for _, table := range []string{"tokens", "user_roles"} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE user_id = $1`, u.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows left (%v)", table, n, err)
			}
		}
		wantKind(t, s.DeleteUser(ctx, u.ID), fault.NotFound)
	})
}

func TestRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, log := newService(t, db)
		ctx := context.Background()
		if _, err := s.CreateRole(ctx, "dept-finance", "Financiën", "Money"); err != nil {
			t.Fatal(err)
		}
		if !log.has(changes.Change{Kind: changes.Roles}) {
			t.Fatal("no change announced")
		}
		_, err := s.CreateRole(ctx, "dept-finance", "Again", "")
		wantKind(t, err, fault.Conflict)
		for _, bad := range []string{"owner", "reader", "X", "a", "has space", strings.Repeat("a", 65)} {
			_, err := s.CreateRole(ctx, bad, "t", "")
			wantKind(t, err, fault.Invalid)
		}
		mustCreate(t, s, "fin@x.org", "employee", "dept-finance")
		roles, err := s.ListRoles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range roles {
			names = append(names, r.Name)
			if r.Name == "dept-finance" && (r.Users != 1 || r.Builtin || r.Title != "Financiën") {
				t.Fatalf("%+v", r)
			}
		}
		if !slices.Equal(names, []string{"admin", "dept-finance", "employee", "external", "manager"}) {
			t.Fatalf("roles %v", names)
		}
		title := "Finance"
		if r, err := s.UpdateRole(ctx, "dept-finance", &title, nil); err != nil || r.Title != "Finance" || r.Description != "Money" {
			t.Fatalf("update: %+v %v", r, err)
		}
		wantKind(t, s.DeleteRole(ctx, "employee"), fault.Conflict)
		if err := s.DeleteRole(ctx, "dept-finance"); err != nil {
			t.Fatal(err)
		}
		u, _ := s.UserIDByEmail(ctx, "fin@x.org")
		if got, _ := s.GetUser(ctx, u); !slices.Equal(got.Roles, []string{"employee"}) {
			t.Fatalf("role not taken from its users: %v", got.Roles)
		}
		wantKind(t, s.DeleteRole(ctx, "dept-finance"), fault.NotFound)
	})
}

func TestExpiredTokensFailAndAreSwept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		u := mustCreate(t, s, "emp@x.org", "employee")
		sess, _ := s.IssueToken(ctx, u.ID)
		if _, err := db.ExecContext(ctx, `UPDATE tokens SET expires_at = $1`, store.Micros(time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(ctx, sess.Token)
		wantKind(t, err, fault.Unauthenticated)
		if n, err := s.SweepExpiredTokens(ctx); err != nil || n != 1 {
			t.Fatalf("swept %d, %v", n, err)
		}
	})
}

func TestMalformedTokensAreRefusedWithoutAQuery(t *testing.T) {
	db := storetest.SQLite(t)
	s, _ := newService(t, db)
	for _, tok := range []string{"", "plein_", "Bearer x", "plein_" + strings.Repeat("a", 42), strings.Repeat("x", 5000)} {
		_, err := s.Authenticate(context.Background(), tok)
		wantKind(t, err, fault.Unauthenticated)
	}
}
