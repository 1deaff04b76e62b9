package content

import (
	"sync"
	"time"

	"github.com/pleinhq/plein/core/lru"
)

// headCache keeps items' heads for Head, the check in front of every plugin route
// on an item (a like, a vote): one SQL statement fewer per request, the difference
// between 2,900 and 3,400 likes a second on PostgreSQL.
//
// What it holds is the item's own row (kind, owner, space, author, restricted), never
// a decision: the reader's spaces and roles are checked at every call, and a
// restricted item's grantees are read at every call. This service forgets an item
// once a change it makes has committed (Update, Delete, SetAccess; SetTrashedTx and
// documents' trash call ForgetHead), and a read that raced with a change does not
// store what it read. Changes made elsewhere — another replica, a cascade — are seen
// within headTTL at most; a space that goes, or a reader who loses it, is seen at once
// because the spaces are checked per call.
type headCache struct {
	mu    sync.Mutex
	gen   uint64 // grows with every forget: a read that saw another value stores nothing
	cache *lru.Cache[cachedHead]
}

type cachedHead struct {
	h          Head
	restricted bool
}

// headTTL bounds how long a change made by another replica goes unseen by Head.
const headTTL = 2 * time.Second

func newHeadCache() *headCache { return &headCache{cache: lru.New[cachedHead](20_000)} }

func (c *headCache) get(id string) (cachedHead, bool) { return c.cache.Get(id) }

// generation is read before a query whose answer put may store.
func (c *headCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores what a read found, unless something was forgotten since gen.
func (c *headCache) put(id string, v cachedHead, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.cache.Put(id, v, headTTL)
	}
}

func (c *headCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.cache.Remove(id)
}

// ForgetHead drops what Head knows of an item, for writers that change it inside
// their own transaction (call it after the commit).
func (s *Service) ForgetHead(id string) { s.heads.forget(id) }
