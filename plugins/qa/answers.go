package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// maxAnswers bounds a question's answers, so ordering them stays one read.
const maxAnswers = 200

// answer adds an answer: an item of kind "answer" in the question's space, authored
// by the user, who must be allowed to create one there. 201 with the answer.
func (p *Plugin) answer(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	body, msg := cleanText("body", req.Body, maxBody)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	if rec.AnswerCount >= maxAnswers {
		_ = sdk.WriteProblem(w, http.StatusConflict, "answer_limit", "this question has "+strconv.Itoa(maxAnswers)+" answers, the most it takes")
		return
	}
	ctx := r.Context()
	id, err := p.host.Items().Register(ctx, sdk.NewItem{Kind: kindAnswer, SpaceID: q.SpaceID, Title: answerTitle(q.Title), Body: body})
	if errors.Is(err, sdk.ErrForbidden) || errors.Is(err, sdk.ErrNotFound) {
		forbidden(w, "you may not answer in this space")
		return
	}
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	now := p.now().UTC()
	ans := answerRecord{CreatedAt: now}
	err = p.putJSON(ctx, linkKey(id), answerLink{QuestionID: q.ID})
	if err == nil {
		err = p.putJSON(ctx, answerKey(q.ID, id), ans)
	}
	if err == nil {
		_, _, err = p.updateQuestion(ctx, q.ID, func(r *record) error {
			// A count, not an increment: answers added and deleted at once still
			// leave the right number.
			n, err := p.countAnswers(ctx, q.ID)
			if err != nil {
				return err
			}
			r.AnswerCount = n
			if r.FirstAnswerAt == nil && user != q.AuthorID {
				r.FirstAnswerAt = &now
			}
			return nil
		})
	}
	var it sdk.Item
	if err == nil {
		it, err = p.host.Items().Get(ctx, id)
	}
	if err != nil {
		// The question went, or a write failed: take the answer back; item.deleted
		// cleans up what was stored.
		if derr := p.host.Items().Delete(ctx, id); derr != nil {
			p.log.Error("take back a half-made answer", "answer", id, "err", derr)
		}
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusCreated, answerViewOf(it, q.ID, ans, false, 0))
}

// answerTitle is an answer item's title, which feeds and search show.
func answerTitle(question string) string {
	t := "Re: " + question
	if utf8.RuneCountInString(t) > maxTitle {
		t = string([]rune(t)[:maxTitle])
	}
	return t
}

// listAnswers answers a question's answers, the accepted one first, then by score,
// then oldest first: ?limit=, ?cursor=.
func (p *Plugin) listAnswers(w http.ResponseWriter, r *http.Request) {
	user, query, ok := actingUser(w, r, "limit", "cursor")
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok {
		return
	}
	limit, ok := pageLimit(w, query)
	if !ok {
		return
	}
	offset := 0
	if c, ok := query["cursor"]; ok {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > maxAnswers {
			badRequest(w, "cursor is not one this API gave")
			return
		}
		offset = n
	}
	items, next, err := p.answerPage(r.Context(), user, q.ID, rec, offset, limit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, page[answerView]{Items: items, NextCursor: next})
}

// answerPage returns limit of a question's answers from offset in their order, and
// the cursor of the next page (nil on the last).
func (p *Plugin) answerPage(ctx context.Context, user, q string, rec record, offset, limit int) ([]answerView, *string, error) {
	type ranked struct {
		id string
		answerRecord
	}
	var all []ranked
	err := p.listAll(ctx, answersPrefix(q), func(e sdk.Entry) error {
		id, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		var a answerRecord
		if err := json.Unmarshal(e.Value, &a); err != nil {
			return err
		}
		all = append(all, ranked{id, a})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(all, func(x, y ranked) int {
		return cmp.Or(
			-cmp.Compare(boolInt(x.id == rec.AcceptedAnswerID), boolInt(y.id == rec.AcceptedAnswerID)),
			-cmp.Compare(x.Score, y.Score),
			x.CreatedAt.Compare(y.CreatedAt),
			cmp.Compare(x.id, y.id),
		)
	})
	var next *string
	if end := offset + limit; end < len(all) {
		c := strconv.Itoa(end)
		next = &c
	}
	all = all[min(offset, len(all)):min(offset+limit, len(all))]
	ids := make([]string, len(all))
	for i, a := range all {
		ids[i] = a.id
	}
	views, err := p.answerViews(ctx, user, q, rec.AcceptedAnswerID, ids)
	return views, next, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// answerViews returns the views of a question's answers, in the order of ids,
// leaving out those the user may not read (or that are gone).
func (p *Plugin) answerViews(ctx context.Context, user, q, accepted string, ids []string) ([]answerView, error) {
	keys := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, answerKey(q, id), voteKey(id, user))
	}
	found, err := p.host.KV().BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := []answerView{}
	for _, id := range ids {
		e, ok := found[answerKey(q, id)]
		var rec answerRecord
		if !ok || json.Unmarshal(e.Value, &rec) != nil {
			continue
		}
		it, err := p.host.Items().Get(ctx, id)
		if errors.Is(err, sdk.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, answerViewOf(it, q, rec, id == accepted, voteOf(found[voteKey(id, user)])))
	}
	return out, nil
}

// voteOf reads a stored vote: 1, -1, or 0 for none.
func voteOf(e sdk.Entry) int {
	v, err := strconv.Atoi(string(e.Value))
	if err != nil || (v != 1 && v != -1) {
		return 0
	}
	return v
}

// mayAccept reports whether the user asked the question or moderates its space.
func (p *Plugin) mayAccept(ctx context.Context, user string, q sdk.Item) (bool, error) {
	if q.AuthorID != "" && q.AuthorID == user {
		return true, nil
	}
	return p.host.Authorize(ctx, "moderate", q.ID)
}

// accept marks one answer accepted, which resolves the question: the asker's or a
// space moderator's call. 200 with the question.
func (p *Plugin) accept(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, _, ok := p.question(w, r)
	if !ok {
		return
	}
	var req struct {
		AnswerID string `json:"answer_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !validID(req.AnswerID) {
		badRequest(w, "answer_id is required")
		return
	}
	ctx := r.Context()
	if ok, err := p.mayAccept(ctx, user, q); err != nil {
		p.hostFailed(w, r, err)
		return
	} else if !ok {
		forbidden(w, "only the asker or a moderator of the space accepts an answer")
		return
	}
	if _, err := p.host.KV().Get(ctx, answerKey(q.ID, req.AnswerID)); errors.Is(err, sdk.ErrNotFound) {
		badRequest(w, "answer_id is not an answer to this question")
		return
	} else if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	now := p.now().UTC()
	_, rec, err := p.updateQuestion(ctx, q.ID, func(r *record) error {
		if r.AcceptedAnswerID == req.AnswerID && r.Status == statusResolved {
			return errUnchanged
		}
		r.AcceptedAnswerID = req.AnswerID
		r.resolve(now)
		return nil
	})
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, p.questionView(q, rec))
}

// unaccept takes the acceptance back and reopens the question. 204.
func (p *Plugin) unaccept(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, _, ok := p.question(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if ok, err := p.mayAccept(ctx, user, q); err != nil {
		p.hostFailed(w, r, err)
		return
	} else if !ok {
		forbidden(w, "only the asker or a moderator of the space accepts an answer")
		return
	}
	_, _, err := p.updateQuestion(ctx, q.ID, func(r *record) error {
		if r.AcceptedAnswerID == "" {
			return errUnchanged
		}
		r.AcceptedAnswerID = ""
		r.reopen()
		return nil
	})
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// vote records the user's vote on an answer, {"value": 1 | -1}, and answers its
// tally. Nobody votes on their own answer.
func (p *Plugin) vote(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value int `json:"value"`
	}
	p.changeVote(w, r, func() (int, bool) {
		if !decodeBody(w, r, &req) {
			return 0, false
		}
		if req.Value != 1 && req.Value != -1 {
			badRequest(w, "value is 1 or -1")
			return 0, false
		}
		return req.Value, true
	})
}

// unvote removes the user's vote on an answer. 204, also when there was none.
func (p *Plugin) unvote(w http.ResponseWriter, r *http.Request) {
	p.changeVote(w, r, func() (int, bool) { return 0, true })
}

// changeVote checks a vote request and sets the user's vote to what value returns
// (0: none).
func (p *Plugin) changeVote(w http.ResponseWriter, r *http.Request, value func() (int, bool)) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, _, ok := p.question(w, r)
	if !ok {
		return
	}
	a := r.PathValue("answer_id")
	if !validID(a) {
		badRequest(w, "not an answer id")
		return
	}
	v, ok := value()
	if !ok {
		return
	}
	ctx := r.Context()
	if _, err := p.host.KV().Get(ctx, answerKey(q.ID, a)); err != nil {
		if errors.Is(err, sdk.ErrNotFound) {
			notFound(w, "no such answer to this question")
		} else {
			p.hostFailed(w, r, err)
		}
		return
	}
	it, err := p.host.Items().Get(ctx, a)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	if v != 0 && it.AuthorID == user {
		forbidden(w, "you may not vote on your own answer")
		return
	}
	tally, err := p.castVote(ctx, q.ID, a, user, v)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	if v == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, tallyView{Score: tally.Score, Up: tally.Up, Down: tally.Down, MyVote: v})
}

// castVote sets the user's vote on an answer to value (0: none) and moves the
// answer's tally by the difference, once however often it is called.
func (p *Plugin) castVote(ctx context.Context, q, a, user string, value int) (answerRecord, error) {
	kv := p.host.KV()
	if value != 0 {
		// The user index first: user.deleted may find a key too many, never miss one.
		if _, err := kv.Put(ctx, userVoteKey(user, a), nil); err != nil {
			return answerRecord{}, err
		}
	}
	for range casRetries {
		old, version := 0, int64(0)
		e, err := kv.Get(ctx, voteKey(a, user))
		switch {
		case errors.Is(err, sdk.ErrNotFound):
		case err != nil:
			return answerRecord{}, err
		default:
			old, version = voteOf(e), e.Version
		}
		if old == value {
			return p.answerTally(ctx, q, a)
		}
		if value == 0 {
			err = kv.CompareAndDelete(ctx, voteKey(a, user), version)
		} else {
			_, err = kv.CAS(ctx, voteKey(a, user), []byte(strconv.Itoa(value)), version)
		}
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return answerRecord{}, err
		}
		tally, err := p.updateAnswer(ctx, q, a, func(r *answerRecord) {
			r.Score += value - old
			r.Up += boolInt(value == 1) - boolInt(old == 1)
			r.Down += boolInt(value == -1) - boolInt(old == -1)
		})
		if err != nil {
			return answerRecord{}, err
		}
		if value == 0 {
			err = kv.Delete(ctx, userVoteKey(user, a))
		}
		return tally, err
	}
	return answerRecord{}, errors.Join(sdk.ErrConflict, errors.New("vote: too many concurrent changes"))
}

// answerTally reads an answer's record.
func (p *Plugin) answerTally(ctx context.Context, q, a string) (answerRecord, error) {
	var r answerRecord
	e, err := p.host.KV().Get(ctx, answerKey(q, a))
	if err == nil {
		err = json.Unmarshal(e.Value, &r)
	}
	return r, err
}
