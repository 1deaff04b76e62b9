package documents

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"plan.pdf":       `attachment; filename="plan.pdf"`,
		"plan 2027.pdf":  `attachment; filename="plan 2027.pdf"`,
		`say "hi".txt`:   `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`,
		"évènement.odt":  `attachment; filename="_v_nement.odt"; filename*=UTF-8''%C3%A9v%C3%A8nement.odt`,
		`back\slash.txt`: `attachment; filename="back_slash.txt"; filename*=UTF-8''back%5Cslash.txt`,
	} {
		if got := ContentDisposition("attachment", name); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
}

func TestSearchWords(t *testing.T) {
	for in, want := range map[string]string{
		"notulen.pdf":            "notulen.pdf notulen pdf",
		"Begroting_2027-Q3.xlsx": "Begroting_2027-Q3.xlsx Begroting 2027 Q3 xlsx",
		"plan":                   "plan",
	} {
		if got := searchWords(in); got != want {
			t.Errorf("searchWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeFilename checks what SafeFilename promises, for any input: a non-empty valid
// UTF-8 name of at most MaxFilename bytes, no path, nothing invisible or line-breaking,
// stable when applied again; and a Content-Disposition that is one plain ASCII line.
func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"plan.pdf", "../../etc/passwd", `..\..\x`, "..", "a\x00b", "\u202egnp.exe", strings.Repeat("ä", 300) + ".pdf",
		" . ", "a\r\nContent-Type: text/html", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeFilename(in)
		switch {
		case out == "" || len(out) > MaxFilename || !utf8.ValidString(out):
			t.Fatalf("SafeFilename(%q) = %q", in, out)
		case strings.ContainsAny(out, "/\\<>:\"|?*"):
			t.Fatalf("SafeFilename(%q) = %q keeps a separator or reserved character", in, out)
		case strings.ContainsFunc(out, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
			t.Fatalf("SafeFilename(%q) = %q keeps an invisible character", in, out)
		case out == "." || out == ".." || strings.HasPrefix(out, ".") || strings.HasSuffix(out, " "):
			t.Fatalf("SafeFilename(%q) = %q", in, out)
		case SafeFilename(out) != out:
			t.Fatalf("SafeFilename is not stable: %q -> %q -> %q", in, out, SafeFilename(out))
		}
		cd := ContentDisposition("attachment", out)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] > 0x7e {
				t.Fatalf("ContentDisposition(%q) = %q: byte %#x", out, cd, cd[i])
			}
		}
	})
}
