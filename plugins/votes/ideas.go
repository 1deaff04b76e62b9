package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// Status is where an idea stands. Votes on open and planned items are active: they
// count against their voters' budgets and may change; done and declined items keep
// their votes as they are and give them back to the budgets.
type Status string

// The statuses.
const (
	Open     Status = "open"
	Planned  Status = "planned"
	Done     Status = "done"
	Declined Status = "declined"
)

func (s Status) active() bool { return s == Open || s == Planned }

func (s Status) valid() bool { return s.active() || s == Done || s == Declined }

// statusOf reads a status entry; a missing one (version 0) is Open.
func statusOf(e sdk.Entry) (Status, error) {
	if e.Version == 0 {
		return Open, nil
	}
	var s Status
	if err := json.Unmarshal(e.Value, &s); err != nil || !s.valid() {
		return "", fmt.Errorf("status entry %q: %q", e.Key, e.Value)
	}
	return s, nil
}

// SpaceSettings are what a space's moderators set.
type SpaceSettings struct {
	// VoteBudget is how many active votes each user has in the space; 0: no limit.
	VoteBudget int64 `json:"vote_budget"`
}

// maxBudget bounds a space's vote budget.
const maxBudget = 10_000

func settingsOf(e sdk.Entry) (SpaceSettings, error) {
	var s SpaceSettings
	if e.Version == 0 {
		return s, nil
	}
	err := json.Unmarshal(e.Value, &s)
	return s, err
}

// Idea is an idea as created.
type Idea struct {
	ID      string `json:"id"`
	SpaceID string `json:"space_id"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Summary
}

// Text limits, as the core's posts.
const (
	maxTitle = 300      // characters
	maxBody  = 64 << 10 // bytes
)

// createIdea registers an idea (an item of kind "idea") in the space as the acting
// user: 201 with it.
func (p *Plugin) createIdea(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := request(w, r); !ok {
		return
	}
	var body struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	if !decode(w, r, &body) {
		return
	}
	title := strings.TrimSpace(body.Title)
	if title == "" || utf8.RuneCountInString(title) > maxTitle || len(body.Body) > maxBody {
		invalid(w, fmt.Sprintf("an idea needs a title of 1 to %d characters and a body of at most %d bytes", maxTitle, maxBody))
		return
	}
	space := r.PathValue("space_id")
	id, err := p.host.Items().Register(r.Context(), sdk.NewItem{Kind: "idea", SpaceID: space, Title: title, Body: body.Body})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	// Ranked from the start, so /top lists it before its first vote.
	if _, err := p.host.KV().Put(r.Context(), rankKey(space, id), nil); err != nil {
		p.log.Warn("idea not ranked until its first vote", "item", id, "err", err)
	}
	_ = sdk.WriteJSON(w, http.StatusCreated, Idea{ID: id, SpaceID: space, Title: title, Body: body.Body, Summary: Summary{Status: Open}})
}

// errStatusMoved stops a reconciliation that a newer status change took over.
var errStatusMoved = errors.New("the status changed again")

// setStatus sets an item's status as one of its space's moderators: 200 with it.
// Closing it gives its votes back to their voters' budgets, opening it again takes
// them again (a voter may then be over budget until one of their votes goes).
// Setting the same status again finishes what an interrupted change left.
func (p *Plugin) setStatus(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := request(w, r); !ok {
		return
	}
	var body struct {
		Status Status `json:"status"`
	}
	if !decode(w, r, &body) {
		return
	}
	if !body.Status.valid() {
		invalid(w, `status must be "open", "planned", "done" or "declined"`)
		return
	}
	ctx := r.Context()
	it, err := p.host.Items().Get(ctx, r.PathValue("item_id"))
	if err != nil {
		p.failed(w, r, err)
		return
	}
	sk := statusKey(it.ID)
	version := int64(0)
	for range attempts {
		got, err := p.host.KV().BatchGet(ctx, []string{sk})
		if err != nil {
			p.failed(w, r, err)
			return
		}
		e, found := got[sk]
		res, err := p.host.Txn(ctx, sdk.Txn{If: []sdk.Cond{cond(sk, e, found)}, Put: []sdk.Put{{Key: sk, Value: jsonValue(body.Status)}}})
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			p.failed(w, r, err)
			return
		}
		version = res.Versions[0]
		break
	}
	if version == 0 {
		p.failed(w, r, errRetry)
		return
	}
	if err := p.reconcile(ctx, it.ID, it.SpaceID, body.Status.active(), sdk.IfVersion(sk, version)); err != nil {
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, map[string]any{"item_id": it.ID, "status": body.Status})
}

// reconcile charges every vote on the item to its voter's budget (active) or gives
// every charged vote back, each in a transaction that holds only while the status is
// still as stCond says; once it changed, the newer change reconciles instead.
func (p *Plugin) reconcile(ctx context.Context, item, space string, active bool, stCond sdk.Cond) error {
	prefix := chargePrefix(item)
	if active {
		prefix = votePrefix(item)
	}
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			user, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
			if err != nil {
				return fmt.Errorf("key %q: %w", e.Key, err)
			}
			err = p.recharge(ctx, item, space, user, active, stCond)
			if errors.Is(err, errStatusMoved) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// recharge charges a user's vote on an item to their budget in the space, or gives
// it back, if it is not so already, provided at (if set) still holds.
func (p *Plugin) recharge(ctx context.Context, item, space, user string, charge bool, at sdk.Cond) error {
	vk, ck, bk := voteKey(item, user), chargeKey(item, user), budgetKey(space, user)
	for range attempts {
		got, err := p.host.KV().BatchGet(ctx, []string{vk, ck, bk})
		if err != nil {
			return err
		}
		_, voted := got[vk]
		c, charged := got[ck]
		if charged == charge || (charge && !voted) {
			return nil
		}
		b, found := got[bk]
		used, err := number(b, found)
		if err != nil {
			return err
		}
		var txn sdk.Txn
		if at.Key != "" {
			txn.If = []sdk.Cond{at}
		}
		txn.If = append(txn.If, cond(bk, b, found), cond(ck, c, charged))
		if charge {
			txn.If = append(txn.If, sdk.IfVersion(vk, got[vk].Version))
			txn.Put = []sdk.Put{{Key: ck}, {Key: bk, Value: jsonValue(used + 1)}}
		} else {
			txn.Delete = []string{ck}
			txn.Put = []sdk.Put{{Key: bk, Value: jsonValue(max(used-1, 0))}}
		}
		_, err = p.host.Txn(ctx, txn)
		var conflict *sdk.TxnConflict
		switch {
		case errors.As(err, &conflict) && at.Key != "" && conflict.Index == 0:
			return errStatusMoved
		case errors.As(err, &conflict):
			continue
		}
		return err
	}
	return errRetry
}

// settings answers the space's settings.
func (p *Plugin) settings(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := request(w, r); !ok {
		return
	}
	got, err := p.host.KV().BatchGet(r.Context(), []string{settingsKey(r.PathValue("space_id"))})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	s, err := settingsOf(got[settingsKey(r.PathValue("space_id"))])
	if err != nil {
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, s)
}

// setSettings replaces the space's settings, as one of its moderators: 200 with them.
func (p *Plugin) setSettings(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := request(w, r); !ok {
		return
	}
	var body struct {
		VoteBudget *int64 `json:"vote_budget"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.VoteBudget == nil || *body.VoteBudget < 0 || *body.VoteBudget > maxBudget {
		invalid(w, fmt.Sprintf("vote_budget must be a number from 0 (no limit) to %d", maxBudget))
		return
	}
	s := SpaceSettings{VoteBudget: *body.VoteBudget}
	if _, err := p.host.KV().Put(r.Context(), settingsKey(r.PathValue("space_id")), jsonValue(s)); err != nil {
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, s)
}

// Budget is a user's votes in a space.
type Budget struct {
	VoteBudget int64 `json:"vote_budget"`
	Used       int64 `json:"used"`
	// Left is null when the space sets no budget.
	Left *int64 `json:"left"`
}

// budget answers the acting user's budget in the space.
func (p *Plugin) budget(w http.ResponseWriter, r *http.Request) {
	user, _, ok := request(w, r)
	if !ok {
		return
	}
	space := r.PathValue("space_id")
	got, err := p.host.KV().BatchGet(r.Context(), []string{settingsKey(space), budgetKey(space, user)})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	s, err := settingsOf(got[settingsKey(space)])
	if err != nil {
		p.failed(w, r, err)
		return
	}
	b, found := got[budgetKey(space, user)]
	used, err := number(b, found)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	out := Budget{VoteBudget: s.VoteBudget, Used: used}
	if s.VoteBudget > 0 {
		left := max(s.VoteBudget-used, 0)
		out.Left = &left
	}
	_ = sdk.WriteJSON(w, http.StatusOK, out)
}
