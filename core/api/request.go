package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/fault"
)

// decodeJSON reads the request body into dst. The body must be one JSON object of at most
// the server's body limit, with no fields dst does not know: a client's typo is an
// error, not silently ignored data.
func (s *Server) decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mt != fiber.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "send the body as application/json")
	}
	data, err := readBody(c, s.bodyLimit)
	if err != nil {
		return err
	}
	return decodeStrict(data, dst)
}

// readBody returns the request body, refusing (with a TooLarge fault) bodies over limit
// whether or not they declared a length. Fiber hands large bodies over as a stream.
func readBody(c *fiber.Ctx, limit int64) ([]byte, error) {
	if n := c.Request().Header.ContentLength(); n > 0 && int64(n) > limit {
		return nil, tooLarge(limit)
	}
	var r io.Reader = bytes.NewReader(nil)
	if st := c.Context().RequestBodyStream(); st != nil {
		r = st
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "bad_request", err, "the request body could not be read")
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(limit)
	}
	return data, nil
}

func tooLarge(limit int64) error {
	return fault.New(fault.TooLarge, "payload_too_large", fmt.Sprintf("the request body is over %d bytes", limit))
}

func decodeStrict(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fault.Invalidf("body", "a JSON object is required")
	}
	// No text Plein stores may hold NUL, and PostgreSQL cannot: refuse it here, once,
	// for every field of every body.
	if escapedNUL(data) {
		return fault.Invalidf("body", `text must not contain NUL (\u0000)`)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonFault(err)
	}
	if dec.More() {
		return fault.Invalidf("body", "one JSON object, with nothing after it")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.Invalidf("body", "one JSON object, with nothing after it")
	}
	return nil
}

// jsonFault explains a decoding error in terms of the request's fields.
func jsonFault(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fault.Invalidf("body", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return fault.Invalidf(field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Invalidf("body", "the JSON ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Invalidf(name, "unknown field")
	}
	return fault.Invalidf("body", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return "a number"
	}
}

// queryParams returns the query parameters, refusing any not in allowed and any given
// twice, so a client never believes a filter applied that the server ignored.
func queryParams(c *fiber.Ctx, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	var err error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		key := string(k)
		switch {
		case !slices.Contains(allowed, key):
			err = fault.Invalidf(key, "unknown query parameter; this route takes %s", listOr(allowed))
		case hasKey(out, key):
			err = fault.Invalidf(key, "given more than once")
		case !plainText(string(v)):
			err = fault.Invalidf(key, "must be UTF-8 text without control characters")
		default:
			out[key] = string(v)
		}
	})
	return out, err
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// plainText reports whether s is UTF-8 without control characters: what a query
// parameter or a cursor value may hold. (PostgreSQL refuses NUL in text outright.)
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// escapedNUL reports whether JSON text holds the escape \u0000 (an escaped backslash
// followed by "u0000" is text, not NUL). A raw NUL byte is a syntax error already.
func escapedNUL(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		slashes := 0
		for k := j; k >= 0 && data[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 1 {
			return true
		}
		i = j + 1
	}
}

func listOr(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Page size bounds of every list.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// page is a list request's position.
type page struct {
	limit  int
	cursor []string // the decoded cursor, nil on the first page
}

// pageOf reads ?limit= and ?cursor= from q; cursorLen is how many values a cursor of
// this list holds.
func pageOf(q map[string]string, cursorLen int) (page, error) {
	p := page{limit: defaultLimit}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, fault.Invalidf("limit", "a number from 1 to %d", maxLimit)
		}
		p.limit = n
	}
	if v, ok := q["cursor"]; ok && v != "" {
		c, err := decodeCursor(v, cursorLen)
		if err != nil {
			return p, err
		}
		p.cursor = c
	}
	return p, nil
}

// encodeCursor makes an opaque cursor from the sort key of a page's last item.
func encodeCursor(key ...string) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, n int) ([]string, error) {
	bad := fault.Invalidf("cursor", "not a cursor this list gave out")
	if len(s) > 2048 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var key []string
	if err := json.Unmarshal(b, &key); err != nil || len(key) != n || slices.ContainsFunc(key, func(k string) bool { return !plainText(k) }) {
		return nil, bad
	}
	return key, nil
}

// listResponse is the shape of every list: {"items": [...], "next_cursor": "..." | null}.
type listResponse[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](items []T, more bool, last func(T) []string) listResponse[T] {
	if items == nil {
		items = []T{}
	}
	r := listResponse[T]{Items: items}
	if more && len(items) > 0 {
		c := encodeCursor(last(items[len(items)-1])...)
		r.NextCursor = &c
	}
	return r
}
