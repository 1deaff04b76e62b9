package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorder gathers one phase's results. Each client records into its own tally and
// hands it over once at the end, so recording takes no lock per request.
type recorder struct {
	mu      sync.Mutex
	ops     map[string]*opStats
	keepErr int // error samples kept per operation
}

// opStats is one operation's results.
type opStats struct {
	lat      []time.Duration // of successful requests
	errors   int
	degraded int      // successes whose items lack an enabled plugin's fields
	samples  []string // the first few errors: status and body
}

func newRecorder(keepErr int) *recorder {
	return &recorder{ops: map[string]*opStats{}, keepErr: keepErr}
}

// tally is one client's part of a phase.
type tally map[string]*opStats

func (t tally) ok(op string, d time.Duration) { t.get(op).lat = append(t.get(op).lat, d) }

func (t tally) degrade(op string) { t.get(op).degraded++ }

func (t tally) fail(op string, sample string, keep int) {
	s := t.get(op)
	s.errors++
	if len(s.samples) < keep {
		s.samples = append(s.samples, sample)
	}
}

func (t tally) get(op string) *opStats {
	s := t[op]
	if s == nil {
		s = &opStats{}
		t[op] = s
	}
	return s
}

// add merges a client's tally.
func (r *recorder) add(t tally) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for op, s := range t {
		dst := r.ops[op]
		if dst == nil {
			dst = &opStats{}
			r.ops[op] = dst
		}
		dst.lat = append(dst.lat, s.lat...)
		dst.errors += s.errors
		dst.degraded += s.degraded
		for _, e := range s.samples {
			if len(dst.samples) < r.keepErr {
				dst.samples = append(dst.samples, e)
			}
		}
	}
}

// row is one line of the results table.
type row struct {
	Op            string
	Count, Errors int
	Degraded      int
	PerSecond     float64
	P50, P95, P99 time.Duration
	Max           time.Duration
	Samples       []string
}

// phase is a measured phase's results.
type phase struct {
	Name     string
	Clients  int
	Duration time.Duration
	Rows     []row
}

// summary sorts the latencies and computes the rows, in order of the given names
// (then any others, by name).
func (r *recorder) summary(name string, clients int, d time.Duration, order []string) phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := slices.Clone(order)
	var rest []string
	for op := range r.ops {
		if !slices.Contains(names, op) {
			rest = append(rest, op)
		}
	}
	sort.Strings(rest)
	p := phase{Name: name, Clients: clients, Duration: d}
	for _, op := range append(names, rest...) {
		s := r.ops[op]
		if s == nil {
			continue
		}
		slices.Sort(s.lat)
		rw := row{Op: op, Count: len(s.lat), Errors: s.errors, Degraded: s.degraded, Samples: s.samples,
			P50: percentile(s.lat, 0.50), P95: percentile(s.lat, 0.95), P99: percentile(s.lat, 0.99)}
		if len(s.lat) > 0 {
			rw.Max = s.lat[len(s.lat)-1]
		}
		if d > 0 {
			rw.PerSecond = float64(len(s.lat)+s.errors) / d.Seconds()
		}
		p.Rows = append(p.Rows, rw)
	}
	return p
}

// percentile returns the nearest-rank p-quantile of sorted: the smallest sample with
// at least p of all samples at or below it; 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func (p phase) errors() int {
	n := 0
	for _, r := range p.Rows {
		n += r.Errors
	}
	return n
}

// print writes the phase as a Markdown table, then the error samples.
func (p phase) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s: %d clients, %s\n\n", p.Name, p.Clients, p.Duration.Round(time.Millisecond))
	line := "| %-10s | %10s | %7s | %7s | %7s | %7s | %9s | %6s | %8s |\n"
	fmt.Fprintf(w, line, "operation", "requests/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "requests", "errors", "degraded")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|%s:|\n", dashes(12), dashes(11), dashes(8), dashes(8), dashes(8), dashes(8), dashes(10), dashes(7), dashes(9))
	var total, errs, degraded int
	for _, r := range p.Rows {
		fmt.Fprintf(w, line, r.Op, fmt.Sprintf("%.0f", r.PerSecond), ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max),
			strconv.Itoa(r.Count+r.Errors), strconv.Itoa(r.Errors), strconv.Itoa(r.Degraded))
		total += r.Count + r.Errors
		errs += r.Errors
		degraded += r.Degraded
	}
	var rate float64
	if p.Duration > 0 {
		rate = float64(total) / p.Duration.Seconds()
	}
	fmt.Fprintf(w, line, "all", fmt.Sprintf("%.0f", rate), "", "", "", "", strconv.Itoa(total), strconv.Itoa(errs), strconv.Itoa(degraded))
	for _, r := range p.Rows {
		for _, s := range r.Samples {
			fmt.Fprintf(w, "  error in %s: %s\n", r.Op, s)
		}
	}
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// clip shortens an error body for the report.
func clip(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
