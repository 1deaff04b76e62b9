package pluginhost

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/lru"
)

// fieldCache keeps the plugin counters and KV entries that declared decoration
// fields read, so a feed read again costs no SQL or Redis round trip for them. Only
// decorations read through it: the host API's own reads (KVGet, CounterBatchGet,
// transactions) always go to the store.
//
// The host is the only writer of plugin data, and every write forgets what it
// changed once it has committed (and, for counters, once Redis holds it); other
// replicas hear of it through the changes bus and forget it too, so a value is
// stale on another replica only for as long as the notice travels. A read that
// raced with a forget stores nothing: each stripe of keys has a generation that
// every forget raises, read before the query and compared when its answer is put.
// fieldTTL bounds what a lost notice can cost; a bus reconnect clears everything.
//
// Keys are spread over stripes, each with its own LRU: a feed page looks up some
// sixty keys, and one lock for all of them was an eighth of the core's CPU under
// load.
type fieldCache struct {
	seed    maphash.Seed
	stripes [fieldStripes]fieldStripe
}

type fieldStripe struct {
	mu      sync.Mutex // orders puts against forgets
	gen     uint64
	entries *lru.Cache[fieldValue]
}

// fieldValue is a counter's value, or a KV entry: present or not, and when it
// expires (Unix microseconds, 0 never).
type fieldValue struct {
	n       int64
	value   []byte
	present bool
	expires int64
}

// The kinds of cached value: a counter and a KV entry may share a name.
const (
	fieldCounter byte = 'c'
	fieldKV      byte = 'k'
)

const (
	fieldStripes = 64
	// fieldCacheSize bounds the entries: feeds' working set (the newest items'
	// counters, and each active reader's own keys on them) in about 5 MiB of heap
	// (measured: 42 MiB for 200,000, which the garbage collector then scans).
	fieldCacheSize = 20_000
	// fieldTTL bounds how long a value can outlive a change notice that was lost.
	fieldTTL = 30 * time.Second
)

func newFieldCache(size int) *fieldCache {
	c := &fieldCache{seed: maphash.MakeSeed()}
	for i := range c.stripes {
		c.stripes[i].entries = lru.New[fieldValue](max(size/fieldStripes, 1))
	}
	return c
}

// fieldKey is the cache key of a plugin's counter or KV entry.
func fieldKey(kind byte, plugin, name string) string {
	b := make([]byte, 0, 2+len(plugin)+len(name))
	b = append(b, kind)
	b = append(b, plugin...)
	b = append(b, 0)
	b = append(b, name...)
	return string(b)
}

func (c *fieldCache) stripe(plugin, name string) *fieldStripe {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(plugin)
	h.WriteByte(0)
	h.WriteString(name)
	return &c.stripes[h.Sum64()%fieldStripes]
}

func (c *fieldCache) get(kind byte, plugin, name string) (fieldValue, bool) {
	return c.stripe(plugin, name).entries.Get(fieldKey(kind, plugin, name))
}

// len counts the entries, expired ones included until touched.
func (c *fieldCache) len() int {
	n := 0
	for i := range c.stripes {
		n += c.stripes[i].entries.Len()
	}
	return n
}

// generation is read before the query whose answer put may store.
func (c *fieldCache) generation(plugin, name string) uint64 {
	s := c.stripe(plugin, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// put stores what a read found, unless a key of its stripe was forgotten since gen.
func (c *fieldCache) put(kind byte, plugin, name string, v fieldValue, gen uint64) {
	s := c.stripe(plugin, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.entries.Put(fieldKey(kind, plugin, name), v, fieldTTL)
	}
}

// forget drops a plugin's counters and KV entries of the given names.
func (c *fieldCache) forget(plugin string, names []string) {
	for _, name := range names {
		s := c.stripe(plugin, name)
		s.mu.Lock()
		s.gen++
		s.entries.Remove(fieldKey(fieldCounter, plugin, name))
		s.entries.Remove(fieldKey(fieldKV, plugin, name))
		s.mu.Unlock()
	}
}

// clear drops everything, when notices may have been lost.
func (c *fieldCache) clear() {
	for i := range c.stripes {
		c.stripes[i].mu.Lock()
	}
	for i := range c.stripes {
		c.stripes[i].gen++
		c.stripes[i].entries.Clear()
	}
	for i := range c.stripes {
		c.stripes[i].mu.Unlock()
	}
}
