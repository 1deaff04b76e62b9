package documents

import (
	"strings"
	"unicode"

	"github.com/pleinhq/plein/sdk/download"
)

// MaxFilename is the most bytes a stored file name keeps (most file systems' limit).
const MaxFilename = download.MaxFilename

// SafeFilename turns what a client called a file into a name safe to store, show and send
// back in a header (see download.SafeName, which plugins share); a name with nothing
// usable left becomes "document". It never returns "".
func SafeFilename(name string) string { return download.SafeName(name, "document") }

// ContentDisposition builds a Content-Disposition header value for a stored name: see
// download.ContentDisposition.
func ContentDisposition(disposition, name string) string {
	return download.ContentDisposition(disposition, name)
}

// searchWords is a file name as the words search should know it by: the name itself
// and, when the name joins words with dots, dashes or underscores, those words apart,
// since PostgreSQL's parser reads "budget_2026-q3.pdf" as one file-name token.
func searchWords(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	split := strings.Join(words, " ")
	if split == name {
		return name
	}
	return name + " " + split
}
