package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// service implements pluginrpc.HostService over a Host; blobs and items are in
// their own files.
type service struct {
	h *Host
}

// do runs f with the host locked, acting as call's actor; an unknown or expired
// handle returns sdk.ErrForbidden without running f.
func (s *service) do(call string, f func(a actor) error) error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	a, err := s.h.actorOf(call)
	if err != nil {
		return err
	}
	return f(a)
}

// entry returns the live entry under key; the caller holds mu.
func (s *service) entry(key string) (sdk.Entry, bool) {
	e, ok := s.h.kv[key]
	if !ok || !s.h.live(e) {
		return sdk.Entry{}, false
	}
	return sdk.Entry{Key: key, Value: slices.Clone(e.value), Version: e.version, ExpiresAt: e.expires}, true
}

func (s *service) KVGet(_ context.Context, call, key string) (e sdk.Entry, err error) {
	err = s.do(call, func(actor) error {
		var ok bool
		if e, ok = s.entry(key); !ok {
			return fmt.Errorf("key %q: %w", key, sdk.ErrNotFound)
		}
		return nil
	})
	return e, err
}

func (s *service) KVBatchGet(_ context.Context, call string, keys []string) (out []sdk.Entry, err error) {
	err = s.do(call, func(actor) error {
		for _, k := range keys {
			if e, ok := s.entry(k); ok {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

func (s *service) KVPut(_ context.Context, call string, w pluginrpc.KVWrite) (version int64, err error) {
	err = s.do(call, func(actor) error {
		if w.IfVersion != nil {
			cur, ok := s.entry(w.Key)
			if (*w.IfVersion == 0 && ok) || (*w.IfVersion != 0 && (!ok || cur.Version != *w.IfVersion)) {
				return fmt.Errorf("key %q at version %d: %w", w.Key, *w.IfVersion, sdk.ErrConflict)
			}
		}
		s.h.seq++
		e := kvEntry{value: slices.Clone(w.Value), version: s.h.seq}
		if w.TTL > 0 {
			e.expires = s.h.now().Add(w.TTL)
		}
		s.h.kv[w.Key] = e
		version = e.version
		return nil
	})
	return version, err
}

func (s *service) KVDelete(_ context.Context, call, key string, ifVersion *int64) error {
	return s.do(call, func(actor) error {
		if ifVersion != nil {
			if cur, ok := s.entry(key); !ok || cur.Version != *ifVersion {
				return fmt.Errorf("key %q at version %d: %w", key, *ifVersion, sdk.ErrConflict)
			}
		}
		delete(s.h.kv, key)
		return nil
	})
}

func (s *service) KVList(_ context.Context, call, prefix, after string, limit int) (out []sdk.Entry, next string, err error) {
	err = s.do(call, func(actor) error {
		var keys []string
		for k, e := range s.h.kv {
			if strings.HasPrefix(k, prefix) && k > after && s.h.live(e) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if len(keys) > limit {
			keys = keys[:limit]
			next = keys[limit-1]
		}
		out = make([]sdk.Entry, len(keys))
		for i, k := range keys {
			out[i], _ = s.entry(k)
		}
		return nil
	})
	return out, next, err
}

func (s *service) CounterAdd(_ context.Context, call, name string, delta int64) (value int64, err error) {
	err = s.do(call, func(actor) error {
		s.h.counters[name] += delta
		value = s.h.counters[name]
		return nil
	})
	return value, err
}

func (s *service) CounterBatchGet(_ context.Context, call string, names []string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	err := s.do(call, func(actor) error {
		for _, n := range names {
			if v, ok := s.h.counters[n]; ok {
				out[n] = v
			}
		}
		return nil
	})
	return out, err
}

func (s *service) Authorize(_ context.Context, call, action, itemID string) (allowed bool, err error) {
	err = s.do(call, func(a actor) error {
		it, ok := s.h.items[itemID]
		allowed = ok && s.h.may(a, action, it)
		return nil
	})
	return allowed, err
}

func (s *service) Publish(_ context.Context, call, eventType, itemID string, payload json.RawMessage) error {
	return s.do(call, func(a actor) error {
		s.h.publish(a, eventType, itemID, payload)
		return nil
	})
}

// publish records an event; the caller holds mu.
func (h *Host) publish(a actor, eventType, itemID string, payload []byte) {
	e := sdk.Event{ID: h.next("evt"), Type: eventType, ItemID: itemID, Actor: a.name(h.plugin), Payload: slices.Clone(payload), Time: h.now()}
	if it, ok := h.items[itemID]; ok {
		e.SpaceID = it.SpaceID
	}
	h.published = append(h.published, e)
}
