package pluginhost

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCounters keeps plugin counters in Redis in front of SQL, which stays the
// truth. Every value is stored with the version of the SQL row it came from, and a
// script replaces it only with a newer version: a write stores what it committed, a
// read that missed stores what it read, and whichever order they arrive in, the
// newest wins, so Redis never holds a count older than one it already held. A key
// Redis lost (a flush, a restart, an eviction) is a miss, read again from SQL.
//
// A write whose Redis update fails deletes the key instead; if Redis cannot be
// reached for that either, the entry may be stale until it expires (CounterTTL).
// Reads fall back to SQL while Redis fails. It is safe for concurrent use; a nil
// *RedisCounters is off (every counter comes from SQL).
type RedisCounters struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger
	warned atomic.Int64 // when a failure was last logged, in Unix nanoseconds

	mu   sync.Mutex
	busy bool       // a store is writing to Redis
	next storeBatch // what arrived meanwhile, for the next write
}

// storeBatch is counters that callers of store hand Redis in one pipeline. While
// one write is on its way, the values of every store that arrives gather in the
// next batch, and the first of those callers writes them all when the write before
// returns: under load one round trip serves many transactions (group commit), and
// no caller returns before its values are in Redis.
type storeBatch struct {
	vals    []counterValue
	waiters []chan *storeBatch // the other callers: nil when written, or a batch to write
}

// CounterTTL bounds how long a counter stays in Redis without being written.
const CounterTTL = 10 * time.Minute

// NewRedisCounters returns counters cached on c under keys prefix + plugin + ":" +
// counter name; log (nil discards) hears about Redis failures.
func NewRedisCounters(c redis.UniversalClient, prefix string, log *slog.Logger) *RedisCounters {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisCounters{c: c, prefix: prefix, ttl: CounterTTL, log: log}
}

// counterRef names one plugin's counter.
type counterRef struct{ plugin, name string }

// counterValue is a counter as SQL holds it. A missing counter is 0 at version 0.
type counterValue struct {
	counterRef
	value, version int64
}

func (r *RedisCounters) key(c counterRef) string { return r.prefix + c.plugin + ":" + c.name }

// storeNewer sets KEYS[1] to "version:value" (ARGV[1], ARGV[2]) with a TTL of ARGV[3]
// ms, unless it holds the same or a newer version. Versions are decimal strings
// without leading zeros, compared by length first so Lua's floats never round them.
var storeNewer = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = string.sub(cur, 1, (string.find(cur, ':', 1, true) or 1) - 1)
  if #v > #ARGV[1] or (#v == #ARGV[1] and v >= ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
`)

// get reads counters from Redis in one pipeline and returns the values it holds,
// by position in refs, and the positions it does not hold. An error means Redis did
// not answer: read everything from SQL.
func (r *RedisCounters) get(ctx context.Context, refs []counterRef) (map[int]int64, []int, error) {
	cmds := make([]*redis.StringCmd, len(refs))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range refs {
			cmds[i] = p.Get(ctx, r.key(c))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, err
	}
	found := make(map[int]int64, len(refs))
	var missing []int
	for i, cmd := range cmds {
		v, ok := parseCounter(cmd.Val())
		if cmd.Err() != nil || !ok {
			missing = append(missing, i)
			continue
		}
		found[i] = v
	}
	return found, missing, nil
}

// parseCounter reads "version:value".
func parseCounter(s string) (int64, bool) {
	_, value, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(value, 10, 64)
	return v, err == nil
}

// store hands Redis counters as SQL has them, each kept only if newer than what
// Redis holds, and returns when they are written (see storeBatch). If that fails it
// deletes them, so that no stale value outlives the failure longer than Redis does.
func (r *RedisCounters) store(ctx context.Context, vals []counterValue) {
	if len(vals) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx) // a cancelled request must not leave Redis behind SQL
	r.mu.Lock()
	if !r.busy {
		r.busy = true
		r.mu.Unlock()
		r.storeBatch(ctx, &storeBatch{vals: vals})
		return
	}
	w := make(chan *storeBatch, 1)
	r.next.vals = append(r.next.vals, vals...)
	r.next.waiters = append(r.next.waiters, w)
	r.mu.Unlock()
	if b := <-w; b != nil {
		r.storeBatch(ctx, b)
	}
}

// storeBatch writes b, releases its waiters, and hands the batch that gathered
// meanwhile to its first caller, or ends the busy spell.
func (r *RedisCounters) storeBatch(ctx context.Context, b *storeBatch) {
	r.write(ctx, b.vals)
	for _, w := range b.waiters {
		w <- nil
	}
	r.mu.Lock()
	next := r.next
	r.next = storeBatch{}
	if len(next.waiters) == 0 {
		r.busy = false
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	lead := next.waiters[0]
	next.waiters = next.waiters[1:]
	lead <- &next
}

// write stores vals in one pipeline, by the script's digest (the script itself once
// Redis has forgotten it).
func (r *RedisCounters) write(ctx context.Context, vals []counterValue) {
	ttl := strconv.FormatInt(r.ttl.Milliseconds(), 10)
	pipe := func(eval func(p redis.Pipeliner, keys []string, args ...any) *redis.Cmd) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, v := range vals {
				eval(p, []string{r.key(v.counterRef)}, strconv.FormatInt(v.version, 10), strconv.FormatInt(v.value, 10), ttl)
			}
			return nil
		})
		return err
	}
	err := pipe(func(p redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
		return storeNewer.EvalSha(ctx, p, keys, args...)
	})
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = pipe(func(p redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
			return storeNewer.Eval(ctx, p, keys, args...)
		})
	}
	if err == nil {
		return
	}
	keys := make([]string, len(vals))
	for i, v := range vals {
		keys[i] = r.key(v.counterRef)
	}
	derr := r.c.Del(ctx, keys...).Err()
	// Once per interval: while Redis is down every write fails.
	if last := r.warned.Load(); time.Since(time.Unix(0, last)) < warnEvery || !r.warned.CompareAndSwap(last, time.Now().UnixNano()) {
		return
	}
	if derr != nil {
		r.log.Warn("plugin counters in Redis may be stale until they expire", "err", err, "del_err", derr, "ttl", r.ttl.String())
		return
	}
	r.log.Warn("plugin counters dropped from Redis after a failed update", "err", err)
}

// warnEvery spaces out the warnings about Redis failures.
const warnEvery = 10 * time.Second
