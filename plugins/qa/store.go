package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Question statuses. Outside helpdesk spaces a question is only open or resolved.
const (
	statusOpen       = "open"
	statusInProgress = "in_progress"
	statusResolved   = "resolved"
)

var statuses = []string{statusOpen, statusInProgress, statusResolved}

// record is what the plugin keeps about a question beside its item. It is also the
// question's decoration, so it holds nothing a reader of the question may not see.
type record struct {
	SpaceID          string     `json:"space_id"`
	Status           string     `json:"status"`
	Tags             []string   `json:"tags"`
	Assignee         string     `json:"assignee,omitempty"`
	AcceptedAnswerID string     `json:"accepted_answer_id,omitempty"`
	AnswerCount      int        `json:"answer_count"`
	CreatedAt        time.Time  `json:"created_at"`
	FirstAnswerAt    *time.Time `json:"first_answer_at,omitempty"`
	ResolvedAt       *time.Time `json:"resolved_at,omitempty"`
}

// answerRecord is what the plugin keeps about an answer beside its item.
type answerRecord struct {
	CreatedAt time.Time `json:"created_at"`
	Score     int       `json:"score"`
	Up        int       `json:"up"`
	Down      int       `json:"down"`
}

// answerLink is an answer's question, the value of aq/<answer>.
type answerLink struct {
	QuestionID string `json:"question_id"`
}

// note is an internal note of the helpdesk on a question.
type note struct {
	ID         string    `json:"id"`
	QuestionID string    `json:"question_id"`
	Author     *string   `json:"author"` // null once the author's account is deleted
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

func esc(s string) string { return url.PathEscape(s) }

// revTime orders keys newest first.
func revTime(t time.Time) string { return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano()) }

func questionKey(q string) string          { return "q/" + esc(q) }
func spacePrefix(space string) string      { return "sq/" + esc(space) + "/" }
func statusPrefix(space, st string) string { return "ss/" + esc(space) + "/" + st + "/" }
func answersPrefix(q string) string        { return "a/" + esc(q) + "/" }
func answerKey(q, a string) string         { return answersPrefix(q) + esc(a) }
func linkKey(a string) string              { return "aq/" + esc(a) }
func votesPrefix(a string) string          { return "v/" + esc(a) + "/" }
func voteKey(a, user string) string        { return votesPrefix(a) + esc(user) }
func notesPrefix(q string) string          { return "n/" + esc(q) + "/" }
func userPrefix(user string) string        { return "u/" + esc(user) + "/" }
func staffPrefix(space string) string      { return "staff/" + esc(space) + "/" }
func staffKey(space, user string) string   { return staffPrefix(space) + esc(user) }

// indexSuffix is a question's place in its space's lists.
func indexSuffix(q string, r record) string { return revTime(r.CreatedAt) + "/" + esc(q) }

// The user index: what user.deleted must clean.
func userVoteKey(user, a string) string       { return userPrefix(user) + "v/" + esc(a) }
func userAssignedKey(user, q string) string   { return userPrefix(user) + "asg/" + esc(q) }
func userNoteKey(user, noteKey string) string { return userPrefix(user) + noteKey }

// lastSegment returns the unescaped last segment of a key.
func lastSegment(key string) (string, error) {
	return url.PathUnescape(key[strings.LastIndexByte(key, '/')+1:])
}

// errUnchanged, returned by a change function, leaves the record as it is.
var errUnchanged = errors.New("unchanged")

// casRetries bounds compare-and-set loops; past it a request answers 409.
const casRetries = 20

// loadQuestion reads a question's record and its version; sdk.ErrNotFound if the
// plugin keeps none.
func (p *Plugin) loadQuestion(ctx context.Context, q string) (record, int64, error) {
	e, err := p.host.KV().Get(ctx, questionKey(q))
	if err != nil {
		return record{}, 0, err
	}
	var r record
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return record{}, 0, fmt.Errorf("question %s: %w", q, err)
	}
	return r, e.Version, nil
}

// updateQuestion applies change to a question's record with compare-and-set,
// retrying when someone else wrote first, and moves the question between the
// status lists. change may return errUnchanged to write nothing, or another error
// to stop. It returns the record as it was and as it is now; sdk.ErrNotFound if
// there is none.
func (p *Plugin) updateQuestion(ctx context.Context, q string, change func(*record) error) (before, after record, err error) {
	for range casRetries {
		var version int64
		before, version, err = p.loadQuestion(ctx, q)
		if err != nil {
			return record{}, record{}, err
		}
		after = before
		after.Tags = append([]string(nil), before.Tags...)
		switch err := change(&after); {
		case errors.Is(err, errUnchanged):
			return before, before, nil
		case err != nil:
			return before, before, err
		}
		data, err := json.Marshal(after)
		if err != nil {
			return before, before, err
		}
		_, err = p.host.KV().CAS(ctx, questionKey(q), data, version)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return before, before, err
		}
		if before.Status != after.Status {
			// The new list first: a question may show twice for a moment (the
			// list checks the record), never vanish.
			if _, err := p.host.KV().Put(ctx, statusPrefix(after.SpaceID, after.Status)+indexSuffix(q, after), nil); err != nil {
				return before, after, err
			}
			if err := p.host.KV().Delete(ctx, statusPrefix(before.SpaceID, before.Status)+indexSuffix(q, before)); err != nil {
				return before, after, err
			}
		}
		return before, after, nil
	}
	return record{}, record{}, fmt.Errorf("question %s: %w: too many concurrent changes", q, sdk.ErrConflict)
}

// reopen sets a resolved question back to in progress (assigned) or open.
func (r *record) reopen() {
	if r.Status != statusResolved {
		return
	}
	r.Status, r.ResolvedAt = statusOpen, nil
	if r.Assignee != "" {
		r.Status = statusInProgress
	}
}

// resolve marks a question resolved, keeping the first time it was.
func (r *record) resolve(now time.Time) {
	if r.Status != statusResolved || r.ResolvedAt == nil {
		r.ResolvedAt = &now
	}
	r.Status = statusResolved
}

// updateAnswer applies change to an answer's record with compare-and-set, as
// updateQuestion does; sdk.ErrNotFound if there is none.
func (p *Plugin) updateAnswer(ctx context.Context, q, a string, change func(*answerRecord)) (answerRecord, error) {
	kv := p.host.KV()
	for range casRetries {
		e, err := kv.Get(ctx, answerKey(q, a))
		if err != nil {
			return answerRecord{}, err
		}
		var r answerRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return answerRecord{}, fmt.Errorf("answer %s: %w", a, err)
		}
		change(&r)
		data, err := json.Marshal(r)
		if err != nil {
			return answerRecord{}, err
		}
		if _, err := kv.CAS(ctx, answerKey(q, a), data, e.Version); errors.Is(err, sdk.ErrConflict) {
			continue
		} else if err != nil {
			return answerRecord{}, err
		}
		return r, nil
	}
	return answerRecord{}, fmt.Errorf("answer %s: %w: too many concurrent changes", a, sdk.ErrConflict)
}

// listAll calls f with every entry under prefix, a page at a time.
func (p *Plugin) listAll(ctx context.Context, prefix string, f func(sdk.Entry) error) error {
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := f(e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// putJSON stores v under key.
func (p *Plugin) putJSON(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.host.KV().Put(ctx, key, data)
	return err
}
