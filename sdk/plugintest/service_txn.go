package plugintest

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

var _ pluginrpc.TxnService = (*service)(nil)

// KVTxn applies t as the host does: with the host locked, conditions first, then
// every change or none.
func (s *service) KVTxn(_ context.Context, call string, t sdk.Txn) (res sdk.TxnResult, err error) {
	err = s.do(call, func(actor) error {
		for i, c := range t.If {
			if !s.holds(c) {
				res.Counters = s.counterValues(t.Add)
				return &sdk.TxnConflict{Index: i, Key: c.Key}
			}
		}
		for _, d := range t.Add {
			v := s.h.counters[d.Name]
			if (d.Delta > 0 && v > math.MaxInt64-d.Delta) || (d.Delta < 0 && v < math.MinInt64-d.Delta) {
				return fmt.Errorf("counter %q: %w: adding %d overflows", d.Name, sdk.ErrInvalid, d.Delta)
			}
		}
		for _, k := range t.Delete {
			delete(s.h.kv, k)
		}
		res.Versions = make([]int64, len(t.Put))
		for i, p := range t.Put {
			s.h.seq++
			e := kvEntry{value: slices.Clone(p.Value), version: s.h.seq}
			if p.TTL > 0 {
				e.expires = s.h.now().Add(p.TTL)
			}
			s.h.kv[p.Key] = e
			res.Versions[i] = e.version
		}
		for _, d := range t.Add {
			if d.Delta != 0 {
				s.h.counters[d.Name] += d.Delta
			}
		}
		for _, n := range t.DeleteCounters {
			delete(s.h.counters, n)
		}
		res.Counters = s.counterValues(t.Add)
		return nil
	})
	return res, err
}

// holds reports whether a condition holds; the caller holds mu.
func (s *service) holds(c sdk.Cond) bool {
	e, ok := s.entry(c.Key)
	switch c.State {
	case sdk.KeyAbsent:
		return !ok
	case sdk.KeyPresent:
		return ok
	default:
		return ok && e.Version == c.Version
	}
}

// counterValues returns the values of the counters in deltas; the caller holds mu.
func (s *service) counterValues(deltas []sdk.Delta) map[string]int64 {
	out := make(map[string]int64, len(deltas))
	for _, d := range deltas {
		out[d.Name] = s.h.counters[d.Name]
	}
	return out
}
