package scale

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"time"

	"github.com/pleinhq/plein/core/store"
)

// Likes are stored as the likes plugin (plugins/likes) stores them through the host's
// KV and counters (core/pluginhost): for each like a KV entry "l/{item}/{user}" whose
// value is {"liked_at": ...}, an index entry "u/{user}/{item}" with an empty value, and
// per item the counter "n/{item}". New rows carry the time as their version, as the
// host gives them. SQL is the truth: Redis caches counters from it on first read.
const likesPlugin = "likes"

func likeKey(item, user string) string {
	return "l/" + url.PathEscape(item) + "/" + url.PathEscape(user)
}
func userKey(user, item string) string {
	return "u/" + url.PathEscape(user) + "/" + url.PathEscape(item)
}
func countName(item string) string { return "n/" + url.PathEscape(item) }

// likeValue is the likes plugin's stored like.
type likeValue struct {
	LikedAt time.Time `json:"liked_at"`
}

var (
	kvTable       = newTable("plugin_kv", "plugin text", "key text", "version bigint", "value bytea")
	countersTable = newTable("plugin_counters", "plugin text", "key text", "value bigint", "version bigint")
)

// likesPerTx is how many likes (two KV rows each, and their items' counters) one
// transaction writes: each transaction leaves counters that match their likes.
const likesPerTx = 20000

// popularity is the exponent of the likes' Zipf-like spread over items: a few items
// get hundreds of likes, most a handful.
const popularity = 0.5

// likes writes n likes over the seeded items, each by a distinct reader of the item's
// space.
func (s *seeder) likes(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	caps := make([]int, len(s.seeded))
	for i, it := range s.seeded {
		caps[i] = len(s.spaces[it.space].readers)
	}
	counts, err := spread(s.rng, caps, n)
	if err != nil {
		return err
	}
	// Each space's readers, shuffled in place a few at a time to draw likers.
	pool := make([][]string, len(s.spaces))
	for i, sp := range s.spaces {
		pool[i] = slices.Clone(sp.readers)
	}
	now := s.Now()
	version := store.Micros(now)
	var kv, counters [][]any
	report := 10 * likesPerTx
	flush := func() error {
		if len(kv) == 0 {
			return nil
		}
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if err := insert(ctx, tx, s.DB.Dialect(), kvTable, kv); err != nil {
				return err
			}
			return insert(ctx, tx, s.DB.Dialect(), countersTable, counters)
		})
		kv, counters = kv[:0], counters[:0]
		return err
	}
	for i, it := range s.seeded {
		k := counts[i]
		if k == 0 {
			continue
		}
		readers := pool[it.space]
		for j := range k { // a partial Fisher-Yates shuffle: k distinct readers
			r := j + s.rng.IntN(len(readers)-j)
			readers[j], readers[r] = readers[r], readers[j]
		}
		age := max(store.Micros(now)-it.created, 1)
		for _, user := range readers[:k] {
			at := store.FromMicros(it.created + s.rng.Int64N(age)).Truncate(time.Millisecond)
			value, err := json.Marshal(likeValue{LikedAt: at})
			if err != nil {
				return err
			}
			kv = append(kv, []any{likesPlugin, likeKey(it.id, user), version, value},
				[]any{likesPlugin, userKey(user, it.id), version, []byte{}})
		}
		counters = append(counters, []any{likesPlugin, countName(it.id), int64(k), version})
		s.res.Likes += k
		s.res.LikedItems++
		if len(kv) >= 2*likesPerTx {
			if err := flush(); err != nil {
				return err
			}
			if s.res.Likes >= report {
				s.progress("  likes %d of %d\n", s.res.Likes, n)
				report += 10 * likesPerTx
			}
		}
	}
	return flush()
}

// spread deals total out over items with a Zipf-like popularity in random order, at
// most caps[i] to item i. It returns an error when the caps hold fewer than total.
func spread(rng interface{ Perm(int) []int }, caps []int, total int) ([]int, error) {
	room := 0
	for _, c := range caps {
		room += c
	}
	if total > room {
		return nil, fmt.Errorf("%d likes do not fit: the items' readers can give at most %d (add users or items)", total, room)
	}
	rank := rng.Perm(len(caps)) // rank[i]: item i's place in popularity
	weight := make([]float64, len(caps))
	for i := range caps {
		weight[i] = 1 / math.Pow(float64(rank[i]+1), popularity)
	}
	order := make([]int, len(caps)) // items, most popular first
	for i, r := range rank {
		order[r] = i
	}
	counts := make([]int, len(caps))
	left := total
	for left > 0 {
		var open float64
		for _, i := range order {
			if counts[i] < caps[i] {
				open += weight[i]
			}
		}
		share := float64(left)
		for _, i := range order {
			if left == 0 {
				break
			}
			if counts[i] >= caps[i] {
				continue
			}
			add := min(caps[i]-counts[i], left, max(1, int(share*weight[i]/open)))
			counts[i] += add
			left -= add
		}
	}
	return counts, nil
}
