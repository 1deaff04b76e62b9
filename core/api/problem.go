package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/fault"
)

// Problem is an RFC 9457 problem document with Plein's stable machine code.
type Problem struct {
	Type      string        `json:"type"`
	Title     string        `json:"title"`
	Status    int           `json:"status"`
	Detail    string        `json:"detail,omitempty"`
	Code      string        `json:"code"`
	RequestID string        `json:"request_id,omitempty"`
	Errors    []fault.Field `json:"errors,omitempty"`
	Checks    any           `json:"checks,omitempty"` // readiness details on /readyz
}

const problemJSON = "application/problem+json"

// kindStatus maps each fault kind to its HTTP status and default code.
var kindStatus = map[fault.Kind]struct {
	status int
	code   string
}{
	fault.Internal:        {http.StatusInternalServerError, "internal"},
	fault.Invalid:         {http.StatusBadRequest, "validation_failed"},
	fault.Unauthenticated: {http.StatusUnauthorized, "unauthenticated"},
	fault.Forbidden:       {http.StatusForbidden, "forbidden"},
	fault.NotFound:        {http.StatusNotFound, "not_found"},
	fault.Conflict:        {http.StatusConflict, "conflict"},
	fault.TooLarge:        {http.StatusRequestEntityTooLarge, "payload_too_large"},
	fault.RateLimited:     {http.StatusTooManyRequests, "rate_limited"},
	fault.Unavailable:     {http.StatusServiceUnavailable, "unavailable"},
}

// fiberCodes names the errors Fiber itself raises (routing, parsing).
var fiberCodes = map[int]string{
	http.StatusBadRequest:                   "bad_request",
	http.StatusNotFound:                     "not_found",
	http.StatusMethodNotAllowed:             "method_not_allowed",
	http.StatusRequestEntityTooLarge:        "payload_too_large",
	http.StatusRequestTimeout:               "request_timeout",
	http.StatusUnsupportedMediaType:         "unsupported_media_type",
	http.StatusRequestedRangeNotSatisfiable: "range_not_satisfiable",
}

// problemFor turns any error into the problem the client sees. It is the only place
// that decides statuses for errors; internal details never reach the client.
func problemFor(err error) (p Problem, retryAfter int) {
	var fe *fiber.Error
	switch {
	case fault.As(err) != nil:
		e := fault.As(err)
		ks := kindStatus[e.Kind]
		p = Problem{Status: ks.status, Code: e.Code, Detail: e.Detail, Errors: e.Fields}
		if p.Code == "" {
			p.Code = ks.code
		}
		if e.Kind == fault.Internal {
			p.Detail = "" // an internal error's detail is for the logs
		}
		retryAfter = int((e.RetryAfter + 999_999_999) / 1_000_000_000)
	case errors.As(err, &fe) && fe.Code < 500:
		p = Problem{Status: fe.Code, Code: fiberCodes[fe.Code], Detail: fe.Message}
		if p.Code == "" {
			p.Code = "bad_request"
		}
	case errors.Is(err, context.DeadlineExceeded):
		p = Problem{Status: http.StatusServiceUnavailable, Code: "timeout", Detail: "the server took too long; try again"}
	default:
		p = Problem{Status: http.StatusInternalServerError, Code: "internal"}
	}
	p.Type = "urn:plein:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	return p, retryAfter
}

// writeProblem sends p as application/problem+json.
func writeProblem(c *fiber.Ctx, p Problem) error {
	p.RequestID = requestID(c)
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, problemJSON)
	return c.JSON(p, problemJSON)
}

// errorHandler is Fiber's ErrorHandler: every error a handler returns ends here.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	p, retry := problemFor(err)
	if p.Status >= 500 {
		s.log.Error("request failed", "err", err, "request_id", requestID(c), "method", c.Method(), "route", routeOf(c))
	} else {
		s.log.Debug("request refused", "err", err, "request_id", requestID(c), "status", p.Status)
	}
	if retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retry))
	}
	if err := writeProblem(c, p); err != nil {
		s.log.Error("write problem", "err", err)
		return c.SendStatus(http.StatusInternalServerError)
	}
	return nil
}
