package scale

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSpreadDealsEveryLikeWithinTheCaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		caps  []int
		total int
	}{
		{[]int{5, 5, 5}, 15},         // every cap full
		{[]int{1000, 1000, 1000}, 1}, // one like
		{[]int{3, 200, 0, 7}, 150},   // an item nobody reads
		{slices.Repeat([]int{2000}, 10_000), 100_000},
	} {
		counts, err := spread(rng, c.caps, c.total)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for i, n := range counts {
			if n < 0 || n > c.caps[i] {
				t.Fatalf("caps %v: item %d got %d", c.caps[:min(5, len(c.caps))], i, n)
			}
			sum += n
		}
		if sum != c.total {
			t.Fatalf("dealt %d, want %d", sum, c.total)
		}
	}
	// Popular items get many more than the average: the spread is not flat.
	counts, _ := spread(rng, slices.Repeat([]int{2000}, 10_000), 100_000)
	if top := slices.Max(counts); top < 100 {
		t.Fatalf("the most liked item has %d likes; want a long tail", top)
	}
	if _, err := spread(rng, []int{1, 2}, 4); err == nil {
		t.Fatal("more likes than readers: no error")
	}
}
