package main

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// maxJSONBody is the largest JSON request body.
const maxJSONBody = 64 << 10

// caller returns the acting user's call, after refusing a request without a user
// (401) or with a query parameter not in allowed (400).
func caller(w http.ResponseWriter, r *http.Request, allowed ...string) (sdk.Call, bool) {
	call := sdk.CallFrom(r.Context())
	if call.UserID == "" {
		_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
		return call, false
	}
	for name := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			invalid(w, "unknown query parameter "+strconv.Quote(name))
			return call, false
		}
	}
	return call, true
}

// invalid answers 400 validation_failed with detail.
func invalid(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", detail)
}

// notFound answers 404 for what the caller may not know exists.
func notFound(w http.ResponseWriter, what string) {
	_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such "+what)
}

// nameTaken answers 409 name_taken.
func nameTaken(w http.ResponseWriter) {
	_ = sdk.WriteProblem(w, http.StatusConflict, "name_taken", "the folder already holds something with this name")
}

// fail answers for an error: the sdk sentinels keep their meaning, anything else is
// a 500 whose detail stays in the log.
func (p *Plugin) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such folder or file")
	case errors.Is(err, errOwnerOnly):
		_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "only the owner may do this; it is shared with you to read")
	case errors.Is(err, sdk.ErrForbidden):
		_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "")
	case errors.Is(err, sdk.ErrConflict):
		_ = sdk.WriteProblem(w, http.StatusConflict, "conflict", "changed meanwhile by another request; try again")
	case errors.Is(err, sdk.ErrInvalid):
		invalid(w, "")
	default:
		p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
		_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}
}

// readJSON decodes the request's JSON object into v, answering 400 (or 413) and
// returning false if it is not one.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	switch {
	case err != nil:
		invalid(w, "the body could not be read")
		return false
	case len(data) > maxJSONBody:
		_ = sdk.WriteProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "the body is over 64 KiB")
		return false
	case !utf8.Valid(data):
		invalid(w, "the body is not UTF-8")
		return false
	}
	if err := decodeStrict(data, v); err != nil {
		invalid(w, "the body must be a JSON object with known fields: "+err.Error())
		return false
	}
	return true
}

// page is a list request's ?limit= and ?cursor=.
type page struct {
	limit  int
	cursor string // decoded; "" for the first page
}

// pageOf reads ?limit= (1 to 100, default 20) and ?cursor= (what a previous page gave
// out), answering 400 and returning false if either is bad.
func pageOf(w http.ResponseWriter, r *http.Request) (page, bool) {
	q := r.URL.Query()
	pg := page{limit: 20}
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "limit must be an integer from 1 to 100")
			return pg, false
		}
		pg.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) == 0 || len(raw) > 4*maxName || !utf8.Valid(raw) {
			invalid(w, "cursor: not a cursor this list gave out")
			return pg, false
		}
		pg.cursor = string(raw)
	}
	return pg, true
}

// list is a page of a list, as every list answers.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList returns items as a page, with a cursor for the page after last when more
// is true.
func newList[T any](items []T, more bool, last string) list[T] {
	l := list[T]{Items: items}
	if l.Items == nil {
		l.Items = []T{}
	}
	if more {
		c := base64.RawURLEncoding.EncodeToString([]byte(last))
		l.NextCursor = &c
	}
	return l
}

// validName checks a folder or file name a client chose: it returns the name to keep
// and "" with the reason if it is unusable.
func validName(name string) (string, string) {
	trimmed := strings.TrimSpace(name)
	switch {
	case !utf8.ValidString(name):
		return "", "the name is not UTF-8"
	case trimmed == "" || trimmed == "." || trimmed == "..":
		return "", "a name is required"
	case len(trimmed) > maxName:
		return "", "a name has at most 255 bytes"
	case strings.ContainsFunc(trimmed, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' || r == '\\' }):
		return "", "a name holds no slash, backslash or control character"
	}
	return trimmed, ""
}
