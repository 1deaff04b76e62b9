package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// memory is one process's resident memory and CPU time over a run.
type memory struct {
	Proc             proc
	LastKiB, PeakKiB int64
	FirstCPU         int64         // clock ticks at the first sample
	Span             time.Duration // from the first sample to the last
	first            time.Time
}

// CPUSeconds is the CPU time the process used between the first and the last sample.
func (m memory) CPUSeconds() float64 { return float64(m.Proc.cpu-m.FirstCPU) / ticksPerSecond }

// sampler reads the resident memory of a process and its children every interval.
type sampler struct {
	mu    sync.Mutex
	seen  map[int]*memory
	order []int
	done  chan struct{}
	wg    sync.WaitGroup
}

func startSampler(fs procFS, pid int, every time.Duration) *sampler {
	s := &sampler{seen: map[int]*memory{}, done: make(chan struct{})}
	s.sample(fs, pid)
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				s.sample(fs, pid)
				return
			case <-t.C:
				s.sample(fs, pid)
			}
		}
	})
	return s
}

func (s *sampler) sample(fs procFS, pid int) {
	fam, err := fs.family(pid)
	if err != nil {
		return // the server is gone; what was seen stays
	}
	if self, err := fs.self(); err == nil {
		fam = append(fam, self) // the generator's own cost, for comparison
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range fam {
		kib, err := fs.rssKiB(p.pid)
		if err != nil {
			continue
		}
		m := s.seen[p.pid]
		if m == nil {
			m = &memory{Proc: p, FirstCPU: p.cpu, first: time.Now()}
			s.seen[p.pid] = m
			s.order = append(s.order, p.pid)
		}
		m.Proc.cpu, m.Span = p.cpu, time.Since(m.first)
		m.LastKiB, m.PeakKiB = kib, max(m.PeakKiB, kib)
	}
}

// stop takes a last sample and returns what was seen, the server first.
func (s *sampler) stop() []memory {
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]memory, 0, len(s.order))
	for _, pid := range s.order {
		out = append(out, *s.seen[pid])
	}
	return out
}

func printMemory(w io.Writer, mem []memory) {
	if len(mem) == 0 {
		return
	}
	fmt.Fprintf(w, "\nresident memory (VmRSS, sampled every 0.5 s) and CPU time over the phases\n\n")
	line := "| %-16s | %8s | %10s | %10s | %8s | %6s |\n"
	fmt.Fprintf(w, line, "process", "pid", "end MiB", "peak MiB", "CPU s", "cores")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s:|\n", dashes(18), dashes(9), dashes(11), dashes(11), dashes(9), dashes(7))
	print := func(name, pid string, last, peak int64, cpu float64, span time.Duration) {
		cores := "-"
		if span > 0 {
			cores = fmt.Sprintf("%.2f", cpu/span.Seconds())
		}
		fmt.Fprintf(w, line, name, pid, fmt.Sprintf("%.1f", mib(last)), fmt.Sprintf("%.1f", mib(peak)), fmt.Sprintf("%.1f", cpu), cores)
	}
	var last, peak int64
	var cpu float64
	var span time.Duration
	var self *memory
	for i, m := range mem {
		if m.Proc.pid == os.Getpid() {
			self = &mem[i]
			continue
		}
		name := m.Proc.name
		if i == 0 {
			name += " (core)"
			span = m.Span
		}
		print(name, fmt.Sprint(m.Proc.pid), m.LastKiB, m.PeakKiB, m.CPUSeconds(), m.Span)
		last, peak, cpu = last+m.LastKiB, peak+m.PeakKiB, cpu+m.CPUSeconds()
	}
	print("core + plugins", "", last, peak, cpu, span)
	if self != nil {
		print("plein-load", fmt.Sprint(self.Proc.pid), self.LastKiB, self.PeakKiB, self.CPUSeconds(), self.Span)
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}
