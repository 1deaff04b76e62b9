package pluginhost

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// instance is one plugin's slot on this replica: its state, and the goroutine that
// keeps its process alive while it is enabled (a run).
type instance struct {
	h    *Host
	name string
	log  *slog.Logger

	mu       sync.Mutex
	state    State
	lastErr  string
	failures int
	proc     *proc // the configured process, while running
	run      *run  // the current or last run; nil before the first
	gen      int64 // the generation of the desired state the run has applied
}

// proc is one configured plugin process.
type proc struct {
	process  *pluginrpc.Process // nil for a plugin served in process (tests)
	client   *pluginrpc.Client
	manifest sdk.Manifest
	routes   *http.ServeMux // the manifest's routes, for matching requests
	inflight sync.WaitGroup // requests, decorations and deliveries using it
}

// run is one enabled period of a plugin: launch, watch, restart, until stopped or
// given up.
type run struct {
	rec      Record // the desired state it runs
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func newInstance(h *Host, name string) *instance {
	return &instance{h: h, name: name, log: h.cfg.Log.With("plugin", name), state: StateStopped}
}

// snapshot returns the slot's state, error and crash count.
func (in *instance) snapshot() (State, string, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state, in.lastErr, in.failures
}

// acquire returns the running process for one use and its release, or false if the
// plugin is not running. Stopping waits for every release (up to DrainTimeout).
func (in *instance) acquire() (*proc, func(), bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := in.proc
	if in.state != StateRunning || p == nil || (p.process != nil && p.process.Exited()) {
		return nil, nil, false
	}
	p.inflight.Add(1)
	return p, p.inflight.Done, true
}

// set records a state change and reports it to SQL for the admin view.
func (in *instance) set(st State, msg string, failures int, p *proc) {
	in.mu.Lock()
	changed := in.state != st || in.lastErr != msg || in.failures != failures
	in.state, in.lastErr, in.failures, in.proc = st, msg, failures, p
	in.mu.Unlock()
	if !changed {
		return
	}
	switch {
	case st == StateFailed || st == StateRefused:
		in.log.Error("plugin down", "state", st, "reason", msg)
	case msg != "":
		in.log.Warn("plugin state", "state", st, "reason", msg)
	default:
		in.log.Info("plugin state", "state", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in.h.reg.report(ctx, in.name, st, failures, msg)
}

// apply brings the slot to rec: it starts, restarts or stops the run. It runs on the
// host's reconcile goroutine only.
func (in *instance) apply(ctx context.Context, rec Record) {
	in.mu.Lock()
	r, state, gen := in.run, in.state, in.gen
	in.gen = rec.Generation
	in.mu.Unlock()
	alive := r != nil && !r.ended()
	want := rec.Enabled && rec.Refused == ""
	switch {
	case !want:
		if alive {
			in.halt()
		}
		st, msg := StateStopped, ""
		if rec.Refused != "" {
			st, msg = StateRefused, rec.Refused
		}
		if in.idle(st, msg) && st == StateRefused {
			in.log.Error("plugin binary refused", "reason", msg)
		}
		if rec.State != st || rec.LastError != msg { // what SQL shows may be a past life's
			in.h.reg.report(ctx, in.name, st, 0, msg)
		}
		return
	case alive && r.rec.SHA256 == rec.SHA256 && bytes.Equal(r.rec.Settings, rec.Settings) && r.rec.Path == rec.Path:
		return // a new scope needs no restart
	case alive:
		in.log.Info("restarting plugin: its settings or binary changed")
		in.halt()
	case r != nil && (state == StateFailed || state == StateRefused) && gen == rec.Generation:
		return // down stays down until its state changes (Reset or Approve, say)
	}
	nr := &run{rec: rec, stop: make(chan struct{}), done: make(chan struct{})}
	in.mu.Lock()
	in.run = nr
	in.mu.Unlock()
	go in.loop(nr)
}

// idle sets the state of a slot without a run and reports whether it changed.
func (in *instance) idle(st State, msg string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	changed := in.state != st || in.lastErr != msg
	in.state, in.lastErr, in.failures, in.proc = st, msg, 0, nil
	return changed
}

func (r *run) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// halt stops the current run, if any, and waits for it.
func (in *instance) halt() {
	in.mu.Lock()
	r := in.run
	in.mu.Unlock()
	if r == nil {
		return
	}
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

// outcome is how one process's life ended.
type outcome int

const (
	endStopped outcome = iota // asked to stop
	endCrashed                // exited, failed to start or stopped answering: try again
	endFailed                 // will not work without a change: invalid settings, wrong name
	endRefused                // the binary is not the approved one
)

// loop keeps the plugin's process alive until stopped: it restarts it after a crash
// with backoff, and gives up (failed) after MaxCrashes crashes within CrashWindow.
func (in *instance) loop(r *run) {
	defer close(r.done)
	cfg := in.h.cfg
	var crashes []time.Time
	consecutive := 0
	for {
		started := cfg.Now()
		end, err := in.once(r, len(crashes))
		switch end {
		case endStopped:
			in.set(StateStopped, "", 0, nil)
			return
		case endRefused:
			in.set(StateRefused, err.Error(), len(crashes), nil)
			return
		case endFailed:
			in.set(StateFailed, err.Error(), len(crashes), nil)
			return
		}
		now := cfg.Now()
		if now.Sub(started) > time.Minute {
			consecutive = 0 // it ran a good while: start the backoff over
		}
		consecutive++
		kept := crashes[:0]
		for _, c := range crashes {
			if now.Sub(c) < cfg.CrashWindow {
				kept = append(kept, c)
			}
		}
		crashes = append(kept, now)
		if len(crashes) >= cfg.MaxCrashes {
			in.set(StateFailed, fmt.Sprintf("crashed %d times within %v, last: %v; reset it to try again", len(crashes), cfg.CrashWindow, err),
				len(crashes), nil)
			return
		}
		wait := cfg.Backoff(consecutive)
		in.set(StateStarting, fmt.Sprintf("restarting in %v after: %v", wait, err), len(crashes), nil)
		t := time.NewTimer(wait)
		select {
		case <-r.stop:
			t.Stop()
			in.set(StateStopped, "", 0, nil)
			return
		case <-t.C:
		}
	}
}

// env is a plugin's whole environment: nothing of the core's but the log level.
func (in *instance) env() []string {
	if in.h.cfg.LogLevel == "" {
		return []string{}
	}
	return []string{sdk.EnvLogLevel + "=" + in.h.cfg.LogLevel}
}

// once launches, configures and watches one process until it ends, and says how.
func (in *instance) once(r *run, crashes int) (outcome, error) {
	cfg := in.h.cfg
	rec := r.rec
	in.set(StateStarting, "", crashes, nil)
	// Check the binary first for a clear message; Launch checks it again.
	sum, err := in.h.reg.hash(rec.Path)
	if err != nil {
		return endRefused, fmt.Errorf("read binary: %w", err)
	}
	if sum != rec.SHA256 {
		return endRefused, fmt.Errorf("binary %s has SHA-256 %s but %s was approved: it changed since; approve it to run it", rec.Path, sum, rec.SHA256)
	}
	want, _ := hex.DecodeString(rec.SHA256)
	p, err := pluginrpc.Launch(pluginrpc.Config{Path: rec.Path, SHA256: want, Env: in.env(), Logger: in.log, StartTimeout: cfg.StartTimeout})
	if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
		return endRefused, fmt.Errorf("binary %s changed since it was approved: approve it to run it", rec.Path)
	}
	if err != nil {
		return endCrashed, err
	}
	end, err := in.configure(r, p)
	if err != nil {
		p.Kill()
		return end, err
	}
	return in.watch(r, p)
}

// configure describes, serves the host API to and configures a launched process,
// and marks the plugin running.
func (in *instance) configure(r *run, p *pluginrpc.Process) (outcome, error) {
	cfg := in.h.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartTimeout)
	defer cancel()
	c := p.Client()
	m, err := c.Describe(ctx)
	switch {
	case errors.Is(err, sdk.ErrInvalid):
		return endFailed, err
	case err != nil:
		return endCrashed, err
	case m.Name != in.name:
		return endFailed, fmt.Errorf("binary %s says it is plugin %q: its file must be named after it", r.rec.Path, m.Name)
	}
	id, err := c.ServeHost(in.h.hostService(in.name, in.log), in.log)
	if err != nil {
		return endCrashed, err
	}
	if err := c.Configure(ctx, r.rec.Settings, id); err != nil {
		if errors.Is(err, sdk.ErrInvalid) {
			return endFailed, fmt.Errorf("the plugin refused its settings: %w", err)
		}
		return endCrashed, err
	}
	in.h.reg.saveManifest(ctx, m)
	in.mu.Lock()
	failures := in.failures
	in.mu.Unlock()
	in.set(StateRunning, "", failures, &proc{process: p, client: c, manifest: m, routes: routeMux(m)})
	in.h.disp.poke()
	return 0, nil
}

// watch keeps an eye on a running process until it exits, stops answering, or the
// run is stopped.
func (in *instance) watch(r *run, p *pluginrpc.Process) (outcome, error) {
	cfg := in.h.cfg
	exit := time.NewTicker(cfg.ExitPoll)
	defer exit.Stop()
	health := time.NewTicker(cfg.HealthInterval)
	defer health.Stop()
	unhealthy := 0
	for {
		select {
		case <-r.stop:
			in.drain()
			p.Kill()
			return endStopped, nil
		case <-exit.C:
			if p.Exited() {
				in.lose()
				p.Kill()
				return endCrashed, errors.New("the process exited")
			}
		case <-health.C:
			ctx, cancel := context.WithTimeout(context.Background(), min(cfg.HealthInterval, 5*time.Second))
			err := p.Client().Health(ctx)
			cancel()
			if err == nil {
				unhealthy = 0
				continue
			}
			if unhealthy++; unhealthy >= 3 || p.Exited() {
				in.lose()
				p.Kill()
				return endCrashed, fmt.Errorf("not answering: %w", err)
			}
		}
	}
}

// lose takes a dead process out of service at once: requests answer 503.
func (in *instance) lose() {
	in.mu.Lock()
	in.state, in.proc = StateStarting, nil
	in.mu.Unlock()
}

// drain takes the process out of service and waits up to DrainTimeout for the
// requests using it.
func (in *instance) drain() {
	in.mu.Lock()
	p := in.proc
	in.state, in.proc = StateStopped, nil
	in.mu.Unlock()
	if p == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		p.inflight.Wait()
		close(done)
	}()
	t := time.NewTimer(in.h.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		in.log.Warn("plugin stopped with requests still running", "waited", in.h.cfg.DrainTimeout)
	}
}
