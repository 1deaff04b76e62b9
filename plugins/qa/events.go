package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// HandleEvent cleans up after deleted questions, answers and users. It acts as the
// plugin and is idempotent: a redelivered event finds nothing left to do, and one
// that failed halfway finds what is left, for the key that leads to it goes last.
func (p *Plugin) HandleEvent(ctx context.Context, e sdk.Event) error {
	switch e.Type {
	case "item.deleted":
		var meta struct {
			Owner string `json:"owner"`
		}
		if json.Unmarshal(e.Payload, &meta) == nil && meta.Owner != "" && meta.Owner != "qa" {
			return nil // not one of ours
		}
		return p.itemDeleted(ctx, e.ItemID)
	case "user.deleted":
		var u struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(e.Payload, &u); err != nil || !validID(u.UserID) {
			p.log.Warn("user.deleted without a user id", "event", e.ID)
			return nil
		}
		return p.userDeleted(ctx, u.UserID)
	}
	return nil
}

// itemDeleted cleans up after a deleted item if it was a question or an answer.
func (p *Plugin) itemDeleted(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	found, err := p.host.KV().BatchGet(ctx, []string{questionKey(id), linkKey(id)})
	if err != nil {
		return err
	}
	if e, ok := found[questionKey(id)]; ok {
		var rec record
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			return err
		}
		return p.deleteQuestion(ctx, id, rec)
	}
	if e, ok := found[linkKey(id)]; ok {
		var l answerLink
		if err := json.Unmarshal(e.Value, &l); err != nil {
			return err
		}
		return p.deleteAnswer(ctx, l.QuestionID, id, true)
	}
	return nil
}

// deleteQuestion removes a deleted question's answers (their items too), notes,
// assignment and places in the lists, and its record last.
func (p *Plugin) deleteQuestion(ctx context.Context, q string, rec record) error {
	kv := p.host.KV()
	err := p.listAll(ctx, answersPrefix(q), func(e sdk.Entry) error {
		a, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		if err := p.host.Items().Delete(ctx, a); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return err
		}
		return p.deleteAnswer(ctx, q, a, false)
	})
	if err != nil {
		return err
	}
	err = p.listAll(ctx, notesPrefix(q), func(e sdk.Entry) error {
		var n note
		if json.Unmarshal(e.Value, &n) == nil && n.Author != nil {
			if err := kv.Delete(ctx, userNoteKey(*n.Author, e.Key)); err != nil {
				return err
			}
		}
		return kv.Delete(ctx, e.Key)
	})
	if err != nil {
		return err
	}
	keys := []string{spacePrefix(rec.SpaceID) + indexSuffix(q, rec)}
	for _, st := range statuses {
		keys = append(keys, statusPrefix(rec.SpaceID, st)+indexSuffix(q, rec))
	}
	if rec.Assignee != "" {
		keys = append(keys, userAssignedKey(rec.Assignee, q))
	}
	for _, k := range append(keys, questionKey(q)) {
		if err := kv.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// deleteAnswer removes a deleted answer's record and votes, and its link last. With
// recount, its question counts its answers again and, if this one was accepted, is
// reopened.
func (p *Plugin) deleteAnswer(ctx context.Context, q, a string, recount bool) error {
	kv := p.host.KV()
	if err := kv.Delete(ctx, answerKey(q, a)); err != nil {
		return err
	}
	err := p.listAll(ctx, votesPrefix(a), func(e sdk.Entry) error {
		user, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		if err := kv.Delete(ctx, userVoteKey(user, a)); err != nil {
			return err
		}
		return kv.Delete(ctx, e.Key)
	})
	if err != nil {
		return err
	}
	if recount {
		_, _, err := p.updateQuestion(ctx, q, func(r *record) error {
			n, err := p.countAnswers(ctx, q)
			if err != nil {
				return err
			}
			if n == r.AnswerCount && r.AcceptedAnswerID != a {
				return errUnchanged
			}
			r.AnswerCount = n
			if r.AcceptedAnswerID == a {
				r.AcceptedAnswerID = ""
				r.reopen()
			}
			return nil
		})
		if err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return err
		}
	}
	return kv.Delete(ctx, linkKey(a))
}

// countAnswers counts a question's answers.
func (p *Plugin) countAnswers(ctx context.Context, q string) (int, error) {
	n := 0
	err := p.listAll(ctx, answersPrefix(q), func(sdk.Entry) error {
		n++
		return nil
	})
	return n, err
}

// userDeleted forgets a deleted user: their votes (the tallies keep them, without a
// name), assignments, authorship of notes and place among the helpdesk members.
// Their questions and answers are items: the core keeps them without an author.
func (p *Plugin) userDeleted(ctx context.Context, user string) error {
	kv := p.host.KV()
	prefix := userPrefix(user)
	err := p.listAll(ctx, prefix, func(e sdk.Entry) error {
		rest := strings.TrimPrefix(e.Key, prefix)
		var err error
		switch {
		case strings.HasPrefix(rest, "v/"):
			err = kv.Delete(ctx, rest+"/"+esc(user))
		case strings.HasPrefix(rest, "asg/"):
			err = p.dropAssignee(ctx, strings.TrimPrefix(rest, "asg/"), user)
		case strings.HasPrefix(rest, "n/"):
			err = p.anonymizeNote(ctx, rest, user)
		}
		if err != nil {
			return err
		}
		return kv.Delete(ctx, e.Key)
	})
	if err != nil {
		return err
	}
	for space := range p.settings.HelpdeskSpaces {
		if err := kv.Delete(ctx, staffKey(space, user)); err != nil {
			return err
		}
	}
	return nil
}

// dropAssignee unassigns the user from a question (its escaped id) they still hold.
func (p *Plugin) dropAssignee(ctx context.Context, escaped, user string) error {
	q, err := url.PathUnescape(escaped)
	if err != nil {
		return nil // not a key this plugin wrote
	}
	_, _, err = p.updateQuestion(ctx, q, func(r *record) error {
		if r.Assignee != user {
			return errUnchanged
		}
		r.Assignee = ""
		if r.Status == statusInProgress {
			r.Status = statusOpen
		}
		return nil
	})
	if errors.Is(err, sdk.ErrNotFound) {
		return nil
	}
	return err
}

// anonymizeNote removes the user as the author of the note under key.
func (p *Plugin) anonymizeNote(ctx context.Context, key, user string) error {
	e, err := p.host.KV().Get(ctx, key)
	if errors.Is(err, sdk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var n note
	if err := json.Unmarshal(e.Value, &n); err != nil || n.Author == nil || *n.Author != user {
		return err
	}
	n.Author = nil
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	// Notes change nowhere else, but a note deleted with its question meanwhile
	// must not come back.
	_, err = p.host.KV().CAS(ctx, key, data, e.Version)
	if errors.Is(err, sdk.ErrConflict) {
		return nil
	}
	return err
}
