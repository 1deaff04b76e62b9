// Package scale grows the demo organisation to the size of a load benchmark: users,
// items with comments, likes stored as the likes plugin stores them, and documents,
// written in bulk (large transactions, multi-row statements) rather than one API call
// at a time, so 100,000 items and a million likes take minutes, not hours.
package scale

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/store"
)

// Sizes say how much to add.
type Sizes struct {
	Users        int   // people beside the demo's 190
	Items        int   // posts, news and pages spread over the demo's spaces
	Likes        int   // likes, each by a user who reads the item
	Documents    int   // documents with their bytes in the blob store
	DocumentSize int64 // bytes of each document; 0 means DefaultDocumentSize
}

// DefaultDocumentSize is the size of a seeded document unless Sizes says otherwise.
const DefaultDocumentSize = 256 << 10

// Limits on Sizes, so a typo does not fill the disk.
const (
	MaxUsers        = 1_000_000
	MaxItems        = 10_000_000
	MaxLikes        = 100_000_000
	MaxDocuments    = 10_000
	MaxDocumentSize = 100 << 20
)

// Check returns an error naming the first size out of range.
func (s Sizes) Check() error {
	for _, c := range []struct {
		name     string
		v, limit int64
	}{
		{"users", int64(s.Users), MaxUsers},
		{"items", int64(s.Items), MaxItems},
		{"likes", int64(s.Likes), MaxLikes},
		{"documents", int64(s.Documents), MaxDocuments},
		{"document size", s.DocumentSize, MaxDocumentSize},
	} {
		if c.v < 0 || c.v > c.limit {
			return fmt.Errorf("%s: %d is out of range (0 to %d)", c.name, c.v, c.limit)
		}
	}
	if s.Likes > 0 && s.Items == 0 {
		return errors.New("likes need items: set items above 0")
	}
	return nil
}

// Deps is what seeding writes through and reads from.
type Deps struct {
	DB    *store.DB
	Users *identity.Service  // hashes the password, once
	Authz *authz.Authorizer  // who reads which space, so only readers like and comment
	Docs  *documents.Service // stores documents; may be nil when Sizes.Documents is 0
	// Language is the PostgreSQL text search configuration of the search index
	// (content.Service.Language).
	Language string
	Password string    // every new user's password
	Seed     uint64    // the same seed gives the same organisation, ids and times aside
	Progress io.Writer // hears one line per step; nil: quiet
	Now      func() time.Time
}

// Result is what seeding added.
type Result struct {
	Users, Items, Comments, Likes, LikedItems, Documents int
	Steps                                                []Step
	Manifest                                             Manifest
}

// Step is one phase of seeding and how long it took.
type Step struct {
	Name string
	Took time.Duration
}

// Manifest tells a load generator what it may ask for: the new users (all with the
// demo password) and the new items and documents, by space.
type Manifest struct {
	Users  []string                 `json:"users"`
	Spaces map[string]*SpaceContent `json:"spaces"` // by space id
}

// SpaceContent is what seeding added to one space.
type SpaceContent struct {
	Name      string   `json:"name"`
	Items     []string `json:"items"`
	Documents []string `json:"documents"`
}

// Errors of Seed, for errors.Is.
var (
	ErrNoDemo = errors.New("the demo organisation is not there: run `plein seed demo` first")
	ErrGrown  = errors.New("the demo organisation has been grown already: seed into a fresh database")
)

// UserEmail is the address of the i-th seeded user, counting from 1.
func UserEmail(i int) string { return fmt.Sprintf("user%05d@%s", i, demo.Domain) }

// Seed adds sizes to the demo organisation in d.DB. It returns ErrNoDemo without the
// demo, ErrGrown if it ran before, and an error from Sizes.Check for bad sizes.
func Seed(ctx context.Context, d Deps, sizes Sizes) (*Result, error) {
	if err := sizes.Check(); err != nil {
		return nil, err
	}
	if sizes.DocumentSize == 0 {
		sizes.DocumentSize = DefaultDocumentSize
	}
	if sizes.Documents > 0 && d.Docs == nil {
		return nil, errors.New("documents need a document service")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &seeder{Deps: d, rng: rand.New(rand.NewPCG(d.Seed, 2026)), res: &Result{}}
	s.res.Manifest.Spaces = map[string]*SpaceContent{}
	steps := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"load the demo", s.load},
		{"users", func(ctx context.Context) error { return s.users(ctx, sizes.Users) }},
		{"readers", s.readers},
		{"items", func(ctx context.Context) error { return s.items(ctx, sizes.Items) }},
		{"likes", func(ctx context.Context) error { return s.likes(ctx, sizes.Likes) }},
		{"documents", func(ctx context.Context) error { return s.documents(ctx, sizes.Documents, sizes.DocumentSize) }},
		{"analyze", s.analyze},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		took := time.Since(start)
		s.res.Steps = append(s.res.Steps, Step{st.name, took})
		s.progress("%-16s %8s\n", st.name, took.Round(time.Millisecond))
	}
	return s.res, nil
}

// seeder holds what the steps share.
type seeder struct {
	Deps
	rng *rand.Rand
	res *Result

	admin  string
	spaces []space
	byName map[string]int // space index by name
	// users is every user id, the demo's and the new ones.
	userIDs []string
	seeded  []seeded // the items written, in order
}

// space is a demo space as seeding sees it.
type space struct {
	id, name string
	writers  []string // members who may create content (member, moderator, owner)
	readers  []string // users who read its content
}

func (s *seeder) progress(format string, args ...any) {
	if s.Progress != nil {
		fmt.Fprintf(s.Progress, format, args...)
	}
}

func (s *seeder) load(ctx context.Context) error {
	err := s.DB.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, "admin@"+demo.Domain).Scan(&s.admin)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoDemo
	}
	if err != nil {
		return err
	}
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email = $1`, UserEmail(1)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrGrown
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, name FROM spaces ORDER BY name, id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.byName = map[string]int{}
	for rows.Next() {
		var sp space
		if err := rows.Scan(&sp.id, &sp.name); err != nil {
			return err
		}
		s.byName[sp.name] = len(s.spaces)
		s.spaces = append(s.spaces, sp)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(s.spaces) == 0 {
		return ErrNoDemo
	}
	for _, t := range append(demo.Departments(), demo.Projects()...) {
		if _, ok := s.byName[t.Space]; !ok {
			return fmt.Errorf("%w (no space %q)", ErrNoDemo, t.Space)
		}
	}
	return nil
}

// usersPerTx bounds the users one transaction writes (three or four rows each).
const usersPerTx = 5000

var (
	usersTable       = newTable("users", "id text", "email text", "name text", "password_hash text", "disabled bool", "created_at bigint", "updated_at bigint")
	userRolesTable   = newTable("user_roles", "user_id text", "role text")
	membershipsTable = newTable("memberships", "space_id text", "user_id text", "role text", "created_at bigint")
)

// users adds n people: mostly employees of a department (members of its space), some
// in a project team too, a few in the secretary's office, and a few external parties.
func (s *seeder) users(ctx context.Context, n int) error {
	if n > 0 {
		hash, err := s.Users.HashPassword(ctx, s.Password)
		if err != nil {
			return fmt.Errorf("password: %w", err)
		}
		depts, projects := demo.Departments(), demo.Projects()
		now := store.Micros(s.Now())
		for from := 1; from <= n; from += usersPerTx {
			var users, roles, members [][]any
			for i := from; i < from+usersPerTx && i <= n; i++ {
				id := newID()
				email := UserEmail(i)
				users = append(users, []any{id, email, demo.RandomName(s.rng), hash, false, now, now})
				member := func(spaceName string) {
					members = append(members, []any{s.spaces[s.byName[spaceName]].id, id, "member", now})
				}
				switch r := s.rng.IntN(100); {
				case r < 2:
					kind := "external-contractor"
					if r == 1 {
						kind = "external-consultant"
					}
					roles = append(roles, []any{id, identity.RoleExternal}, []any{id, kind})
					if kind == "external-contractor" {
						member(projects[0].Space) // the town hall project works with contractors
					}
				default:
					d := depts[i%len(depts)]
					roles = append(roles, []any{id, identity.RoleEmployee}, []any{id, d.Role})
					member(d.Space)
					if i%7 == 3 {
						p := projects[(i/7)%len(projects)]
						roles = append(roles, []any{id, p.Role})
						member(p.Space)
					}
					if r == 2 {
						roles = append(roles, []any{id, "secretariat"})
						member("Secretariaat")
					}
				}
				s.res.Manifest.Users = append(s.res.Manifest.Users, email)
			}
			err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
				return errors.Join(
					insert(ctx, tx, s.DB.Dialect(), usersTable, users),
					insert(ctx, tx, s.DB.Dialect(), userRolesTable, roles),
					insert(ctx, tx, s.DB.Dialect(), membershipsTable, members))
			})
			if err != nil {
				return err
			}
			s.res.Users += len(users)
		}
	}
	ids, err := queryStrings(ctx, s.DB, `SELECT id FROM users WHERE NOT disabled ORDER BY id`)
	s.userIDs = ids
	return err
}

// readers asks the authorizer who reads and who writes in each space, as the server
// will decide it.
func (s *seeder) readers(ctx context.Context) error {
	for _, u := range s.userIDs {
		p, err := s.Authz.Principal(ctx, u)
		if err != nil {
			return fmt.Errorf("principal %s: %w", u, err)
		}
		set := s.Authz.Readable(p)
		for i := range s.spaces {
			if set.Has(s.spaces[i].id) {
				s.spaces[i].readers = append(s.spaces[i].readers, u)
			}
		}
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT space_id, user_id FROM memberships WHERE role IN ('member', 'moderator', 'owner') ORDER BY space_id, user_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	index := map[string]int{}
	for i, sp := range s.spaces {
		index[sp.id] = i
	}
	for rows.Next() {
		var sp, u string
		if err := rows.Scan(&sp, &u); err != nil {
			return err
		}
		if i, ok := index[sp]; ok {
			s.spaces[i].writers = append(s.spaces[i].writers, u)
		}
	}
	return rows.Err()
}

// analyze refreshes PostgreSQL's statistics, as autovacuum would after a while, so the
// first queries of a benchmark are planned as later ones.
func (s *seeder) analyze(ctx context.Context) error {
	if s.DB.Dialect() != store.Postgres {
		_, err := s.DB.ExecContext(ctx, `ANALYZE`)
		return err
	}
	for _, t := range []string{"users", "user_roles", "memberships", "items", "item_tags", "comments", "plugin_kv", "plugin_counters"} {
		if _, err := s.DB.ExecContext(ctx, "VACUUM ANALYZE "+t); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) content(spaceIdx int) *SpaceContent {
	sp := s.spaces[spaceIdx]
	c := s.res.Manifest.Spaces[sp.id]
	if c == nil {
		c = &SpaceContent{Name: sp.name, Items: []string{}, Documents: []string{}}
		s.res.Manifest.Spaces[sp.id] = c
	}
	return c
}

func queryStrings(ctx context.Context, db *store.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// pick returns a random element of list, or def when it is empty.
func pick(rng *rand.Rand, list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[rng.IntN(len(list))]
}
