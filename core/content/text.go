package content

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/fault"
)

// Size limits of what people write. Bodies are Markdown, stored as given.
const (
	MaxTitle       = 300       // characters
	MaxPostBody    = 64 << 10  // bytes
	MaxPageBody    = 512 << 10 // bytes
	MaxCommentBody = 16 << 10  // bytes
	maxTags        = 32        // per text
	maxMentions    = 50        // per text
	maxCommentsIdx = 256 << 10 // bytes of comments kept for search per item
)

// cleanTitle trims a title and checks it. Required titles must not be empty.
func cleanTitle(s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", fault.Invalidf("title", "must be UTF-8")
	case required && s == "":
		return "", fault.Invalidf("title", "required")
	case utf8.RuneCountInString(s) > MaxTitle:
		return "", fault.Invalidf("title", "at most %d characters", MaxTitle)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", fault.Invalidf("title", "must not contain control characters")
	}
	return s, nil
}

// cleanBody checks a Markdown body: UTF-8, at most max bytes, no control characters but
// tab and line breaks. It keeps the text as given, except for trailing white space.
func cleanBody(field, s string, max int, required bool) (string, error) {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	switch {
	case !utf8.ValidString(s):
		return "", fault.Invalidf(field, "must be UTF-8")
	case required && strings.TrimSpace(s) == "":
		return "", fault.Invalidf(field, "required")
	case len(s) > max:
		return "", &fault.Error{Kind: fault.TooLarge, Code: "payload_too_large", Detail: field + " is larger than the limit",
			Fields: []fault.Field{{Name: field, Message: "at most " + sizeText(max)}}}
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }):
		return "", fault.Invalidf(field, "must not contain control characters")
	}
	return s, nil
}

func sizeText(n int) string {
	if n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// A #tag starts a word and is letters, digits, _ or -; a @mention is the part of a
// user's email address before the @.
var (
	tagPattern     = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_#&/])#([\p{L}\p{N}][\p{L}\p{N}_-]{0,63})`)
	mentionPattern = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_@./])@([a-z0-9][a-z0-9._+-]{0,62}[a-z0-9]|[a-z0-9])`)
)

// Tags returns the distinct #tags in text, lower-cased, in order of appearance.
func Tags(text string) []string {
	var out []string
	for _, m := range tagPattern.FindAllStringSubmatch(text, -1) {
		t := strings.ToLower(m[1])
		if !slices.Contains(out, t) && len(out) < maxTags {
			out = append(out, t)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// Handles returns the distinct @handles in text, lower-cased, in order of appearance.
func Handles(text string) []string {
	var out []string
	for _, m := range mentionPattern.FindAllStringSubmatch(strings.ToLower(text), -1) {
		h := strings.TrimRight(m[1], ".")
		if h != "" && !slices.Contains(out, h) && len(out) < maxMentions {
			out = append(out, h)
		}
	}
	return out
}
