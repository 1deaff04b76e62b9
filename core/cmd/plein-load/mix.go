package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// defaultMix leans on reads, as an intranet's traffic does: for every write a
// dozen reads.
const defaultMix = "feed=20,read=30,search=10,post=2,comment=4,like=12,unlike=6,vote=6,download=4"

// mix is a weighted choice of operations.
type mix struct {
	names   []string
	weights []int
	total   int
}

// parseMix reads "name=weight,..." (a bare name weighs 1). Names must be operations,
// each once; weights are integers from 0, and at least one must be above 0.
func parseMix(s string) (mix, error) {
	var m mix
	for _, part := range splitList(s) {
		name, w, hasWeight := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		weight := 1
		if hasWeight {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n < 0 || n > 1_000_000 {
				return mix{}, fmt.Errorf("weight of %q: %q is not an integer from 0 to 1000000", name, w)
			}
			weight = n
		}
		if _, ok := opByName(name); !ok {
			return mix{}, fmt.Errorf("unknown operation %q (have %s)", name, strings.Join(opNames(), ", "))
		}
		if slices.Contains(m.names, name) {
			return mix{}, fmt.Errorf("operation %q given twice", name)
		}
		if weight > 0 {
			m.names, m.weights, m.total = append(m.names, name), append(m.weights, weight), m.total+weight
		}
	}
	if m.total == 0 {
		return mix{}, fmt.Errorf("no operation with a weight above 0 in %q", s)
	}
	return m, nil
}

// only keeps the named operations; one the mix does not weigh gets weight 1.
func (m mix) only(names []string) (mix, error) {
	var out mix
	for _, name := range names {
		if _, ok := opByName(name); !ok {
			return mix{}, fmt.Errorf("unknown operation %q (have %s)", name, strings.Join(opNames(), ", "))
		}
		if slices.Contains(out.names, name) {
			continue
		}
		w := 1
		if i := slices.Index(m.names, name); i >= 0 {
			w = m.weights[i]
		}
		out.names, out.weights, out.total = append(out.names, name), append(out.weights, w), out.total+w
	}
	if out.total == 0 {
		return mix{}, fmt.Errorf("no operations")
	}
	return out, nil
}

// without drops the named operations, for those the server has nothing to do with.
func (m mix) without(drop []string) mix {
	var out mix
	for i, name := range m.names {
		if !slices.Contains(drop, name) {
			out.names, out.weights, out.total = append(out.names, name), append(out.weights, m.weights[i]), out.total+m.weights[i]
		}
	}
	return out
}

// pick draws an operation with probability weight/total.
func (m mix) pick(rng *rand.Rand) string {
	n := rng.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.names[i]
		}
		n -= w
	}
	return m.names[len(m.names)-1] // not reached: the weights add up to total
}

func (m mix) String() string {
	parts := make([]string, len(m.names))
	for i, n := range m.names {
		parts[i] = n + "=" + strconv.Itoa(m.weights[i])
	}
	return strings.Join(parts, ",")
}
