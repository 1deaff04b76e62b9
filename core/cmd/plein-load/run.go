package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// report is what a run measured.
type report struct {
	Phases []phase
	Memory []memory
	Notes  []string
}

func (r *report) errors() int {
	n := 0
	for _, p := range r.Phases {
		n += p.errors()
	}
	return n
}

// run logs in, finds what the users may do, runs the warm-up, the measured mix and
// the isolated operations, and prints the results to out.
func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	// A hard stop whatever happens: setup, every phase, and a margin.
	limit := 5*time.Minute + cfg.warmup + cfg.duration + time.Duration(len(cfg.isolate))*cfg.isolateFor
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	var m *manifest
	if cfg.manifest != "" {
		var err error
		if m, err = readManifest(cfg.manifest); err != nil {
			return nil, err
		}
	}
	a := newAPI(cfg.base, cfg.clients)
	if code, _, err := a.do(ctx, "GET", "/readyz", "", nil); err != nil || code != 200 {
		return nil, fmt.Errorf("%s/readyz: %d %v (is the server running? make run starts one)", cfg.base, code, err)
	}
	start := time.Now()
	emails := pickEmails(m, cfg.users)
	users, err := a.login(ctx, emails, cfg.password)
	if err != nil {
		return nil, err
	}
	if err := a.discover(ctx, users, m); err != nil {
		return nil, err
	}
	rep := &report{}
	items, docs := 0, 0
	for _, u := range users {
		items, docs = max(items, u.reads.items.len()), max(docs, u.reads.documents.len())
	}
	fmt.Fprintf(out, "%d users logged in and looked around in %s (up to %d items and %d documents readable per user)\n",
		len(users), time.Since(start).Round(time.Millisecond), items, docs)
	expect, err := a.expectedFeatures(ctx, users[0])
	if err != nil {
		return nil, err
	}
	mx, dropped := usable(cfg.mix, users)
	if len(dropped) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("left out, no user can do them here: %s", strings.Join(dropped, ", ")))
		fmt.Fprintln(out, "note:", rep.Notes[len(rep.Notes)-1])
	}
	if mx.total == 0 {
		return nil, fmt.Errorf("none of the operations %s can run against this server", cfg.mix)
	}

	pid := cfg.pid
	fs := procFS{root: "/proc"}
	if pid == 0 {
		if pid, err = fs.listener(portOf(cfg.base)); err != nil {
			rep.Notes = append(rep.Notes, "memory not measured: "+err.Error())
			fmt.Fprintln(out, "note:", rep.Notes[len(rep.Notes)-1])
		}
	}
	var mem *sampler
	if pid > 0 {
		mem = startSampler(fs, pid, 500*time.Millisecond)
	}

	rng := rand.New(rand.NewPCG(cfg.seed, 11))
	if cfg.warmup > 0 {
		fmt.Fprintf(out, "warm-up: %s\n", cfg.warmup)
		drive(ctx, a, users, expect, mx, cfg.clients, cfg.warmup, rng, newRecorder(0))
	}
	fmt.Fprintf(out, "measuring the mix %s\n", mx)
	rec := newRecorder(cfg.errorBodies)
	took := drive(ctx, a, users, expect, mx, cfg.clients, cfg.duration, rng, rec)
	rep.Phases = append(rep.Phases, rec.summary("mix "+mx.String(), cfg.clients, took, reportOrder))
	for _, name := range cfg.isolate {
		if ctx.Err() != nil {
			break
		}
		alone, err := cfg.mix.only([]string{name})
		if err != nil {
			return nil, err
		}
		if alone, _ = usable(alone, users); alone.total == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s alone: no user can do it here", name))
			continue
		}
		fmt.Fprintf(out, "measuring %s alone\n", name)
		rec := newRecorder(cfg.errorBodies)
		took := drive(ctx, a, users, expect, alone, cfg.clients, cfg.isolateFor, rng, rec)
		rep.Phases = append(rep.Phases, rec.summary(name+" alone", cfg.clients, took, reportOrder))
	}
	if mem != nil {
		rep.Memory = mem.stop()
	}
	for _, p := range rep.Phases {
		p.print(out)
	}
	printMemory(out, rep.Memory)
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note:", n)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("stopped before the end: %w", err)
	}
	return rep, nil
}

// drive runs clients for d, each picking an operation from m and a user for it, and
// records into rec. It returns how long the phase took.
func drive(ctx context.Context, a *api, users []*user, expect []string, m mix, clients int, d time.Duration, seed *rand.Rand, rec *recorder) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		c := &client{api: a, rng: rand.New(rand.NewPCG(seed.Uint64(), uint64(i))), tally: tally{}, keep: rec.keepErr, liked: map[*user][]string{}, expect: expect}
		wg.Go(func() {
			defer func() { rec.add(c.tally) }()
			for ctx.Err() == nil {
				op, _ := opByName(m.pick(c.rng))
				// A user who cannot do it (no space to post in) hands it to another.
				for range 20 {
					if op.run(c, ctx, users[c.rng.IntN(len(users))]) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// portOf returns the port of a base URL, or the scheme's.
func portOf(base string) int {
	u, err := url.Parse(base)
	if err != nil {
		return 0
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
