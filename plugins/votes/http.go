package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/pleinhq/plein/sdk"
)

// Limits of what people send.
const (
	maxRequest   = 64 << 10 // a JSON body
	defaultLimit = 20
	maxLimit     = 100
	maxCursor    = 256
	maxSpaceID   = 100
)

// errRetry is a change that lost its race too often; the client may try again.
var errRetry = errors.New("too many concurrent changes")

// attempts bounds how often a change is retried after losing a race.
const attempts = 8

// request returns the acting user and the query, after refusing a request without a
// user (401) or with a query parameter not in allowed, repeated or not UTF-8 (400).
func request(w http.ResponseWriter, r *http.Request, allowed ...string) (string, map[string]string, bool) {
	user := sdk.CallFrom(r.Context()).UserID
	if user == "" {
		_ = sdk.WriteProblem(w, http.StatusUnauthorized, "unauthenticated", "")
		return "", nil, false
	}
	query := map[string]string{}
	for name, values := range r.URL.Query() {
		if !slices.Contains(allowed, name) || len(values) > 1 || !utf8.ValidString(values[0]) {
			invalid(w, "unknown, repeated or malformed query parameter "+strconv.Quote(name))
			return "", nil, false
		}
		query[name] = values[0]
	}
	return user, query, true
}

// decode reads a JSON object body into v, refusing unknown fields, trailing data and
// bodies over maxRequest; it answers 400 (or 413) itself and returns false then.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		invalid(w, "the body could not be read")
		return false
	}
	if len(data) > maxRequest {
		_ = sdk.WriteProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is over %d bytes", maxRequest))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		invalid(w, "the body is not the JSON object this route takes: "+err.Error())
		return false
	}
	if dec.More() {
		invalid(w, "the body holds more than one JSON value")
		return false
	}
	return true
}

// limitOf reads ?limit=: from 1 to maxLimit, defaultLimit when absent.
func limitOf(w http.ResponseWriter, query map[string]string) (int, bool) {
	v, ok := query["limit"]
	if !ok {
		return defaultLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		invalid(w, "limit must be an integer from 1 to "+strconv.Itoa(maxLimit))
		return 0, false
	}
	return n, true
}

func invalid(w http.ResponseWriter, detail string) {
	_ = sdk.WriteProblem(w, http.StatusBadRequest, "validation_failed", detail)
}

func conflict(w http.ResponseWriter, code, detail string) {
	_ = sdk.WriteProblem(w, http.StatusConflict, code, detail)
}

// failed answers for a failed host call: the sdk sentinels keep their meaning, a lost
// race is a 409 to retry, anything else is a 500 whose detail stays in the log.
func (p *Plugin) failed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		_ = sdk.WriteProblem(w, http.StatusNotFound, "not_found", "no such item")
	case errors.Is(err, sdk.ErrForbidden):
		_ = sdk.WriteProblem(w, http.StatusForbidden, "forbidden", "")
	case errors.Is(err, sdk.ErrInvalid):
		invalid(w, "")
	case errors.Is(err, errRetry):
		conflict(w, "conflict", "others changed this at the same time; try again")
	default:
		p.log.Error("request failed", "err", err, "request_id", sdk.CallFrom(r.Context()).RequestID)
		_ = sdk.WriteProblem(w, http.StatusInternalServerError, "internal", "")
	}
}
