package scale

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// documents stores n text documents of size bytes each through the document service,
// so their bytes land in the blob store (MinIO in production mode) as uploads do, in
// the spaces in turn, each by one of the space's members.
func (s *seeder) documents(ctx context.Context, n int, size int64) error {
	if n == 0 {
		return nil
	}
	w := newWriter(s.rng)
	for i := range n {
		sp := i % len(s.spaces)
		space := s.spaces[sp]
		author := pick(s.rng, space.writers, s.admin)
		title := strings.TrimSuffix(w.sentence(2+s.rng.IntN(4)), ".")
		staged, err := s.Docs.Stage(ctx, fmt.Sprintf("verslag-%04d.txt", i+1), bytes.NewReader(w.text(size)))
		if err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		doc, err := s.Docs.Create(ctx, author, space.id, title, w.sentence(10+s.rng.IntN(20)), staged)
		if err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		c := s.content(sp)
		c.Documents = append(c.Documents, doc.ID)
		s.res.Documents++
	}
	return nil
}

// text returns exactly size bytes of sentences, a paragraph every few lines.
func (w *writer) text(size int64) []byte {
	var b bytes.Buffer
	b.Grow(int(size) + 1024)
	for i := 0; int64(b.Len()) < size; i++ {
		b.WriteString(w.sentence(8 + w.rng.IntN(20)))
		if i%5 == 4 {
			b.WriteString("\n\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:size]
}
