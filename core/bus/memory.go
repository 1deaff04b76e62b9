package bus

import (
	"context"
	"sync"
)

// Memory is a Bus inside one process, for the embedded single-replica mode.
type Memory struct {
	hmu sync.Mutex // guards hs
	hs  handlers

	qmu    sync.RWMutex // publishers share it; Close takes it to close queue
	queue  chan Message
	closed bool
	done   chan struct{}
}

var _ Bus = (*Memory)(nil)

// NewMemory returns a running in-process bus. Publish does not wait for handlers:
// messages queue and one goroutine delivers them in order, as the Redis bus does.
func NewMemory() *Memory {
	m := &Memory{queue: make(chan Message, 1024), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *Memory) run() {
	defer close(m.done)
	for msg := range m.queue {
		m.hmu.Lock()
		hs := m.hs.of(msg.Topic)
		m.hmu.Unlock()
		for _, h := range hs {
			h(msg)
		}
	}
}

// Publish implements Bus. It blocks only while the queue is full, or until ctx is done.
func (m *Memory) Publish(ctx context.Context, topic string, payload []byte) error {
	m.qmu.RLock()
	defer m.qmu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	msg := Message{Topic: topic, Payload: append([]byte(nil), payload...)}
	select {
	case m.queue <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(ctx context.Context, topic string, h Handler) (func(), error) {
	m.qmu.RLock()
	closed := m.closed
	m.qmu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	m.hmu.Lock()
	defer m.hmu.Unlock()
	id, _ := m.hs.add(topic, h)
	return func() {
		m.hmu.Lock()
		defer m.hmu.Unlock()
		m.hs.remove(topic, id)
	}, nil
}

// Close implements Bus. Messages already published are still delivered.
func (m *Memory) Close() error {
	m.qmu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.qmu.Unlock()
	<-m.done
	return nil
}
