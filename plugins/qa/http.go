package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// Limits of what people send.
const (
	maxTitle     = 300      // characters, as the core's
	maxBody      = 64 << 10 // bytes, as the core's posts
	maxNote      = 16 << 10 // bytes, as the core's comments
	maxTags      = 10
	maxTagLen    = 64
	maxIDLen     = 100
	maxRequest   = 1 << 20 // a JSON body, escapes included
	defaultLimit = 20
	maxLimit     = 100
	maxCursorLen = 256
)

// actingUser returns the acting user's id and the request's query, after refusing a
// request without a user (401) or with a query parameter not in allowed or given
// twice (400).
func actingUser(w http.ResponseWriter, r *http.Request, allowed ...string) (string, map[string]string, bool) {
	user := sdk.CallFrom(r.Context()).UserID
	if user == "" {
		_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
		return "", nil, false
	}
	query := map[string]string{}
	for name, values := range r.URL.Query() {
		switch {
		case !slices.Contains(allowed, name):
			badRequest(w, "unknown query parameter "+strconv.Quote(name))
			return "", nil, false
		case len(values) > 1:
			badRequest(w, "query parameter "+strconv.Quote(name)+" given twice")
			return "", nil, false
		case !utf8.ValidString(values[0]):
			badRequest(w, "query parameter "+strconv.Quote(name)+" is not UTF-8")
			return "", nil, false
		}
		query[name] = values[0]
	}
	return user, query, true
}

// decodeBody decodes a JSON object into v, refusing unknown fields, trailing data
// and bodies over maxRequest with a 400 (413 for the size).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("one JSON object expected")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		_ = sdk.WriteProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "the body is over 1 MiB")
		return false
	case err != nil:
		badRequest(w, "the body must be a JSON object of the documented fields: "+err.Error())
		return false
	}
	return true
}

// pageLimit reads ?limit= (1 to maxLimit, default defaultLimit).
func pageLimit(w http.ResponseWriter, query map[string]string) (int, bool) {
	v, ok := query["limit"]
	if !ok {
		return defaultLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		badRequest(w, "limit must be an integer from 1 to 100")
		return 0, false
	}
	return n, true
}

// cursorOf reads ?cursor=, which the previous page's next_cursor gave.
func cursorOf(w http.ResponseWriter, query map[string]string) (string, bool) {
	c := query["cursor"]
	if len(c) > maxCursorLen || strings.ContainsFunc(c, unicode.IsControl) {
		badRequest(w, "cursor is not one this API gave")
		return "", false
	}
	return c, true
}

// page is a list answer.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func badRequest(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", detail)
}

func notFound(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", detail)
}

func forbidden(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", detail)
}

// hostFailed answers for a failed host call: the sdk sentinels keep their meaning,
// anything else is a 500 whose detail stays in the log.
func (p *Plugin) hostFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		notFound(w, "no such question, answer or space")
	case errors.Is(err, sdk.ErrForbidden):
		forbidden(w, "")
	case errors.Is(err, sdk.ErrInvalid):
		badRequest(w, "")
	case errors.Is(err, sdk.ErrConflict):
		_ = sdk.WriteProblem(w, http.StatusConflict, "conflict", "changed by someone else at the same time; try again")
	default:
		p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
		_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}
}

// validID reports whether s can be an id: 1 to maxIDLen bytes of UTF-8 without
// control characters, spaces or slashes.
func validID(s string) bool {
	return s != "" && len(s) <= maxIDLen && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' })
}

// validRole reports whether s can be a role name, as the core's policies spell them.
func validRole(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cleanTitle trims a title and checks it: required, at most maxTitle characters, no
// control characters.
func cleanTitle(s string) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "title is required"
	case !utf8.ValidString(s):
		return "", "title must be UTF-8"
	case utf8.RuneCountInString(s) > maxTitle:
		return "", "title: at most 300 characters"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", "title must not contain control characters"
	}
	return s, ""
}

// cleanText trims the end of a Markdown text and checks it: required, at most max
// bytes, no control characters but tab and line breaks. It returns the text, or a
// problem's detail.
func cleanText(field, s string, max int) (string, string) {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	switch {
	case strings.TrimSpace(s) == "":
		return "", field + " is required"
	case !utf8.ValidString(s):
		return "", field + " must be UTF-8"
	case len(s) > max:
		return "", field + ": at most " + strconv.Itoa(max>>10) + " KiB"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }):
		return "", field + " must not contain control characters"
	}
	return s, ""
}

// cleanTags lower-cases tags, drops a leading "#" and duplicates, and checks them:
// at most maxTags, each a letter or digit and then letters, digits, _ and -.
func cleanTags(tags []string) ([]string, string) {
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(t), "#"))
		if !validTag(t) {
			return nil, "tags are a letter or digit, then letters, digits, _ and -, at most 64 characters"
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, "at most 10 tags"
	}
	return out, ""
}

func validTag(t string) bool {
	if t == "" || !utf8.ValidString(t) || utf8.RuneCountInString(t) > maxTagLen {
		return false
	}
	for i, r := range t {
		ok := unicode.IsLetter(r) || unicode.IsNumber(r) || (i > 0 && (r == '_' || r == '-'))
		if !ok {
			return false
		}
	}
	return true
}
