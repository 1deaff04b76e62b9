// Package authz decides every authorization question with Casbin: the one place where
// "may this user do that" is answered, for single objects and for the sets of spaces
// that lists are filtered by.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/lru"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/policies"
)

// Domains.
const (
	Global      = "global"
	spacePrefix = "space:"
	// unlinked names a space nobody is linked to. What a principal may do there, it
	// may do in every space: policy domains are only "*", "global" or "space:*".
	unlinked = spacePrefix + "~"
)

// Space returns the domain of a space.
func Space(id string) string { return spacePrefix + id }

// Visibility of a space, as the authorizer sees it.
const (
	VisOpen    = "open"
	VisMembers = "members"
	VisPrivate = "private"
)

// The roles a space grants to people who are not its members.
const (
	roleEmployee = "employee"
	roleReader   = "reader"
	roleViewer   = "viewer"
)

// SpaceInfo is what authorization needs to know of a space.
type SpaceInfo struct {
	ID         string
	Visibility string
	Roles      []string // for an open space: the roles it is opened to (none: every employee)
}

// readerRoles are the roles whose holders read an open space.
func (s SpaceInfo) readerRoles() []string {
	if len(s.Roles) == 0 {
		return []string{roleEmployee}
	}
	return s.Roles
}

// UserInfo is what authorization needs to know of a user.
type UserInfo struct {
	Roles    []string          // global roles
	Spaces   map[string]string // space id -> membership role
	Disabled bool
}

// Source reads who holds which role from the SQL store.
type Source interface {
	// User returns the user's roles and memberships; found is false for an unknown user.
	User(ctx context.Context, id string) (info UserInfo, found bool, err error)
	// Spaces returns every space.
	Spaces(ctx context.Context) ([]SpaceInfo, error)
	// Space returns one space; found is false if it does not exist.
	Space(ctx context.Context, id string) (info SpaceInfo, found bool, err error)
}

// Principal is an authenticated user as authorization sees them. Treat it as read-only.
type Principal struct {
	UserID string
	Roles  []string          // global roles as given, sorted
	Spaces map[string]string // space id -> membership role
}

// SpaceRole returns the principal's membership role in the space, or "".
func (p *Principal) SpaceRole(spaceID string) string { return p.Spaces[spaceID] }

// SpaceSet is a set of spaces to filter a list by.
type SpaceSet struct {
	All bool     // every space, present and future
	IDs []string // otherwise these, sorted
}

// Has reports whether the set holds the space.
func (s SpaceSet) Has(id string) bool {
	if s.All {
		return true
	}
	_, ok := slices.BinarySearch(s.IDs, id)
	return ok
}

// Authorizer answers authorization questions.
type Authorizer struct {
	enf *casbin.SyncedEnforcer
	// links is the closure of role inheritance (g lines): links[have][want] when holding
	// have gives want. Rebuilt on every policy load, read without locks.
	links   atomic.Pointer[map[string]map[string]bool]
	adapter *adapter
	src     Source
	changes *changes.Notifier
	log     *slog.Logger

	mu     sync.RWMutex
	gen    uint64               // bumped by every change; cached answers of older generations are stale
	spaces map[string]SpaceInfo // every space
	byRole map[string][]string  // role -> open spaces opened to it ("employee" also gets open spaces without roles)
	// membersOnly lists the spaces whose name employees may see but not their content.
	membersOnly []string

	principals *lru.Cache[*Principal]
	sets       *lru.Cache[cachedSet]
	decisions  *lru.Cache[cachedDecision]
}

// cachedDecision is one answer of Can with the principal it was given for, kept like
// cachedSet: only for that principal, and dropped on every change.
type cachedDecision struct {
	p  *Principal
	ok bool
}

// cachedSet is a computed set with the principal it was computed for. A request may
// still hold a principal loaded before a change; its set must not answer for the
// principal loaded after.
type cachedSet struct {
	p   *Principal
	set SpaceSet
}

// principalTTL bounds how long a cached principal lives even without change notices,
// in case a notice was lost.
const principalTTL = 5 * time.Minute

// New loads the policy (writing the defaults on first start) and every space, and
// starts following changes. It returns an error if the stored policy does not load.
func New(ctx context.Context, db *store.DB, src Source, n *changes.Notifier, log *slog.Logger) (*Authorizer, error) {
	a := &Authorizer{
		adapter:    &adapter{db: db},
		src:        src,
		changes:    n,
		log:        log,
		principals: lru.New[*Principal](50_000),
		sets:       lru.New[cachedSet](100_000),
		decisions:  lru.New[cachedDecision](200_000),
	}
	if err := a.seedDefaults(ctx, db); err != nil {
		return nil, err
	}
	m, err := model.NewModelFromString(policies.Model)
	if err != nil {
		return nil, fmt.Errorf("policies/model.conf: %w", err)
	}
	enf, err := casbin.NewSyncedEnforcer(m, a.adapter)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	enf.AddFunction("hasRole", a.hasRole)
	a.enf = enf
	if err := a.rebuildLinks(); err != nil {
		return nil, err
	}
	w := newWatcher(n)
	if err := enf.SetWatcher(w); err != nil {
		return nil, err
	}
	// SetWatcher installs a plain LoadPolicy callback; ours also drops cached answers.
	if err := w.SetUpdateCallback(a.reloadPolicy); err != nil {
		return nil, err
	}
	if err := a.loadSpaces(ctx); err != nil {
		return nil, err
	}
	n.Handle(a.onChange)
	return a, nil
}

// seedDefaults writes policies/default.csv when the policy table is empty (first start).
func (a *Authorizer) seedDefaults(ctx context.Context, db *store.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM casbin_rule`).Scan(&n); err != nil {
		return fmt.Errorf("policy table: %w", err)
	}
	if n > 0 {
		return nil
	}
	lines, err := ParsePolicyCSV(policies.Default)
	if err != nil {
		return fmt.Errorf("policies/default.csv: %w", err)
	}
	if err := lines.Validate(); err != nil {
		return fmt.Errorf("policies/default.csv: %w", err)
	}
	m, err := lines.model()
	if err != nil {
		return err
	}
	a.log.Info("writing the default policies", "lines", len(lines.Permissions)+len(lines.Inheritance))
	return a.adapter.SavePolicy(m)
}

// reloadPolicy reads the policy from SQL again, after a change anywhere.
func (a *Authorizer) reloadPolicy(string) {
	if err := a.enf.LoadPolicy(); err != nil {
		a.log.Error("reload policy; keeping the previous one", "err", err)
	}
	if err := a.rebuildLinks(); err != nil {
		a.log.Error("reload role inheritance; keeping the previous one", "err", err)
	}
	a.bump()
}

// rebuildLinks computes which roles each role gives, directly or through others, from
// the policy's inheritance lines. Casbin's role manager answers the same question per
// call behind a global mutex; this answers it with two map lookups.
func (a *Authorizer) rebuildLinks() error {
	lines, err := a.enf.GetNamedGroupingPolicy("g")
	if err != nil {
		return err
	}
	direct := map[string][]string{}
	for _, l := range lines {
		if len(l) >= 2 {
			direct[l[0]] = append(direct[l[0]], l[1])
		}
	}
	closure := make(map[string]map[string]bool, len(direct))
	for have := range direct {
		gives := map[string]bool{}
		stack := slices.Clone(direct[have])
		for len(stack) > 0 {
			r := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !gives[r] {
				gives[r] = true
				stack = append(stack, direct[r]...)
			}
		}
		closure[have] = gives
	}
	a.links.Store(&closure)
	return nil
}

func (a *Authorizer) loadSpaces(ctx context.Context) error {
	list, err := a.src.Spaces(ctx)
	if err != nil {
		return fmt.Errorf("load spaces: %w", err)
	}
	spaces := make(map[string]SpaceInfo, len(list))
	for _, s := range list {
		spaces[s.ID] = s
	}
	a.mu.Lock()
	a.spaces = spaces
	a.reindexLocked()
	a.gen++
	a.mu.Unlock()
	return nil
}

func (a *Authorizer) reindexLocked() {
	a.byRole = map[string][]string{}
	a.membersOnly = a.membersOnly[:0]
	for id, s := range a.spaces {
		switch s.Visibility {
		case VisOpen:
			for _, r := range s.readerRoles() {
				a.byRole[r] = append(a.byRole[r], id)
			}
		case VisMembers:
			a.membersOnly = append(a.membersOnly, id)
		}
	}
}

func (a *Authorizer) bump() {
	a.mu.Lock()
	a.gen++
	a.mu.Unlock()
	a.sets.Clear()
	a.decisions.Clear()
}

// keepIfCurrent runs put, which caches an answer computed at generation gen, unless a
// change came since. Holding the read lock keeps a change from slipping in between the
// check and the put: every change bumps the generation under the write lock before it
// drops cached answers, so an answer put before the bump is dropped after it.
func (a *Authorizer) keepIfCurrent(gen uint64, put func()) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.gen == gen {
		put()
	}
}

func (a *Authorizer) generation() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.gen
}

// onChange drops what a change made stale. It runs for this replica's changes at once
// and for the others' when their notice arrives.
func (a *Authorizer) onChange(c changes.Change) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch c.Kind {
	case changes.User:
		a.bump()
		a.principals.Remove(c.ID)
	case changes.Roles:
		a.bump()
		a.principals.Clear()
	case changes.Space:
		info, found, err := a.src.Space(ctx, c.ID)
		if err != nil {
			a.log.Error("reload space; reloading all", "space", c.ID, "err", err)
			a.reloadAll(ctx)
			return
		}
		a.mu.Lock()
		if found {
			a.spaces[c.ID] = info
		} else {
			delete(a.spaces, c.ID)
		}
		a.reindexLocked()
		a.gen++
		a.mu.Unlock()
		a.sets.Clear()
		a.decisions.Clear()
	case changes.All:
		a.reloadAll(ctx) // the watcher reloads the policy
	}
}

func (a *Authorizer) reloadAll(ctx context.Context) {
	if err := a.loadSpaces(ctx); err != nil {
		a.log.Error("reload spaces", "err", err)
	}
	a.bump()
	a.principals.Clear()
}

// errSignedOut is what a token of a disabled or deleted user meets.
var errSignedOut = fault.New(fault.Unauthenticated, "invalid_token", "the account is disabled or gone")

// Principal returns the user as authorization sees them, from cache when it can. It
// returns an Unauthenticated fault if the user is disabled or gone.
func (a *Authorizer) Principal(ctx context.Context, userID string) (*Principal, error) {
	if p, ok := a.principals.Get(userID); ok {
		return p, nil
	}
	gen := a.generation()
	info, found, err := a.src.User(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load principal: %w", err)
	}
	if !found || info.Disabled {
		return nil, errSignedOut
	}
	roles := slices.Clone(info.Roles)
	slices.Sort(roles)
	p := &Principal{UserID: userID, Roles: roles, Spaces: info.Spaces}
	if p.Spaces == nil {
		p.Spaces = map[string]string{}
	}
	// A change that raced with the load may have made it stale: use it, do not keep it.
	a.keepIfCurrent(gen, func() { a.principals.Put(userID, p, principalTTL) })
	return p, nil
}

// hasRole is the model's hasRole(r.sub, p.sub, r.dom): whether the principal holds role
// in the domain, directly or through inheritance.
func (a *Authorizer) hasRole(args ...any) (any, error) {
	if len(args) != 3 {
		return false, errors.New("hasRole wants 3 arguments")
	}
	p, ok1 := args[0].(*Principal)
	role, ok2 := args[1].(string)
	dom, ok3 := args[2].(string)
	if !ok1 || !ok2 || !ok3 || p == nil {
		return false, errors.New("hasRole wants (principal, role, domain)")
	}
	if a.holdsGlobal(p, role) {
		return true, nil
	}
	sid, isSpace := strings.CutPrefix(dom, spacePrefix)
	if !isSpace {
		return false, nil
	}
	if mr := p.Spaces[sid]; mr != "" && a.inherits(mr, role) {
		return true, nil
	}
	if dr := a.granted(sid, p); dr != "" && a.inherits(dr, role) {
		return true, nil
	}
	return false, nil
}

// inherits reports whether holding have gives want.
func (a *Authorizer) inherits(have, want string) bool {
	if have == want {
		return true
	}
	return (*a.links.Load())[have][want]
}

// holdsGlobal reports whether one of p's global roles is or inherits role.
func (a *Authorizer) holdsGlobal(p *Principal, role string) bool {
	for _, r := range p.Roles {
		if a.inherits(r, role) {
			return true
		}
	}
	return false
}

// granted returns the role a space gives p without membership: "reader" in an open space
// opened to one of p's roles, "viewer" for employees in a members-only space, else "".
func (a *Authorizer) granted(spaceID string, p *Principal) string {
	a.mu.RLock()
	s, ok := a.spaces[spaceID]
	a.mu.RUnlock()
	if !ok {
		return ""
	}
	switch s.Visibility {
	case VisOpen:
		for _, r := range s.readerRoles() {
			if a.holdsGlobal(p, r) {
				return roleReader
			}
		}
	case VisMembers:
		if a.holdsGlobal(p, roleEmployee) {
			return roleViewer
		}
	}
	return ""
}

// Can reports whether p may do act on obj in dom. An error inside Casbin counts as no:
// authorization fails closed.
func (a *Authorizer) Can(p *Principal, dom, obj, act string) bool {
	if p == nil {
		return false
	}
	key := p.UserID + "\x00" + dom + "\x00" + obj + "\x00" + act
	if c, ok := a.decisions.Get(key); ok && c.p == p {
		return c.ok
	}
	gen := a.generation()
	ok, err := a.enf.Enforce(p, dom, obj, act)
	if err != nil {
		a.log.Error("authorization error; denying", "user", p.UserID, "dom", dom, "obj", obj, "act", act, "err", err)
		return false
	}
	a.keepIfCurrent(gen, func() { a.decisions.Put(key, cachedDecision{p, ok}, principalTTL) })
	return ok
}

// Require returns nil if p may do act on obj in dom, else a Forbidden fault.
func (a *Authorizer) Require(p *Principal, dom, obj, act string) error {
	if a.Can(p, dom, obj, act) {
		return nil
	}
	return fault.Forbiddenf("you may not %s %s", act, obj)
}

// SpaceExists reports whether the space exists.
func (a *Authorizer) SpaceExists(id string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.spaces[id]
	return ok
}

// RequireSpace returns nil if p may do act on obj in the space. If p may not even see
// the space (or it does not exist), it returns a NotFound fault, so private spaces stay
// secret; if p sees the space but may not do this, a Forbidden fault.
func (a *Authorizer) RequireSpace(p *Principal, spaceID, obj, act string) error {
	if !a.SpaceExists(spaceID) || !a.Can(p, Space(spaceID), "space", "view") {
		return fault.NotFoundf("no such space")
	}
	if a.Can(p, Space(spaceID), obj, act) {
		return nil
	}
	return fault.Forbiddenf("you may not %s %s in this space", act, obj)
}

// Spaces returns the spaces where p may do act on obj, such as the spaces whose content
// p may read. The set is computed once per principal, policy and data generation and
// cached.
func (a *Authorizer) Spaces(p *Principal, obj, act string) SpaceSet {
	key := p.UserID + "\x00" + obj + "\x00" + act
	if c, ok := a.sets.Get(key); ok && c.p == p {
		return c.set
	}
	gen := a.generation()
	set := a.computeSpaces(p, obj, act)
	a.keepIfCurrent(gen, func() { a.sets.Put(key, cachedSet{p, set}, principalTTL) })
	return set
}

// Readable returns the spaces whose content p may read.
func (a *Authorizer) Readable(p *Principal) SpaceSet { return a.Spaces(p, "content", "read") }

// Visible returns the spaces p may see (name and description).
func (a *Authorizer) Visible(p *Principal) SpaceSet { return a.Spaces(p, "space", "view") }

// computeSpaces asks Casbin about every space p is linked to. Spaces p has no link to
// all get the answer p gets for an unlinked space: if that is yes, the set is All.
func (a *Authorizer) computeSpaces(p *Principal, obj, act string) SpaceSet {
	if a.Can(p, unlinked, obj, act) {
		return SpaceSet{All: true}
	}
	candidates := map[string]bool{}
	a.mu.RLock()
	for id := range p.Spaces {
		if _, ok := a.spaces[id]; ok { // a membership may outlive a space by a notice
			candidates[id] = true
		}
	}
	for role, ids := range a.byRole {
		if a.holdsGlobal(p, role) {
			for _, id := range ids {
				candidates[id] = true
			}
		}
	}
	if a.holdsGlobal(p, roleEmployee) {
		for _, id := range a.membersOnly {
			candidates[id] = true
		}
	}
	a.mu.RUnlock()

	ids := make([]string, 0, len(candidates))
	for id := range candidates {
		if a.Can(p, Space(id), obj, act) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return SpaceSet{IDs: ids}
}
