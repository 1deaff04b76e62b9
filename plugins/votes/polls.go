package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// When a poll's results show.
const (
	AfterVote  = "after_vote"  // to those who voted, and to everyone once closed
	AfterClose = "after_close" // to everyone once closed, to nobody before
)

// Poll limits.
const (
	minOptions = 2
	maxOptions = 20
	maxOption  = 200 // characters
)

// Poll is a poll as stored.
type Poll struct {
	SpaceID  string     `json:"space_id"`
	Question string     `json:"question"`
	Options  []Option   `json:"options"`
	Multiple bool       `json:"multiple"`
	ClosesAt *time.Time `json:"closes_at"`
	Results  string     `json:"results"`
}

// Option is one of a poll's answers; Votes is set when the results show.
type Option struct {
	ID    int    `json:"id"`
	Text  string `json:"text"`
	Votes *int64 `json:"votes,omitempty"`
}

// PollView is a poll as one user sees it.
type PollView struct {
	ID string `json:"id"`
	Poll
	Closed bool `json:"closed"`
	// MyChoices are the option ids the user chose; empty if they did not vote.
	MyChoices []int `json:"my_choices"`
	// ResultsVisible says whether Voters and the options' Votes are filled in.
	ResultsVisible bool   `json:"results_visible"`
	Voters         *int64 `json:"voters,omitempty"`
}

func pollKey(item string) string             { return "poll/" + esc(item) }
func ballotKey(item, user string) string     { return ballotPrefix(item) + esc(user) }
func ballotPrefix(item string) string        { return "pb/" + esc(item) + "/" }
func userBallotKey(user, item string) string { return userBallotPrefix(user) + esc(item) }
func userBallotPrefix(user string) string    { return "ub/" + esc(user) + "/" }
func optionName(item string, id int) string  { return "po/" + esc(item) + "/" + strconv.Itoa(id) }
func votersName(item string) string          { return "pv/" + esc(item) }

// closed reports whether the poll is closed at now.
func (p Poll) closed(now time.Time) bool { return p.ClosesAt != nil && !now.Before(*p.ClosesAt) }

// counterNames are the poll's counters: one per option, then its voters.
func (p Poll) counterNames(item string) []string {
	names := make([]string, 0, len(p.Options)+1)
	for _, o := range p.Options {
		names = append(names, optionName(item, o.ID))
	}
	return append(names, votersName(item))
}

// createPoll registers a poll (an item of kind "poll") in the space as the acting
// user: 201 with it.
func (p *Plugin) createPoll(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := request(w, r); !ok {
		return
	}
	var body struct {
		Question string     `json:"question"`
		Options  []string   `json:"options"`
		Multiple bool       `json:"multiple"`
		ClosesAt *time.Time `json:"closes_at"`
		Results  string     `json:"results"`
	}
	if !decode(w, r, &body) {
		return
	}
	ctx, space := r.Context(), r.PathValue("space_id")
	poll := Poll{SpaceID: space, Question: strings.TrimSpace(body.Question), Multiple: body.Multiple, ClosesAt: body.ClosesAt, Results: body.Results}
	if poll.Results == "" {
		poll.Results = AfterVote
	}
	if detail := poll.check(body.Options, p.now()); detail != "" {
		invalid(w, detail)
		return
	}
	texts := make([]string, len(poll.Options))
	for i, o := range poll.Options {
		texts[i] = o.Text
	}
	id, err := p.host.Items().Register(ctx, sdk.NewItem{Kind: "poll", SpaceID: space, Title: poll.Question, Body: strings.Join(texts, "\n")})
	if err != nil {
		p.failed(w, r, err)
		return
	}
	if _, err := p.host.KV().Put(ctx, pollKey(id), jsonValue(poll)); err != nil {
		if derr := p.host.Items().Delete(ctx, id); derr != nil {
			p.log.Warn("poll item left without its poll", "item", id, "err", derr)
		}
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusCreated, p.view(id, poll, nil, nil))
}

// check fills in the options and returns what is wrong with the poll, or "".
func (p *Poll) check(options []string, now time.Time) string {
	if p.Question == "" || utf8.RuneCountInString(p.Question) > maxTitle {
		return fmt.Sprintf("question must be 1 to %d characters", maxTitle)
	}
	if len(options) < minOptions || len(options) > maxOptions {
		return fmt.Sprintf("a poll has %d to %d options", minOptions, maxOptions)
	}
	for i, text := range options {
		text = strings.TrimSpace(text)
		if text == "" || utf8.RuneCountInString(text) > maxOption {
			return fmt.Sprintf("each option must be 1 to %d characters", maxOption)
		}
		for _, o := range p.Options {
			if o.Text == text {
				return "options must differ: " + strconv.Quote(text) + " is there twice"
			}
		}
		p.Options = append(p.Options, Option{ID: i + 1, Text: text})
	}
	if p.Results != AfterVote && p.Results != AfterClose {
		return `results must be "after_vote" or "after_close"`
	}
	if p.ClosesAt != nil {
		if !p.ClosesAt.After(now) {
			return "closes_at must be in the future"
		}
		t := p.ClosesAt.UTC().Truncate(time.Second)
		p.ClosesAt = &t
	} else if p.Results == AfterClose {
		return "results after_close needs a closes_at"
	}
	return ""
}

// view is the poll as a user sees it: mine is their ballot (nil: none), counts the
// poll's counters (read only when the results show).
func (p *Plugin) view(id string, poll Poll, mine []int, counts map[string]int64) PollView {
	v := PollView{ID: id, Poll: poll, Closed: poll.closed(p.now()), MyChoices: mine}
	if v.MyChoices == nil {
		v.MyChoices = []int{}
	}
	v.ResultsVisible = v.Closed || (poll.Results == AfterVote && len(mine) > 0)
	v.Options = slices.Clone(poll.Options)
	if v.ResultsVisible && counts != nil {
		for i := range v.Options {
			n := counts[optionName(id, v.Options[i].ID)]
			v.Options[i].Votes = &n
		}
		n := counts[votersName(id)]
		v.Voters = &n
	}
	return v
}

// pollOf reads the poll behind an item and the user's ballot (nil: none) with its
// entry. A missing poll is sdk.ErrNotFound.
func (p *Plugin) pollOf(ctx context.Context, item, user string) (Poll, []int, sdk.Entry, error) {
	got, err := p.host.KV().BatchGet(ctx, []string{pollKey(item), ballotKey(item, user)})
	if err != nil {
		return Poll{}, nil, sdk.Entry{}, err
	}
	e, ok := got[pollKey(item)]
	if !ok {
		return Poll{}, nil, sdk.Entry{}, fmt.Errorf("item %q is no poll: %w", item, sdk.ErrNotFound)
	}
	var poll Poll
	if err := json.Unmarshal(e.Value, &poll); err != nil {
		return Poll{}, nil, sdk.Entry{}, err
	}
	b, voted := got[ballotKey(item, user)]
	var mine []int
	if voted {
		if err := json.Unmarshal(b.Value, &mine); err != nil {
			return Poll{}, nil, sdk.Entry{}, err
		}
	}
	return poll, mine, b, nil
}

// poll answers a poll as the acting user sees it.
func (p *Plugin) poll(w http.ResponseWriter, r *http.Request) {
	user, _, ok := request(w, r)
	if !ok {
		return
	}
	ctx, id := r.Context(), r.PathValue("item_id")
	poll, mine, _, err := p.pollOf(ctx, id, user)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	v := p.view(id, poll, mine, nil)
	if v.ResultsVisible {
		counts, err := p.host.Counters().BatchGet(ctx, poll.counterNames(id))
		if err != nil {
			p.failed(w, r, err)
			return
		}
		v = p.view(id, poll, mine, counts)
	}
	_ = sdk.WriteJSON(w, http.StatusOK, v)
}

// cast replaces the acting user's ballot with {"choices": [option ids]}: one for a
// single-choice poll, one or more for a multiple-choice one. 200 with the poll.
func (p *Plugin) cast(w http.ResponseWriter, r *http.Request) {
	user, _, ok := request(w, r)
	if !ok {
		return
	}
	var body struct {
		Choices []int `json:"choices"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Choices == nil {
		invalid(w, "choices is required: the ids of the options you choose")
		return
	}
	p.changeBallot(w, r, user, body.Choices)
}

// retract takes the acting user's ballot back: 200 with the poll.
func (p *Plugin) retract(w http.ResponseWriter, r *http.Request) {
	if user, _, ok := request(w, r); ok {
		p.changeBallot(w, r, user, nil)
	}
}

// changeBallot makes the user's ballot choices (nil: none) in one transaction with
// the counts, retrying when someone else changed what it read.
func (p *Plugin) changeBallot(w http.ResponseWriter, r *http.Request, user string, choices []int) {
	ctx, id := r.Context(), r.PathValue("item_id")
	for range attempts {
		poll, mine, entry, err := p.pollOf(ctx, id, user)
		if err != nil {
			p.failed(w, r, err)
			return
		}
		if choices != nil {
			if detail := poll.checkChoices(choices); detail != "" {
				invalid(w, detail)
				return
			}
			slices.Sort(choices)
		}
		if poll.closed(p.now()) {
			conflict(w, "poll_closed", "the poll is closed")
			return
		}
		if choices == nil && mine == nil { // nothing to take back
			_ = sdk.WriteJSON(w, http.StatusOK, p.view(id, poll, nil, nil))
			return
		}
		txn := sdk.Txn{If: []sdk.Cond{cond(ballotKey(id, user), entry, mine != nil)}}
		for _, o := range poll.Options {
			d := int64(0)
			if slices.Contains(choices, o.ID) {
				d++
			}
			if slices.Contains(mine, o.ID) {
				d--
			}
			txn.Add = append(txn.Add, sdk.Delta{Name: optionName(id, o.ID), Delta: d})
		}
		voters := int64(0)
		switch {
		case choices != nil && mine == nil:
			voters = 1
		case choices == nil && mine != nil:
			voters = -1
		}
		txn.Add = append(txn.Add, sdk.Delta{Name: votersName(id), Delta: voters})
		if choices != nil {
			txn.Put = []sdk.Put{{Key: ballotKey(id, user), Value: jsonValue(choices)}, {Key: userBallotKey(user, id)}}
		} else if mine != nil {
			txn.Delete = []string{ballotKey(id, user), userBallotKey(user, id)}
		}
		res, err := p.host.Txn(ctx, txn)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			p.failed(w, r, err)
			return
		}
		_ = sdk.WriteJSON(w, http.StatusOK, p.view(id, poll, choices, res.Counters))
		return
	}
	p.failed(w, r, errRetry)
}

// checkChoices returns what is wrong with a ballot for the poll, or "".
func (p Poll) checkChoices(choices []int) string {
	if len(choices) == 0 || (!p.Multiple && len(choices) > 1) {
		if p.Multiple {
			return "choose at least one option"
		}
		return "choose exactly one option"
	}
	seen := map[int]bool{}
	for _, c := range choices {
		if c < 1 || c > len(p.Options) || seen[c] {
			return "choices must be distinct ids of the poll's options"
		}
		seen[c] = true
	}
	return ""
}
