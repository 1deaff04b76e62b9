package content

import (
	"context"
	"time"
)

// What the external tests (package content_test, which may import core/demo, which
// imports content) need to see of the inside.

// SetClock replaces the service's clock.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// GetAny reads an item whatever the scope.
func (s *Service) GetAny(ctx context.Context, id string) (Item, error) { return s.get(ctx, s.db, id) }

// Words splits text into words as the search query parser does.
var Words = words

// Internal limits and markers.
const (
	MaxQueryTerms = maxQueryTerms
	MaxQueryRunes = maxQueryRunes
	MaxPageDepth  = maxPageDepth
	MarkStart     = markStart
	MarkEnd       = markEnd
)
