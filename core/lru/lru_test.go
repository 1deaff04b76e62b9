package lru

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[int](3)
	for i := range 3 {
		c.Put(fmt.Sprint(i), i, 0)
	}
	c.Get("0") // 1 is now the least recently used
	c.Put("3", 3, 0)
	if _, ok := c.Get("1"); ok {
		t.Fatal("least recently used entry kept")
	}
	for _, k := range []string{"0", "2", "3"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestEntriesExpire(t *testing.T) {
	c := New[string](10)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.Put("short", "a", time.Second)
	c.Put("forever", "b", 0)
	now = now.Add(2 * time.Second)
	if _, ok := c.Get("short"); ok {
		t.Fatal("expired entry returned")
	}
	if v, ok := c.Get("forever"); !ok || v != "b" {
		t.Fatal("entry without ttl expired")
	}
}

func TestRemoveAndClear(t *testing.T) {
	c := New[int](10)
	c.Put("a", 1, 0)
	c.Put("b", 2, 0)
	c.Remove("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("removed entry returned")
	}
	c.Clear()
	if c.Len() != 0 {
		t.Fatal("clear left entries")
	}
	c.Put("c", 3, 0) // usable after Clear
	if v, _ := c.Get("c"); v != 3 {
		t.Fatal("put after clear lost")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New[int](50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint((g * i) % 100)
				c.Put(k, i, time.Minute)
				c.Get(k)
				if i%97 == 0 {
					c.Remove(k)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("len %d over max", c.Len())
	}
}
