package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// question reads the question named by the path as the acting user, and its record.
// It answers 400 for a malformed id and 404 when the user may not read the item or
// it is not a question.
func (p *Plugin) question(w http.ResponseWriter, r *http.Request) (sdk.Item, record, bool) {
	id := r.PathValue("item_id")
	if !validID(id) {
		badRequest(w, "not a question id")
		return sdk.Item{}, record{}, false
	}
	it, err := p.host.Items().Get(r.Context(), id)
	if err == nil && (it.Kind != kindQuestion || it.Owner != "qa") {
		err = sdk.ErrNotFound
	}
	var rec record
	if err == nil {
		rec, _, err = p.loadQuestion(r.Context(), id)
	}
	if errors.Is(err, sdk.ErrNotFound) {
		notFound(w, "no such question")
		return sdk.Item{}, record{}, false
	}
	if err != nil {
		p.hostFailed(w, r, err)
		return sdk.Item{}, record{}, false
	}
	return it, rec, true
}

// ask creates a question: an item of kind "question" in the space, authored by the
// user, who must be allowed to create one there (403, or 404 for a space they may
// not see). 201 with the question.
func (p *Plugin) ask(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := actingUser(w, r); !ok {
		return
	}
	var req struct {
		SpaceID string   `json:"space_id"`
		Title   string   `json:"title"`
		Body    string   `json:"body"`
		Tags    []string `json:"tags"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !validID(req.SpaceID) {
		badRequest(w, "space_id is required")
		return
	}
	title, msg := cleanTitle(req.Title)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	body, msg := cleanText("body", req.Body, maxBody)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	tags, msg := cleanTags(req.Tags)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	ctx := r.Context()
	id, err := p.host.Items().Register(ctx, sdk.NewItem{Kind: kindQuestion, SpaceID: req.SpaceID, Title: title, Body: body})
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		notFound(w, "no such space")
		return
	case errors.Is(err, sdk.ErrForbidden):
		forbidden(w, "you may not ask questions in this space")
		return
	case err != nil:
		p.hostFailed(w, r, err)
		return
	}
	rec := record{SpaceID: req.SpaceID, Status: statusOpen, Tags: tags, CreatedAt: p.now().UTC()}
	it, err := p.host.Items().Get(ctx, id)
	if err == nil {
		err = p.storeQuestion(ctx, id, rec)
	}
	if err != nil {
		// A question without its record is one nobody can list: take it back, and
		// item.deleted cleans up what was stored.
		if derr := p.host.Items().Delete(ctx, id); derr != nil {
			p.log.Error("take back a half-made question", "question", id, "err", derr)
		}
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusCreated, p.questionView(it, rec))
}

// storeQuestion writes a new question's record, then its places in the lists.
func (p *Plugin) storeQuestion(ctx context.Context, id string, rec record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	kv := p.host.KV()
	if _, err := kv.CAS(ctx, questionKey(id), data, 0); err != nil {
		return err
	}
	if _, err := kv.Put(ctx, spacePrefix(rec.SpaceID)+indexSuffix(id, rec), nil); err != nil {
		return err
	}
	_, err = kv.Put(ctx, statusPrefix(rec.SpaceID, rec.Status)+indexSuffix(id, rec), nil)
	return err
}

// listQuestions answers a space's questions, newest first: ?space= (required),
// ?status=, ?limit=, ?cursor=.
func (p *Plugin) listQuestions(w http.ResponseWriter, r *http.Request) {
	_, query, ok := actingUser(w, r, "space", "status", "limit", "cursor")
	if !ok {
		return
	}
	space := query["space"]
	if !validID(space) {
		badRequest(w, "space is required")
		return
	}
	status, filtered := query["status"]
	if filtered && !slices.Contains(statuses, status) {
		badRequest(w, "status is one of open, in_progress, resolved")
		return
	}
	limit, ok := pageLimit(w, query)
	if !ok {
		return
	}
	cursor, ok := cursorOf(w, query)
	if !ok {
		return
	}
	ctx := r.Context()
	out := page[questionView]{Items: []questionView{}}
	// A space's questions are readable by whoever reads the space: if the user reads
	// none, the list is empty, without a cursor that would count them.
	if hits, err := p.host.Items().Search(ctx, sdk.ItemQuery{SpaceID: space, Kind: kindQuestion, Limit: 1}); err != nil {
		p.hostFailed(w, r, err)
		return
	} else if len(hits) == 0 {
		_ = sdk.WriteJSON(w, http.StatusOK, out)
		return
	}
	prefix := spacePrefix(space)
	if filtered {
		prefix = statusPrefix(space, status)
	}
	after := ""
	if cursor != "" {
		after = prefix + cursor
	}
	entries, next, err := p.host.KV().List(ctx, prefix, after, limit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	ids := make([]string, 0, len(entries))
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		id, err := lastSegment(e.Key)
		if err != nil {
			p.hostFailed(w, r, err)
			return
		}
		ids, keys = append(ids, id), append(keys, questionKey(id))
	}
	recs, err := p.host.KV().BatchGet(ctx, keys)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	for i, id := range ids {
		e, ok := recs[keys[i]]
		var rec record
		if !ok || json.Unmarshal(e.Value, &rec) != nil || (filtered && rec.Status != status) {
			continue // deleted, or moved to another status a moment ago
		}
		it, err := p.host.Items().Get(ctx, id)
		if errors.Is(err, sdk.ErrNotFound) {
			continue
		}
		if err != nil {
			p.hostFailed(w, r, err)
			return
		}
		out.Items = append(out.Items, p.questionView(it, rec))
	}
	if next != "" {
		c := strings.TrimPrefix(entries[len(entries)-1].Key, prefix)
		out.NextCursor = &c
	}
	_ = sdk.WriteJSON(w, http.StatusOK, out)
}

// getQuestion answers a question with its first answers, best first.
func (p *Plugin) getQuestion(w http.ResponseWriter, r *http.Request) {
	user, _, ok := actingUser(w, r)
	if !ok {
		return
	}
	it, rec, ok := p.question(w, r)
	if !ok {
		return
	}
	answers, next, err := p.answerPage(r.Context(), user, it.ID, rec, 0, defaultLimit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, questionDetail{questionView: p.questionView(it, rec), Answers: answers, AnswersNextCursor: next})
}

// Limits of GET /questions/similar.
const (
	similarDefault = 5
	similarMax     = 20
	similarScan    = 50 // search hits of each kind looked at
	maxQueryRunes  = 200
	maxQueryWords  = 8
)

// similar answers the questions most like ?q= that the user may read, those with an
// accepted answer first (with it), each group best match first. The host's search
// finds them by their own text and by their answers'. ?space= narrows, ?limit= (1 to
// 20, default 5).
func (p *Plugin) similar(w http.ResponseWriter, r *http.Request) {
	user, query, ok := actingUser(w, r, "q", "space", "limit")
	if !ok {
		return
	}
	if utf8.RuneCountInString(query["q"]) > maxQueryRunes {
		badRequest(w, "q: at most 200 characters")
		return
	}
	words := searchWords(query["q"])
	if len(words) == 0 {
		badRequest(w, "q needs a word to look for")
		return
	}
	space, scoped := query["space"]
	if scoped && !validID(space) {
		badRequest(w, "space is not a space id")
		return
	}
	limit := similarDefault
	if v, ok := query["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > similarMax {
			badRequest(w, "limit must be an integer from 1 to 20")
			return
		}
		limit = n
	}
	found, err := p.findSimilar(r.Context(), user, strings.Join(words, " OR "), space, limit)
	if err != nil {
		p.hostFailed(w, r, err)
		return
	}
	_ = sdk.WriteJSON(w, http.StatusOK, page[similarView]{Items: found})
}

// findSimilar searches questions and answers for text as the acting user and
// returns up to limit questions, those with an accepted answer first.
func (p *Plugin) findSimilar(ctx context.Context, user, text, space string, limit int) ([]similarView, error) {
	items := p.host.Items()
	questions, err := items.Search(ctx, sdk.ItemQuery{Query: text, SpaceID: space, Kind: kindQuestion, Limit: similarScan})
	if err != nil {
		return nil, err
	}
	answers, err := items.Search(ctx, sdk.ItemQuery{Query: text, SpaceID: space, Kind: kindAnswer, Limit: similarScan})
	if err != nil {
		return nil, err
	}
	var order []string
	known := map[string]sdk.Item{}
	for _, it := range questions {
		if it.Owner == "qa" {
			order, known[it.ID] = append(order, it.ID), it
		}
	}
	var linkKeys []string
	for _, it := range answers {
		if it.Owner == "qa" {
			linkKeys = append(linkKeys, linkKey(it.ID))
		}
	}
	links, err := p.host.KV().BatchGet(ctx, linkKeys)
	if err != nil {
		return nil, err
	}
	for _, k := range linkKeys {
		var l answerLink
		if e, ok := links[k]; ok && json.Unmarshal(e.Value, &l) == nil && !slices.Contains(order, l.QuestionID) {
			order = append(order, l.QuestionID)
		}
	}
	recKeys := make([]string, len(order))
	for i, id := range order {
		recKeys[i] = questionKey(id)
	}
	recs, err := p.host.KV().BatchGet(ctx, recKeys)
	if err != nil {
		return nil, err
	}
	var withAnswer, without []similarView
	for i, id := range order {
		var rec record
		if e, ok := recs[recKeys[i]]; !ok || json.Unmarshal(e.Value, &rec) != nil {
			continue
		}
		it, ok := known[id]
		if !ok { // found by an answer: the question is read as the user too
			if it, err = items.Get(ctx, id); errors.Is(err, sdk.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
		}
		v := similarView{questionView: p.questionView(it, rec)}
		if rec.AcceptedAnswerID != "" {
			withAnswer = append(withAnswer, v)
		} else {
			without = append(without, v)
		}
		if len(withAnswer) >= limit {
			break
		}
	}
	found := append(withAnswer, without...)
	found = found[:min(len(found), limit)]
	for i := range found {
		if a := found[i].AcceptedAnswerID; a != nil {
			views, err := p.answerViews(ctx, user, found[i].ID, *a, []string{*a})
			if err != nil {
				return nil, err
			}
			if len(views) == 1 {
				found[i].AcceptedAnswer = &views[0]
			}
		}
	}
	if found == nil {
		found = []similarView{}
	}
	return found, nil
}

// searchWords returns the words of text worth searching for: lower-cased, two
// characters or more, each once, at most maxQueryWords, and no more than fit in a
// search of maxQueryRunes once joined by " OR ".
func searchWords(text string) []string {
	var out []string
	size := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		n := utf8.RuneCountInString(w)
		if n < 2 || slices.Contains(out, w) {
			continue
		}
		if len(out) == maxQueryWords || size+n+4 > maxQueryRunes {
			break
		}
		out, size = append(out, w), size+n+4
	}
	return out
}
