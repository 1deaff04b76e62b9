package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// HandleEvent removes what belongs to a deleted item (its votes, giving their budget
// back, its status, rank and counts; a poll and its ballots) or to a deleted user
// (their votes and ballots, counted out, and their budgets). It acts as the plugin
// and is idempotent: a redelivered event finds less to do.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	switch e.Type {
	case "item.deleted":
		if e.ItemID == "" {
			return nil
		}
		return p.forgetItem(ctx, e.ItemID, e.SpaceID)
	case "user.deleted":
		var payload struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(e.Payload, &payload); err != nil || payload.UserID == "" {
			p.log.Warn("user.deleted without a user id", "event", e.ID, "err", err)
			return nil
		}
		return p.forgetUser(ctx, payload.UserID)
	}
	return nil
}

// each calls f with the id after prefix of every key under prefix, and the entry, a
// page at a time. f may delete the keys it is given.
func (p *Plugin) each(ctx context.Context, prefix string, f func(id string, e sdk.Entry) error) error {
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			id, err := url.PathUnescape(strings.TrimPrefix(e.Key, prefix))
			if err != nil {
				return fmt.Errorf("key %q: %w", e.Key, err)
			}
			if err := f(id, e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

func (p *Plugin) forgetItem(ctx context.Context, item, space string) error {
	err := p.each(ctx, votePrefix(item), func(user string, _ sdk.Entry) error {
		return p.dropVote(ctx, item, space, user)
	})
	if err != nil {
		return err
	}
	rest := sdk.Txn{Delete: []string{statusKey(item)}, DeleteCounters: []string{scoreName(item), upName(item), downName(item)}}
	if space != "" {
		rest.Delete = append(rest.Delete, rankKey(space, item))
	}
	got, err := p.host.KV().BatchGet(ctx, []string{pollKey(item)})
	if err != nil {
		return err
	}
	if e, ok := got[pollKey(item)]; ok {
		var poll Poll
		if err := json.Unmarshal(e.Value, &poll); err != nil {
			return err
		}
		err := p.each(ctx, ballotPrefix(item), func(user string, _ sdk.Entry) error {
			_, err := p.host.Txn(ctx, sdk.Txn{Delete: []string{ballotKey(item, user), userBallotKey(user, item)}})
			return err
		})
		if err != nil {
			return err
		}
		rest.Delete = append(rest.Delete, pollKey(item))
		rest.DeleteCounters = append(rest.DeleteCounters, poll.counterNames(item)...)
	}
	_, err = p.host.Txn(ctx, rest)
	return err
}

func (p *Plugin) forgetUser(ctx context.Context, user string) error {
	spaces := map[string]bool{}
	err := p.each(ctx, userVotePrefix(user), func(item string, e sdk.Entry) error {
		spaces[string(e.Value)] = true
		return p.dropVote(ctx, item, string(e.Value), user)
	})
	if err != nil {
		return err
	}
	for space := range spaces {
		if err := p.host.KV().Delete(ctx, budgetKey(space, user)); err != nil {
			return err
		}
	}
	return p.each(ctx, userBallotPrefix(user), func(item string, _ sdk.Entry) error {
		return p.dropBallot(ctx, item, user)
	})
}

// dropVote removes a user's vote on an item whatever its status, counting it out and
// giving its budget back, with the index entry.
func (p *Plugin) dropVote(ctx context.Context, item, space, user string) error {
	vk, ck, bk := voteKey(item, user), chargeKey(item, user), budgetKey(space, user)
	for range attempts {
		got, err := p.host.KV().BatchGet(ctx, []string{vk, ck, bk})
		if err != nil {
			return err
		}
		txn := sdk.Txn{Delete: []string{vk, userVoteKey(user, item), ck}}
		if v, ok := got[vk]; ok {
			var old int64
			if err := json.Unmarshal(v.Value, &old); err != nil {
				return err
			}
			txn.If = []sdk.Cond{sdk.IfVersion(vk, v.Version)}
			txn.Add = deltas(item, old, 0)
		}
		if c, ok := got[ck]; ok {
			b, found := got[bk]
			used, err := number(b, found)
			if err != nil {
				return err
			}
			txn.If = append(txn.If, sdk.IfVersion(ck, c.Version), cond(bk, b, found))
			txn.Put = []sdk.Put{{Key: bk, Value: jsonValue(max(used-1, 0))}}
		}
		_, err = p.host.Txn(ctx, txn)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		return err
	}
	return errRetry
}

// dropBallot removes a user's ballot in a poll, counting it out, with the index
// entry; the ballot of a poll already gone goes without counting.
func (p *Plugin) dropBallot(ctx context.Context, item, user string) error {
	for range attempts {
		_, mine, entry, err := p.pollOf(ctx, item, user)
		txn := sdk.Txn{Delete: []string{ballotKey(item, user), userBallotKey(user, item)}}
		switch {
		case errors.Is(err, sdk.ErrNotFound):
		case err != nil:
			return err
		case mine != nil:
			txn.If = []sdk.Cond{sdk.IfVersion(ballotKey(item, user), entry.Version)}
			for _, c := range mine {
				txn.Add = append(txn.Add, sdk.Delta{Name: optionName(item, c), Delta: -1})
			}
			txn.Add = append(txn.Add, sdk.Delta{Name: votersName(item), Delta: -1})
		}
		_, err = p.host.Txn(ctx, txn)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		return err
	}
	return errRetry
}
