package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// problem is an error answered as a problem document with its status and code.
type problem struct {
	status int
	code   string
	detail string
}

func (p *problem) Error() string { return fmt.Sprintf("%d %s: %s", p.status, p.code, p.detail) }

func invalid(format string, args ...any) error {
	return &problem{http.StatusBadRequest, "validation_failed", fmt.Sprintf(format, args...)}
}

func notFound(what string) error {
	return &problem{http.StatusNotFound, "not_found", "no such " + what}
}

func forbidden(detail string) error {
	return &problem{http.StatusForbidden, "forbidden", detail}
}

func conflict(code, detail string) error {
	return &problem{http.StatusConflict, code, detail}
}

// errArchived refuses changes to an archived project.
var errArchived = conflict("project_archived", "the project is archived: reopen it first")

// handler is a route's handler: it writes the answer, or returns the error to answer.
type handler func(w http.ResponseWriter, r *http.Request) error

// serve runs h and answers its error: problems as they are, the sdk sentinels with
// their meaning, anything else as a 500 whose detail stays in the log.
func (p *Plugin) serve(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sdk.CallFrom(r.Context()).UserID == "" {
			_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
			return
		}
		err := h(w, r)
		var pr *problem
		switch {
		case err == nil:
		case errors.As(err, &pr):
			_ = sdk.WriteProblem(w, pr.status, pr.code, pr.detail)
		case errors.Is(err, sdk.ErrNotFound):
			_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "")
		case errors.Is(err, sdk.ErrForbidden):
			_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "")
		case errors.Is(err, sdk.ErrInvalid):
			_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", "")
		default:
			p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
			_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
		}
	}
}

// query returns the request's query after refusing parameters not in allowed and
// parameters given twice.
func query(r *http.Request, allowed ...string) (map[string]string, error) {
	q := map[string]string{}
	for name, values := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			return nil, invalid("unknown query parameter %q", name)
		}
		if len(values) != 1 {
			return nil, invalid("query parameter %q given %d times", name, len(values))
		}
		if !utf8.ValidString(values[0]) {
			return nil, invalid("query parameter %q is not UTF-8", name)
		}
		q[name] = values[0]
	}
	return q, nil
}

// Pages of lists.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxCursor    = 512
)

// page reads ?limit= (1 to 100, default 20) and ?cursor= (opaque, from a previous
// page's next_cursor) decoded.
func page(q map[string]string) (int, string, error) {
	limit := defaultLimit
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, "", invalid("limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	c, ok := q["cursor"]
	if !ok {
		return limit, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > maxCursor || len(raw) == 0 || !utf8.Valid(raw) {
		return 0, "", invalid("cursor is not one this list gave")
	}
	return limit, string(raw), nil
}

// list is a page of a list as answered.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList returns a page of items, whose next page starts after the position next
// ("" on the last page).
func newList[T any](items []T, next string) list[T] {
	l := list[T]{Items: items}
	if l.Items == nil {
		l.Items = []T{}
	}
	if next != "" {
		c := base64.RawURLEncoding.EncodeToString([]byte(next))
		l.NextCursor = &c
	}
	return l
}

// maxBody caps request bodies: names, descriptions and a members list fit easily.
const maxBody = 256 << 10

// decodeObject reads a JSON object from the body into a map of its members, refusing
// members not in allowed, a body over maxBody and trailing data.
func decodeObject(r *http.Request, allowed ...string) (map[string]json.RawMessage, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, invalid("the body could not be read")
	}
	if len(data) > maxBody {
		return nil, &problem{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is over %d bytes", maxBody)}
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, invalid("the body must be a JSON object")
	}
	if dec.More() {
		return nil, invalid("the body must hold one JSON object")
	}
	for name := range obj {
		if !slices.Contains(allowed, name) {
			return nil, invalid("unknown field %q", name)
		}
	}
	return obj, nil
}

// field decodes obj[name] into v if present, reporting whether it was; JSON null
// leaves v as it is.
func field(obj map[string]json.RawMessage, name string, v any) (bool, error) {
	raw, ok := obj[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, invalid("field %q has the wrong type", name)
	}
	return true, nil
}

// isNull reports whether obj holds name as JSON null.
func isNull(obj map[string]json.RawMessage, name string) bool {
	raw, ok := obj[name]
	return ok && string(bytes.TrimSpace(raw)) == "null"
}

// cleanText trims s and checks it: UTF-8, from min to max characters, no control
// characters but newlines and tabs where multiline allows them.
func cleanText(name, s string, min, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid("%s is not UTF-8", name)
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		if min > 0 && n == 0 {
			return "", invalid("%s is required", name)
		}
		return "", invalid("%s must be at most %d characters", name, max)
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r')) {
			return "", invalid("%s holds control characters", name)
		}
	}
	return s, nil
}

// validID reports whether s can be an id of Plein's (users, spaces, items) or of
// this plugin's tasks: 1 to 64 letters, digits, dashes and underscores.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pathID returns the path value name after checking it is an id; a malformed one is
// reported as the missing what (so no id reveals more than another).
func pathID(r *http.Request, name, what string) (string, error) {
	id := r.PathValue(name)
	if !validID(id) {
		return "", notFound(what)
	}
	return id, nil
}
