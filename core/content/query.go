package content

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/fault"
)

// Limits of a search query.
const (
	maxQueryRunes = 200
	maxQueryTerms = 16
)

// term is one part of a search query: a word or a "quoted phrase", maybe negated
// (-word) or a prefix (word*).
type term struct {
	words  []string
	not    bool
	prefix bool
}

// searchQuery is a parsed query: groups joined by OR, each group's terms all required.
type searchQuery struct {
	groups [][]term
	raw    string // the cleaned text, for PostgreSQL's websearch_to_tsquery
}

// parseQuery reads what people type into a search box: words, "phrases", -exclusions,
// prefix* and OR. Anything else is punctuation and ignored. It returns an Invalid fault
// for a query with no word to look for.
func parseQuery(q string) (searchQuery, error) {
	if !utf8.ValidString(q) {
		return searchQuery{}, fault.Invalidf("q", "must be UTF-8")
	}
	if utf8.RuneCountInString(q) > maxQueryRunes {
		return searchQuery{}, fault.Invalidf("q", "at most %d characters", maxQueryRunes)
	}
	var sq searchQuery
	var group []term
	n := 0
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
			continue
		case r == '"' || (r == '-' && i+1 < len(rs) && rs[i+1] == '"'):
			not := r == '-'
			if not {
				i++
			}
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			if ws := words(string(rs[i+1 : end])); len(ws) > 0 {
				group = append(group, term{words: ws, not: not})
				n++
			}
			i = end + 1
			continue
		}
		end := i
		for end < len(rs) && !unicode.IsSpace(rs[end]) && rs[end] != '"' {
			end++
		}
		tok := string(rs[i:end])
		i = end
		if tok == "OR" {
			if len(group) > 0 {
				sq.groups = append(sq.groups, group)
				group = nil
			}
			continue
		}
		not := strings.HasPrefix(tok, "-")
		prefix := strings.HasSuffix(tok, "*")
		ws := words(tok)
		if len(ws) == 0 {
			continue
		}
		if len(ws) > 1 { // e.g. e-mail, a/b: the words as a phrase
			prefix = false
		}
		group = append(group, term{words: ws, not: not, prefix: prefix})
		n++
	}
	if len(group) > 0 {
		sq.groups = append(sq.groups, group)
	}
	if n > maxQueryTerms {
		return searchQuery{}, fault.Invalidf("q", "at most %d words", maxQueryTerms)
	}
	// Every group needs something to find; exclusions alone would match everything.
	var kept [][]term
	for _, g := range sq.groups {
		for _, t := range g {
			if !t.not {
				kept = append(kept, g)
				break
			}
		}
	}
	if len(kept) == 0 {
		return searchQuery{}, fault.Invalidf("q", "give at least one word to look for")
	}
	sq.groups = kept
	sq.raw = sq.websearch()
	return sq, nil
}

// words splits s into letters-and-digits words, lower-cased.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// fts5 renders the query in SQLite FTS5 syntax, every word quoted.
func (sq searchQuery) fts5() string {
	var b strings.Builder
	for gi, g := range sq.groups {
		if gi > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		first := true
		for _, t := range g {
			if t.not {
				continue
			}
			if !first {
				b.WriteString(" AND ")
			}
			first = false
			b.WriteString(t.fts5())
		}
		for _, t := range g {
			if t.not {
				b.WriteString(" NOT ")
				b.WriteString(t.fts5())
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (t term) fts5() string {
	s := `"` + strings.Join(t.words, " ") + `"` // words hold no quotes
	if t.prefix {
		s += " *"
	}
	return s
}

// websearch renders the query for PostgreSQL's websearch_to_tsquery, which has no
// prefix search: a prefix is searched as its word.
func (sq searchQuery) websearch() string {
	var b strings.Builder
	for gi, g := range sq.groups {
		if gi > 0 {
			b.WriteString(" or ")
		}
		for ti, t := range g {
			if ti > 0 {
				b.WriteByte(' ')
			}
			if t.not {
				b.WriteByte('-')
			}
			b.WriteString(`"` + strings.Join(t.words, " ") + `"`)
		}
	}
	return b.String()
}

// Snippet markers: the database wraps each match in them. Bodies cannot contain them
// (control characters are refused), so they are unambiguous.
const (
	markStart = "\x01"
	markEnd   = "\x02"
)

// highlight turns a marked snippet into plain text and the [start, end) rune ranges of
// the matches in it.
func highlight(marked string) (string, [][2]int) {
	var b strings.Builder
	ranges := [][2]int{}
	pos, start := 0, -1
	for _, r := range marked {
		switch string(r) {
		case markStart:
			start = pos
		case markEnd:
			if start >= 0 && pos > start {
				ranges = append(ranges, [2]int{start, pos})
			}
			start = -1
		default:
			b.WriteRune(r)
			pos++
		}
	}
	return b.String(), ranges
}
