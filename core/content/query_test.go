package content

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pleinhq/plein/core/fault"
)

func TestParseQuery(t *testing.T) {
	for _, c := range []struct{ in, fts, web string }{
		{"vergunning", `("vergunning")`, `"vergunning"`},
		{"  Parkeren  Centrum ", `("parkeren" AND "centrum")`, `"parkeren" "centrum"`},
		{`"nieuw gemeentehuis" planning`, `("nieuw gemeentehuis" AND "planning")`, `"nieuw gemeentehuis" "planning"`},
		{"laptop -printer", `("laptop" NOT "printer")`, `"laptop" -"printer"`},
		{"wifi OR vpn", `("wifi") OR ("vpn")`, `"wifi" or "vpn"`},
		{"begro*", `("begro" *)`, `"begro"`},
		{"e-mail", `("e mail")`, `"e mail"`},
		{`a"b`, `("a" AND "b")`, `"a" "b"`},
		{`"unterminated phrase`, `("unterminated phrase")`, `"unterminated phrase"`},
		{"café", `("café")`, `"café"`},
		{"-x OR y", `("y")`, `"y"`},
		{`NEAR("x" "y") AND *`, `("near" AND "x" AND "y" AND "and")`, `"near" "x" "y" "and"`},
	} {
		q, err := parseQuery(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if q.fts5() != c.fts || q.raw != c.web {
			t.Errorf("%q: fts5 %s, websearch %s; want %s, %s", c.in, q.fts5(), q.raw, c.fts, c.web)
		}
	}
}

func TestParseQueryRefusesQueriesWithoutWords(t *testing.T) {
	for _, in := range []string{"", "   ", "-alleen", "***", `""`, "OR OR", strings.Repeat("a ", 17), strings.Repeat("x", 201), "\xff"} {
		if _, err := parseQuery(in); !fault.Is(err, fault.Invalid) {
			t.Errorf("%q: %v, want Invalid", in, err)
		}
	}
}

func TestHighlight(t *testing.T) {
	text, ranges := highlight("de \x01vergunning\x02 voor \x01café\x02…")
	if text != "de vergunning voor café…" || len(ranges) != 2 || ranges[0] != [2]int{3, 13} || ranges[1] != [2]int{19, 23} {
		t.Fatalf("%q %v", text, ranges)
	}
	if got := []rune(text)[ranges[1][0]:ranges[1][1]]; string(got) != "café" {
		t.Fatalf("range points at %q", string(got))
	}
}

func TestTagsAndHandles(t *testing.T) {
	body := "# Kop\nOverleg over #Begroting en #begroting-2027 met @anna.devries en @Bram.Jansen. Mail anna@x.nl, issue#4, C# & #1 &#39; @anna.devries"
	if got := strings.Join(Tags(body), ","); got != "begroting,begroting-2027,1" {
		t.Errorf("tags %q", got)
	}
	if got := strings.Join(Handles(body), ","); got != "anna.devries,bram.jansen" {
		t.Errorf("handles %q", got)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"vergunning", `"a b" -c OR d*`, `-"x"`, "\"", "OR", "a\x00b", "é*", `""-""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := parseQuery(in)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		fts := q.fts5()
		// Every quoted string is balanced and holds only words: FTS5 can never see syntax
		// from the user.
		if strings.Count(fts, `"`)%2 != 0 || !utf8.ValidString(fts) {
			t.Fatalf("%q -> %s", in, fts)
		}
		for i, part := range strings.Split(fts, `"`) {
			if i%2 == 1 && strings.ContainsFunc(part, func(r rune) bool { return r == '"' || r == '*' || r == '(' || r == ')' }) {
				t.Fatalf("%q -> %s", in, fts)
			}
		}
		text, ranges := highlight(in)
		n := utf8.RuneCountInString(text)
		for _, r := range ranges {
			if r[0] < 0 || r[1] > n || r[0] >= r[1] {
				t.Fatalf("%q: range %v of %d", in, r, n)
			}
		}
	})
}
