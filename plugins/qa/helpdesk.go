package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Helpdesk members are remembered for staffTTL after they last acted, refreshed at
// most every staffRefresh: whom a question may be assigned to.
const (
	staffTTL     = 30 * 24 * time.Hour
	staffRefresh = time.Hour
)

// staffMember is a helpdesk member as GET /spaces/{id}/staff lists them.
type staffMember struct {
	UserID string    `json:"user_id"`
	SeenAt time.Time `json:"seen_at"`
}

// seen records that the acting user staffs the space's helpdesk now. A failure is
// logged: it only delays their showing as assignable.
func (p *Plugin) seen(ctx context.Context, space, user string) {
	now := p.now().UTC()
	e, err := p.host.KV().Get(ctx, staffKey(space, user))
	var m staffMember
	if err == nil && json.Unmarshal(e.Value, &m) == nil && now.Sub(m.SeenAt) < staffRefresh {
		return
	}
	data, err := json.Marshal(staffMember{UserID: user, SeenAt: now})
	if err == nil {
		_, err = p.host.KV().PutTTL(ctx, staffKey(space, user), data, staffTTL)
	}
	if err != nil {
		p.log.Warn("remember a helpdesk member", "space", space, "err", err)
	}
}

// staffOnly lets through a helpdesk member acting on a question of a helpdesk space:
// 409 for a question outside helpdesk mode, 403 for anyone else.
func (p *Plugin) staffOnly(w http.ResponseWriter, r *http.Request, user string, rec record) bool {
	if _, ok := p.helpdeskRole(rec.SpaceID); !ok {
		_ = sdk.WriteProblem(w, http.StatusConflict, "not_helpdesk", "the question's space is not in helpdesk mode")
		return false
	}
	if !p.isStaff(r.Context(), rec.SpaceID) {
		forbidden(w, "only the helpdesk does this")
		return false
	}
	p.seen(r.Context(), rec.SpaceID, user)
	return true
}

// setStatus sets a question's status, {"status": "open" | "in_progress" |
// "resolved"}: the helpdesk sets any; the asker and the space's moderators open and
// resolve. 200 with the question.
func (p *Plugin) setStatus(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok {
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(statuses, req.Status) {
		badRequest(w, "status is one of open, in_progress, resolved")
		return
	}
	ctx := r.Context()
	_, helpdesk := p.helpdeskRole(rec.SpaceID)
	staff := p.isStaff(ctx, rec.SpaceID)
	switch {
	case staff:
		p.seen(ctx, rec.SpaceID, user)
	case req.Status == statusInProgress && !helpdesk:
		badRequest(w, "in_progress is for questions in helpdesk spaces")
		return
	case req.Status == statusInProgress:
		forbidden(w, "only the helpdesk sets a question in progress")
		return
	default:
		if ok, err := p.mayAccept(ctx, user, q); err != nil {
			p.hostFailed(w, r, err)
			return
		} else if !ok {
			forbidden(w, "only the asker, a moderator of the space or the helpdesk changes the status")
			return
		}
	}
	now := p.now().UTC()
	_, rec, err := p.updateQuestion(ctx, q.ID, func(r *record) error {
		switch {
		case r.Status == req.Status:
			return errUnchanged
		case req.Status == statusResolved:
			r.resolve(now)
		default:
			r.Status, r.ResolvedAt = req.Status, nil
		}
		return nil
	})
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, p.questionView(q, rec))
}

// assign gives a question of a helpdesk space to a helpdesk member, {"user_id"}: the
// caller or a colleague who used the helpdesk in the last 30 days. An open question
// is then in progress. 200 with the question.
func (p *Plugin) assign(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok {
		return
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !validID(req.UserID) {
		badRequest(w, "user_id is required")
		return
	}
	if !p.staffOnly(w, r, user, rec) {
		return
	}
	ctx := r.Context()
	if req.UserID != user {
		if _, err := p.host.KV().Get(ctx, staffKey(rec.SpaceID, req.UserID)); errors.Is(err, sdk.ErrNotFound) {
			badRequest(w, "user_id is not a member of this helpdesk (members show once they used it)")
			return
		} else if err != nil {
			p.hostFailed(w, r, err)
			return
		}
	}
	if _, err := p.host.KV().Put(ctx, userAssignedKey(req.UserID, q.ID), nil); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	before, rec, err := p.updateQuestion(ctx, q.ID, func(r *record) error {
		if r.Assignee == req.UserID {
			return errUnchanged
		}
		r.Assignee = req.UserID
		if r.Status == statusOpen {
			r.Status = statusInProgress
		}
		return nil
	})
	if err == nil && before.Assignee != "" && before.Assignee != rec.Assignee {
		err = p.host.KV().Delete(ctx, userAssignedKey(before.Assignee, q.ID))
	}
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, p.questionView(q, rec))
}

// unassign takes a question back from its assignee; one in progress is open again.
// 204.
func (p *Plugin) unassign(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok || !p.staffOnly(w, r, user, rec) {
		return
	}
	ctx := r.Context()
	before, _, err := p.updateQuestion(ctx, q.ID, func(r *record) error {
		if r.Assignee == "" {
			return errUnchanged
		}
		r.Assignee = ""
		if r.Status == statusInProgress {
			r.Status = statusOpen
		}
		return nil
	})
	if err == nil && before.Assignee != "" {
		err = p.host.KV().Delete(ctx, userAssignedKey(before.Assignee, q.ID))
	}
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addNote adds an internal note to a question, {"body"}, which only the helpdesk
// reads. 201 with the note.
func (p *Plugin) addNote(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok || !p.staffOnly(w, r, user, rec) {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	body, msg := cleanText("body", req.Body, maxNote)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	ctx := r.Context()
	n := note{ID: newID(), QuestionID: q.ID, Author: &user, Body: body, CreatedAt: p.now().UTC()}
	key := notesPrefix(q.ID) + fmt.Sprintf("%019d-%s", n.CreatedAt.UnixNano(), n.ID)
	if _, err := p.host.KV().Put(ctx, userNoteKey(user, key), nil); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	if err := p.putJSON(ctx, key, n); err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusCreated, n)
}

// listNotes answers a question's internal notes, oldest first, to the helpdesk:
// ?limit=, ?cursor=.
func (p *Plugin) listNotes(w http.ResponseWriter, r *http.Request) {
	user, query, ok := actingUser(w, r, "limit", "cursor")
	if !ok {
		return
	}
	q, rec, ok := p.question(w, r)
	if !ok || !p.staffOnly(w, r, user, rec) {
		return
	}
	listPage[note](w, r, p, query, notesPrefix(q.ID))
}

// listPage answers a page of the JSON values of type T under prefix, in key order:
// ?limit=, ?cursor=.
func listPage[T any](w http.ResponseWriter, r *http.Request, p *Plugin, query map[string]string, prefix string) {
	limit, ok := pageLimit(w, query)
	if !ok {
		return
	}
	cursor, ok := cursorOf(w, query)
	if !ok {
		return
	}
	after := ""
	if cursor != "" {
		after = prefix + cursor
	}
	entries, next, err := p.host.KV().List(r.Context(), prefix, after, limit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	out := page[T]{Items: make([]T, 0, len(entries))}
	for _, e := range entries {
		var v T
		if err := json.Unmarshal(e.Value, &v); err != nil {
			p.hostFailed(w, r, err)
			return
		}
		out.Items = append(out.Items, v)
	}
	if next != "" {
		c := strings.TrimPrefix(entries[len(entries)-1].Key, prefix)
		out.NextCursor = &c
	}
	_ = sdk.WriteJSON(w, http.StatusOK, out)
}

// helpdeskInfo answers whether a space is in helpdesk mode, with which role, and
// whether the caller staffs it.
func (p *Plugin) helpdeskInfo(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	space := r.PathValue("space_id")
	if !validID(space) {
		badRequest(w, "not a space id")
		return
	}
	role, helpdesk := p.helpdeskRole(space)
	staff := p.isStaff(r.Context(), space)
	if staff {
		p.seen(r.Context(), space, user)
	}
	_ = sdk.WriteJSON(w, http.StatusOK, struct {
		SpaceID  string  `json:"space_id"`
		Helpdesk bool    `json:"helpdesk"`
		Role     *string `json:"role"`
		Staff    bool    `json:"staff"`
	}{space, helpdesk, orNull(role), staff})
}

// listStaff answers, to the helpdesk, its members seen in the last 30 days: whom a
// question may be assigned to. ?limit=, ?cursor=.
func (p *Plugin) listStaff(w http.ResponseWriter, r *http.Request) {
	user, query, ok := actingUser(w, r, "limit", "cursor")
	if !ok {
		return
	}
	space := r.PathValue("space_id")
	if !validID(space) {
		badRequest(w, "not a space id")
		return
	}
	if !p.staffOnly(w, r, user, record{SpaceID: space}) {
		return
	}
	listPage[staffMember](w, r, p, query, staffPrefix(space))
}

// statsView is GET /stats.
type statsView struct {
	SpaceID    string `json:"space_id"`
	Questions  int    `json:"questions"`
	Open       int    `json:"open"`
	InProgress int    `json:"in_progress"`
	Resolved   int    `json:"resolved"`
	// The medians, in seconds from asking, over the questions answered (by someone
	// else than the asker) and resolved; null when there are none.
	MedianFirstAnswerSeconds *float64 `json:"median_first_answer_seconds"`
	MedianResolutionSeconds  *float64 `json:"median_resolution_seconds"`
}

// stats answers ?space='s question counts by status and median times to the first
// answer and to resolution, to its helpdesk and its moderators. To anyone else, and
// for a space the caller may not read, it answers 404.
func (p *Plugin) stats(w http.ResponseWriter, r *http.Request) {
	user, query, ok := actingUser(w, r, "space")
	if !ok {
		return
	}
	space := query["space"]
	if !validID(space) {
		badRequest(w, "space is required")
		return
	}
	ctx := r.Context()
	allowed, err := p.mayReadStats(ctx, space)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	if !allowed {
		notFound(w, "no statistics for this space")
		return
	}
	if p.isStaff(ctx, space) {
		p.seen(ctx, space, user)
	}
	out := statsView{SpaceID: space}
	var firstAnswer, resolution []float64
	var ids []string
	count := func() error {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = questionKey(id)
		}
		recs, err := p.host.KV().BatchGet(ctx, keys)
		if err != nil {
			return err
		}
		for _, e := range recs {
			var rec record
			if err := json.Unmarshal(e.Value, &rec); err != nil {
				return err
			}
			out.Questions++
			switch rec.Status {
			case statusOpen:
				out.Open++
			case statusInProgress:
				out.InProgress++
			case statusResolved:
				out.Resolved++
			}
			if rec.FirstAnswerAt != nil {
				firstAnswer = append(firstAnswer, rec.FirstAnswerAt.Sub(rec.CreatedAt).Seconds())
			}
			if rec.Status == statusResolved && rec.ResolvedAt != nil {
				resolution = append(resolution, rec.ResolvedAt.Sub(rec.CreatedAt).Seconds())
			}
		}
		ids = ids[:0]
		return nil
	}
	err = p.listAll(ctx, spacePrefix(space), func(e sdk.Entry) error {
		id, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		if ids = append(ids, id); len(ids) == sdk.MaxBatch {
			return count()
		}
		return nil
	})
	if err == nil {
		err = count()
	}
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	out.MedianFirstAnswerSeconds, out.MedianResolutionSeconds = median(firstAnswer), median(resolution)
	_ = sdk.WriteJSON(w, http.StatusOK, out)
}

// mayReadStats reports whether the acting user may read a space's statistics: they
// staff its helpdesk or moderate it, and read it. Whoever reads a space reads its
// questions, so the newest question the user may read stands for the space; a
// helpdesk member sees the statistics of a space without questions, which are
// zeros.
func (p *Plugin) mayReadStats(ctx context.Context, space string) (bool, error) {
	hits, err := p.host.Items().Search(ctx, sdk.ItemQuery{SpaceID: space, Kind: kindQuestion, Limit: 1})
	if err != nil {
		return false, err
	}
	if len(hits) > 0 {
		if p.isStaff(ctx, space) {
			return true, nil
		}
		return p.host.Authorize(ctx, "moderate", hits[0].ID)
	}
	if !p.isStaff(ctx, space) {
		return false, nil
	}
	entries, _, err := p.host.KV().List(ctx, spacePrefix(space), "", 1)
	return len(entries) == 0, err
}

// median returns the median of xs, nil for none.
func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + m) / 2
	}
	return &m
}

// newID returns a random id for a note.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
