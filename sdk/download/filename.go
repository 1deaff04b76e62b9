package download

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilename is the most bytes a name from SafeFilename has (most file systems'
// limit).
const MaxFilename = 255

// defaultFilename names a file whose name had nothing usable left.
const defaultFilename = "file"

// SafeFilename turns what a client called a file into a name safe to store, show and
// send back in a header: the last path segment only, no control, format or
// line-breaking characters, none of the characters Windows forbids, no leading or
// trailing dots or spaces, and at most MaxFilename bytes with the extension kept. It
// never returns "": a name with nothing usable left becomes "file".
func SafeFilename(name string) string { return SafeName(name, defaultFilename) }

// SafeName is SafeFilename with the name to use when nothing usable is left.
func SafeName(name, fallback string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
			r == utf8.RuneError:
			continue // C0, C1, DEL, bidi overrides, zero-width characters
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		case unicode.IsSpace(r):
			if space {
				continue
			}
			space = true
			b.WriteRune(' ')
			continue
		}
		space = false
		b.WriteRune(r)
	}
	name = strings.Trim(b.String(), " .")
	if len(name) > MaxFilename {
		name = truncate(name)
	}
	if name == "" {
		return fallback
	}
	return name
}

// truncate cuts a long name to MaxFilename bytes on a character boundary, keeping a
// short extension.
func truncate(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		name, ext = name[:i], name[i:]
	}
	keep := MaxFilename - len(ext)
	for keep > 0 && !utf8.RuneStart(name[keep]) {
		keep--
	}
	return strings.TrimRight(name[:keep], " .") + ext
}

// ContentDisposition is the header value that offers a file under name (RFC 6266):
// disposition is "inline" or "attachment". The name is quoted as plain ASCII, and when
// it is not plain ASCII also given whole in RFC 8187 form (filename*), which browsers
// prefer.
func ContentDisposition(disposition, name string) string {
	fallback := asciiFallback(name)
	v := disposition + `; filename="` + fallback + `"`
	if fallback != name {
		v += "; filename*=UTF-8''" + pctEncode(name)
	}
	return v
}

// pctEncode writes name as RFC 8187 attr-chars, percent-encoding every other byte.
func pctEncode(name string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// asciiFallback replaces what is not printable ASCII, and the quote and backslash
// that would need escaping, with "_".
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}
