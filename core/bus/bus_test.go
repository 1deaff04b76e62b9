package bus_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/internal/testsvc"
)

const wait = 5 * time.Second // liveness bound for a delivery, not a performance claim

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func redisBus(t *testing.T, c redis.UniversalClient, prefix string) *bus.Redis {
	b := bus.NewRedis(c, prefix, quiet)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func impls(t *testing.T) map[string]func(t *testing.T) bus.Bus {
	return map[string]func(t *testing.T) bus.Bus{
		"memory": func(t *testing.T) bus.Bus {
			b := bus.NewMemory()
			t.Cleanup(func() { _ = b.Close() })
			return b
		},
		"redis": func(t *testing.T) bus.Bus { return redisBus(t, testsvc.Redis(t), testsvc.Name("test:")+":") },
	}
}

// collect subscribes to topic and returns a channel of what arrives.
func collect(t *testing.T, b bus.Bus, topic string) (<-chan bus.Message, func()) {
	t.Helper()
	ch := make(chan bus.Message, 100)
	unsub, err := b.Subscribe(context.Background(), topic, func(m bus.Message) { ch <- m })
	if err != nil {
		t.Fatal(err)
	}
	return ch, unsub
}

// next returns the next message that is not a probe from ready.
func next(t *testing.T, ch <-chan bus.Message) bus.Message {
	t.Helper()
	for {
		select {
		case m := <-ch:
			if string(m.Payload) != "probe" {
				return m
			}
		case <-time.After(wait):
			t.Fatal("no message")
			return bus.Message{}
		}
	}
}

// ready publishes probes until one arrives: Redis confirms a subscription one round trip later.
func ready(t *testing.T, b bus.Bus, topic string, ch <-chan bus.Message) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if err := b.Publish(context.Background(), topic, []byte("probe")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch: // next skips the probes still on their way
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("subscription never became active")
}

func TestBusDeliversInOrderToEverySubscriberOfTheTopic(t *testing.T) {
	for name, newBus := range impls(t) {
		t.Run(name, func(t *testing.T) {
			b := newBus(t)
			a, _ := collect(t, b, "policy")
			c, _ := collect(t, b, "policy")
			other, _ := collect(t, b, "plugins")
			ready(t, b, "policy", a)
			ready(t, b, "policy", c)
			for i := range 50 {
				if err := b.Publish(context.Background(), "policy", []byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
			}
			for _, ch := range []<-chan bus.Message{a, c} {
				var got []byte
				for range 50 {
					m := next(t, ch)
					if m.Topic != "policy" || m.Resync {
						t.Fatalf("got %+v", m)
					}
					got = append(got, m.Payload...)
				}
				for i, v := range got {
					if int(v) != i {
						t.Fatalf("out of order: %v", got)
					}
				}
			}
			if len(other) != 0 {
				t.Fatalf("another topic's subscriber got %d messages", len(other))
			}
		})
	}
}

func TestBusUnsubscribeStopsDelivery(t *testing.T) {
	for name, newBus := range impls(t) {
		t.Run(name, func(t *testing.T) {
			b := newBus(t)
			gone, unsub := collect(t, b, "t")
			kept, _ := collect(t, b, "t")
			ready(t, b, "t", kept)
			unsub()
			for len(gone) > 0 {
				if m := <-gone; string(m.Payload) != "probe" {
					t.Fatalf("unexpected %q", m.Payload)
				}
			}
			if err := b.Publish(context.Background(), "t", []byte("after")); err != nil {
				t.Fatal(err)
			}
			if m := next(t, kept); string(m.Payload) != "after" {
				t.Fatalf("kept got %q", m.Payload)
			}
			for len(gone) > 0 {
				if m := <-gone; string(m.Payload) != "probe" {
					t.Fatalf("unsubscribed handler got %q", m.Payload)
				}
			}
		})
	}
}

func TestBusClosedRefusesWork(t *testing.T) {
	for name, newBus := range impls(t) {
		t.Run(name, func(t *testing.T) {
			b := newBus(t)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(context.Background(), "t", nil); err == nil {
				t.Fatal("publish on a closed bus succeeded")
			}
		})
	}
}

func TestRedisBusReachesOtherReplicas(t *testing.T) {
	c := testsvc.Redis(t)
	prefix := testsvc.Name("test:") + ":"
	a, b := redisBus(t, c, prefix), redisBus(t, c, prefix)
	chA, _ := collect(t, a, "cache")
	chB, _ := collect(t, b, "cache")
	ready(t, a, "cache", chA)
	ready(t, b, "cache", chB)
	if err := a.Publish(context.Background(), "cache", []byte("invalidate:42")); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan bus.Message{chA, chB} {
		if m := next(t, ch); string(m.Payload) != "invalidate:42" {
			t.Fatalf("got %q", m.Payload)
		}
	}
}

func TestRedisBusSignalsResyncAfterRedisRestarts(t *testing.T) {
	r := testsvc.StartRedis(t)
	opts, _ := redis.ParseURL(r.URL())
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	b := redisBus(t, c, "p:")
	ch, _ := collect(t, b, "policy")
	ready(t, b, "policy", ch)

	r.Stop()
	r.Start()
	if m := next(t, ch); !m.Resync || m.Topic != "policy" {
		t.Fatalf("first message after the restart: %+v, want a resync", m)
	}
	// Delivery works again on the new connection.
	if err := b.Publish(context.Background(), "policy", []byte("back")); err != nil {
		t.Fatal(err)
	}
	for m := next(t, ch); string(m.Payload) != "back"; m = next(t, ch) {
		if m.Resync { // one resync per reconnect; a second means a second reconnect
			t.Logf("another resync: %+v", m)
		}
	}
}
