package bus

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Bus over Redis pub/sub, shared by every replica that uses the same prefix.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	log    *slog.Logger
	ps     *redis.PubSub

	mu     sync.Mutex
	hs     handlers
	seen   map[string]bool // channels whose subscription Redis has confirmed
	closed bool

	cancel context.CancelFunc
	done   chan struct{}
}

var _ Bus = (*Redis)(nil)

// NewRedis returns a running bus on c whose channels are named prefix + topic.
func NewRedis(c redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Redis{
		c: c, prefix: prefix, log: log,
		ps:     c.Subscribe(ctx),
		seen:   map[string]bool{},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go b.run(ctx)
	return b
}

// Publish implements Bus.
func (b *Redis) Publish(ctx context.Context, topic string, payload []byte) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := b.c.Publish(ctx, b.prefix+topic, payload).Err(); err != nil {
		if errors.Is(err, redis.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// Subscribe implements Bus. It returns once Redis has the subscription request; delivery
// starts when Redis confirms it, a round trip later.
func (b *Redis) Subscribe(ctx context.Context, topic string, h Handler) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	id, first := b.hs.add(topic, h)
	if first {
		if err := b.ps.Subscribe(ctx, b.prefix+topic); err != nil {
			b.hs.remove(topic, id)
			return nil, err
		}
	}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.hs.remove(topic, id) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = b.ps.Unsubscribe(ctx, b.prefix+topic)
		}
	}, nil
}

// Close implements Bus.
func (b *Redis) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	err := b.ps.Close()
	<-b.done
	return err
}

func (b *Redis) run(ctx context.Context) {
	defer close(b.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		msg, err := b.ps.ReceiveTimeout(ctx, 15*time.Second)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel: a ping proves the connection or makes go-redis reconnect.
				_ = b.ps.Ping(ctx)
				continue
			}
			b.log.Warn("bus: redis receive failed; reconnecting", "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			b.deliver(Message{Topic: strings.TrimPrefix(m.Channel, b.prefix), Payload: []byte(m.Payload)})
		case *redis.Subscription:
			b.confirmed(m)
		}
	}
}

// confirmed tracks subscription confirmations: a second confirmation of a channel means
// go-redis reconnected and subscribed again, so messages in between may be lost.
func (b *Redis) confirmed(s *redis.Subscription) {
	b.mu.Lock()
	resync := false
	switch s.Kind {
	case "subscribe":
		resync = b.seen[s.Channel]
		b.seen[s.Channel] = true
	case "unsubscribe":
		delete(b.seen, s.Channel)
	}
	b.mu.Unlock()
	if resync {
		topic := strings.TrimPrefix(s.Channel, b.prefix)
		b.log.Info("bus: resubscribed after reconnect", "topic", topic)
		b.deliver(Message{Topic: topic, Resync: true})
	}
}

func (b *Redis) deliver(m Message) {
	b.mu.Lock()
	hs := b.hs.of(m.Topic)
	b.mu.Unlock()
	for _, h := range hs {
		h(m)
	}
}
