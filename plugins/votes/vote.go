package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pleinhq/plein/sdk"
)

// Summary is an item's votes as one user sees them: the decoration's fields and the
// item's status.
type Summary struct {
	Score  int64  `json:"score"`
	Up     int64  `json:"up"`
	Down   int64  `json:"down"`
	MyVote *int64 `json:"my_vote"`
	Status Status `json:"status"`
}

// Refusals of a vote.
var (
	errClosed = errors.New("the item is closed to votes")
	errBudget = errors.New("no votes left in the space")
)

// vote sets the acting user's vote on the item to {"value": 1 or -1}: 200 with the
// item's summary.
func (p *Plugin) vote(w http.ResponseWriter, r *http.Request) {
	user, _, ok := request(w, r)
	if !ok {
		return
	}
	var body struct {
		Value *int64 `json:"value"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Value == nil || (*body.Value != 1 && *body.Value != -1) {
		invalid(w, "value must be 1 or -1")
		return
	}
	p.changeVote(w, r, user, *body.Value)
}

// unvote takes the acting user's vote back: 200 with the item's summary, also when
// there was none.
func (p *Plugin) unvote(w http.ResponseWriter, r *http.Request) {
	if user, _, ok := request(w, r); ok {
		p.changeVote(w, r, user, 0)
	}
}

func (p *Plugin) changeVote(w http.ResponseWriter, r *http.Request, user string, value int64) {
	it, err := p.host.Items().Get(r.Context(), r.PathValue("item_id"))
	if err != nil {
		p.failed(w, r, err)
		return
	}
	sum, err := p.setVote(r.Context(), it, user, value)
	switch {
	case errors.Is(err, errClosed):
		conflict(w, "idea_closed", "the item is "+string(sum.Status)+": its votes no longer change")
	case errors.Is(err, errBudget):
		conflict(w, "vote_budget_exhausted", "you have no votes left in this space: take one back, or wait until an idea you voted for closes")
	case err != nil:
		p.failed(w, r, err)
	default:
		_ = sdk.WriteJSON(w, http.StatusOK, sum)
	}
}

// setVote makes the user's vote on the item value (0: none) in one transaction: the
// vote, the counts, and on an open item the user's budget in the space. It retries
// when someone else changed what it read.
func (p *Plugin) setVote(ctx context.Context, it sdk.Item, user string, value int64) (Summary, error) {
	item, space := it.ID, it.SpaceID
	vk, ck, bk, sk := voteKey(item, user), chargeKey(item, user), budgetKey(space, user), statusKey(item)
	for range attempts {
		got, err := p.host.KV().BatchGet(ctx, []string{vk, ck, bk, sk, settingsKey(space)})
		if err != nil {
			return Summary{}, err
		}
		st, err := statusOf(got[sk])
		if err != nil {
			return Summary{}, err
		}
		if !st.active() {
			return Summary{Status: st}, errClosed
		}
		var old int64
		if e, ok := got[vk]; ok {
			if err := json.Unmarshal(e.Value, &old); err != nil {
				return Summary{}, err
			}
		}
		if old == value {
			return p.summaryOf(ctx, item, user)
		}
		e, found := got[sk]
		txn := sdk.Txn{If: []sdk.Cond{cond(vk, got[vk], old != 0), cond(sk, e, found)}, Add: deltas(item, old, value)}
		charged, used := false, int64(0)
		if e, ok := got[ck]; ok {
			charged = true
			txn.If = append(txn.If, sdk.IfVersion(ck, e.Version))
		} else {
			txn.If = append(txn.If, sdk.IfAbsent(ck))
		}
		if e, ok := got[bk]; ok {
			if used, err = number(e, true); err != nil {
				return Summary{}, err
			}
			txn.If = append(txn.If, sdk.IfVersion(bk, e.Version))
		} else {
			txn.If = append(txn.If, sdk.IfAbsent(bk))
		}
		switch {
		case old == 0: // a new vote
			cfg, err := settingsOf(got[settingsKey(space)])
			if err != nil {
				return Summary{}, err
			}
			if !charged && cfg.VoteBudget > 0 && used >= cfg.VoteBudget {
				return Summary{Status: st}, errBudget
			}
			txn.Put = []sdk.Put{{Key: vk, Value: jsonValue(value)}, {Key: userVoteKey(user, item), Value: []byte(space)}, {Key: rankKey(space, item)}}
			if !charged {
				txn.Put = append(txn.Put, sdk.Put{Key: ck}, sdk.Put{Key: bk, Value: jsonValue(used + 1)})
			}
		case value == 0: // taken back
			txn.Delete = []string{vk, userVoteKey(user, item)}
			if charged {
				txn.Delete = append(txn.Delete, ck)
				txn.Put = []sdk.Put{{Key: bk, Value: jsonValue(max(used-1, 0))}}
			}
		default: // turned around
			txn.Put = []sdk.Put{{Key: vk, Value: jsonValue(value)}}
		}
		res, err := p.host.Txn(ctx, txn)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return Summary{}, err
		}
		sum := Summary{Score: res.Counters[scoreName(item)], Up: res.Counters[upName(item)], Down: res.Counters[downName(item)], Status: st}
		if value != 0 {
			sum.MyVote = &value
		}
		return sum, nil
	}
	return Summary{}, errRetry
}

// deltas are the counter changes of a vote going from old to value (0: none); every
// counter is named, so the transaction reports all three.
func deltas(item string, old, value int64) []sdk.Delta {
	is := func(v, want int64) int64 {
		if v == want {
			return 1
		}
		return 0
	}
	return []sdk.Delta{
		{Name: scoreName(item), Delta: value - old},
		{Name: upName(item), Delta: is(value, 1) - is(old, 1)},
		{Name: downName(item), Delta: is(value, -1) - is(old, -1)},
	}
}

// summary answers the item's votes as the acting user sees them.
func (p *Plugin) summary(w http.ResponseWriter, r *http.Request) {
	user, _, ok := request(w, r)
	if !ok {
		return
	}
	sum, err := p.summaryOf(r.Context(), r.PathValue("item_id"), user)
	if err != nil {
		p.failed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, sum)
}

func (p *Plugin) summaryOf(ctx context.Context, item, user string) (Summary, error) {
	counts, err := p.host.Counters().BatchGet(ctx, []string{scoreName(item), upName(item), downName(item)})
	if err != nil {
		return Summary{}, err
	}
	got, err := p.host.KV().BatchGet(ctx, []string{voteKey(item, user), statusKey(item)})
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Score: counts[scoreName(item)], Up: counts[upName(item)], Down: counts[downName(item)]}
	if sum.Status, err = statusOf(got[statusKey(item)]); err != nil {
		return Summary{}, err
	}
	if e, ok := got[voteKey(item, user)]; ok {
		var v int64
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return Summary{}, err
		}
		sum.MyVote = &v
	}
	return sum, nil
}
