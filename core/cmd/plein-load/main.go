// Command plein-load puts a mixed load on a running Plein server seeded with the demo
// organisation (and, for make bench, grown by plein seed scale): many distinct users
// read the feed and items, search, post, comment, like, unlike, vote and download,
// concurrently, for a fixed time. It prints, per operation, requests per second,
// latency percentiles and errors, and the resident memory of the server and each of
// its plugin processes. It only talks to loopback addresses and stops by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Caps on the phases, so a typo cannot keep the load going for hours.
const (
	maxDuration = 10 * time.Minute
	maxWarmup   = 2 * time.Minute
	maxIsolated = 5 * time.Minute
	maxClients  = 1000
)

// config is what one run does.
type config struct {
	base        string
	password    string
	clients     int
	duration    time.Duration
	warmup      time.Duration
	mix         mix
	isolate     []string // operations measured alone after the mix
	isolateFor  time.Duration
	manifest    string
	users       int // distinct users to log in
	pid         int // the server's pid; 0: the process listening on base's port
	errorBodies int // error bodies kept per operation
	seed        uint64
}

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "plein-load:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "plein-load:", err)
		return 1
	}
	if rep.errors() > 0 {
		return 3 // the table is printed; a script can still tell that requests failed
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("plein-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.base, "url", "http://127.0.0.1:8080", "the server (loopback only)")
	fs.StringVar(&cfg.password, "password", envOr("PLEIN_DEMO_PASSWORD", "plein-demo"), "demo password")
	fs.IntVar(&cfg.clients, "c", 50, "concurrent clients")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to measure the mix (at most 10m)")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "how long to run the mix unmeasured first (at most 2m)")
	mixText := fs.String("mix", defaultMix, "operations and their weights")
	only := fs.String("only", "", "measure only these operations (comma-separated), with the mix's weights among them")
	isolate := fs.String("isolate", "", "after the mix, measure each of these operations alone (comma-separated)")
	fs.DurationVar(&cfg.isolateFor, "isolate-duration", 10*time.Second, "how long each isolated operation runs (at most 5m)")
	fs.StringVar(&cfg.manifest, "manifest", "", "the JSON file plein seed scale --manifest wrote: its users log in, its items are read")
	fs.IntVar(&cfg.users, "users", 200, "how many distinct users log in (from the manifest, else the demo's sample logins)")
	fs.IntVar(&cfg.pid, "pid", 0, "the server's process id, for memory; 0: the process listening on the URL's port")
	fs.IntVar(&cfg.errorBodies, "error-bodies", 3, "error bodies printed per operation")
	fs.Uint64Var(&cfg.seed, "seed", 1, "random seed of the clients' choices")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: plein-load [flags]\n\nOperations: %s\n\n", strings.Join(opNames(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := checkLoopback(cfg.base); err != nil {
		return cfg, err
	}
	cfg.base = strings.TrimRight(cfg.base, "/")
	switch {
	case cfg.clients < 1 || cfg.clients > maxClients:
		return cfg, fmt.Errorf("-c: %d clients; want 1 to %d", cfg.clients, maxClients)
	case cfg.duration <= 0 || cfg.duration > maxDuration:
		return cfg, fmt.Errorf("-duration: %s; want more than 0 and at most %s", cfg.duration, maxDuration)
	case cfg.warmup < 0 || cfg.warmup > maxWarmup:
		return cfg, fmt.Errorf("-warmup: %s; want 0 to %s", cfg.warmup, maxWarmup)
	case cfg.isolateFor <= 0 || cfg.isolateFor > maxIsolated:
		return cfg, fmt.Errorf("-isolate-duration: %s; want more than 0 and at most %s", cfg.isolateFor, maxIsolated)
	case cfg.users < 1:
		return cfg, fmt.Errorf("-users: %d; want at least 1", cfg.users)
	case cfg.errorBodies < 0:
		return cfg, fmt.Errorf("-error-bodies: %d; want 0 or more", cfg.errorBodies)
	case cfg.pid < 0:
		return cfg, fmt.Errorf("-pid: %d is not a process id", cfg.pid)
	}
	var err error
	if cfg.mix, err = parseMix(*mixText); err != nil {
		return cfg, fmt.Errorf("-mix: %w", err)
	}
	if *only != "" {
		if cfg.mix, err = cfg.mix.only(splitList(*only)); err != nil {
			return cfg, fmt.Errorf("-only: %w", err)
		}
	}
	if *isolate != "" {
		cfg.isolate = splitList(*isolate)
		for _, name := range cfg.isolate {
			if _, ok := opByName(name); !ok {
				return cfg, fmt.Errorf("-isolate: unknown operation %q (have %s)", name, strings.Join(opNames(), ", "))
			}
		}
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
