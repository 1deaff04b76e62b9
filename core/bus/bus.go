// Package bus fans messages out to every replica: over Redis pub/sub, or in process.
//
// Delivery is best effort, as with Redis pub/sub: a replica that was disconnected may
// have missed messages, so after a reconnect every handler gets a Message with Resync
// set and must rebuild whatever it keeps in step (caches, state) from the SQL store.
package bus

import (
	"context"
	"errors"
)

// Message is one delivery to a handler.
type Message struct {
	Topic   string
	Payload []byte
	// Resync is set, with no payload, after the bus reconnected: messages may have been lost.
	Resync bool
}

// Handler receives messages of a topic. Handlers run one at a time on the bus's own
// goroutine, in publish order: keep them quick and hand longer work elsewhere.
type Handler func(Message)

// Bus publishes to and subscribes to topics.
type Bus interface {
	// Publish sends payload to every subscriber of topic on every replica, this one included.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe calls h for each message on topic until the returned function is called.
	Subscribe(ctx context.Context, topic string, h Handler) (unsubscribe func(), err error)
	// Close stops delivery; later calls fail with ErrClosed.
	Close() error
}

// ErrClosed is returned by a closed bus.
var ErrClosed = errors.New("bus: closed")

// handlers is the topic -> handlers table both implementations keep.
type handlers struct {
	next  int
	byTop map[string]map[int]Handler
}

func (hs *handlers) add(topic string, h Handler) (id int, first bool) {
	if hs.byTop == nil {
		hs.byTop = map[string]map[int]Handler{}
	}
	m, ok := hs.byTop[topic]
	if !ok {
		m = map[int]Handler{}
		hs.byTop[topic] = m
	}
	hs.next++
	m[hs.next] = h
	return hs.next, !ok
}

// remove drops handler id and reports whether topic has no handlers left.
func (hs *handlers) remove(topic string, id int) (last bool) {
	m := hs.byTop[topic]
	if _, ok := m[id]; !ok {
		return false
	}
	delete(m, id)
	if len(m) == 0 {
		delete(hs.byTop, topic)
		return true
	}
	return false
}

func (hs *handlers) of(topic string) []Handler {
	out := make([]Handler, 0, len(hs.byTop[topic]))
	for _, h := range hs.byTop[topic] {
		out = append(out, h)
	}
	return out
}
