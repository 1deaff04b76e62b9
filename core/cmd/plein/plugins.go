package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/app"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/config"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/pluginhost"
)

const pluginsUsage = `Usage:
  plein plugins list [--json]         list the plugins in the plugin directory and the database
  plein plugins install PATH          copy a plugin binary in and approve it (a new plugin starts disabled)
  plein plugins enable NAME [--space ID]... [--role NAME]...
                                      turn a plugin on: for everyone, or only in those spaces
                                      and for those roles (an option left out means all)
  plein plugins disable NAME          turn a plugin off
  plein plugins approve NAME          accept a changed binary: approve its new checksum
  plein plugins reset NAME            clear a plugin's failed state, so it is tried again

Every command takes the server's flags (PLEIN_DATABASE_URL, PLEIN_PLUGIN_DIR,
PLEIN_REDIS_URL, ...); run "plein plugins list -h" to see them. With PLEIN_REDIS_URL
set, every replica applies a change within a second; without it, the server picks it
up on its next resync.
`

// pluginCommand is one "plein plugins" subcommand.
type pluginCommand struct {
	synopsis string // after "plein plugins "
	args     int    // how many positional arguments it takes
	// flags adds the command's own flags to fs; nil if it has none.
	flags func(fs *flag.FlagSet) any
	// publish: the command changes desired state, so it tells the replicas.
	publish bool
	run     func(c cli, p pluginRun) error
}

// pluginRun is what a subcommand gets: its arguments, its flags and an open registry.
type pluginRun struct {
	ctx   context.Context
	reg   *pluginhost.Registry
	args  []string
	flags any
}

var pluginCommands = map[string]pluginCommand{
	"list": {
		synopsis: "list [--json]",
		flags:    func(fs *flag.FlagSet) any { return fs.Bool("json", false, "print JSON instead of a table") },
		run:      cli.pluginsList,
	},
	"install": {synopsis: "install PATH", args: 1, publish: true, run: cli.pluginsInstall},
	"enable": {
		synopsis: "enable NAME [--space ID]... [--role NAME]...",
		args:     1,
		publish:  true,
		flags: func(fs *flag.FlagSet) any {
			s := &scopeFlags{}
			fs.Var(&s.spaces, "space", "enable it only in this space (by id); repeat for more; default: every space")
			fs.Var(&s.roles, "role", "enable it only for this role; repeat for more; default: every role")
			return s
		},
		run: cli.pluginsEnable,
	},
	"disable": {synopsis: "disable NAME", args: 1, publish: true, run: cli.pluginsDisable},
	"approve": {synopsis: "approve NAME", args: 1, publish: true, run: cli.pluginsApprove},
	"reset":   {synopsis: "reset NAME", args: 1, publish: true, run: cli.pluginsReset},
}

type scopeFlags struct {
	spaces, roles roleList // roleList is any repeatable string flag
}

// usageError is a command line that does not parse: exit code 2 with the usage text.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// plugins runs "plein plugins ..." and returns the process exit code: 0, 1 for a
// failure, 2 for a usage error.
func (c cli) plugins(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, pluginsUsage)
		return 2
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "--help":
		fmt.Fprint(c.stdout, pluginsUsage)
		return 0
	}
	cmd, ok := pluginCommands[sub]
	if !ok {
		fmt.Fprintf(c.stderr, "plein plugins: unknown command %q\n\n%s", sub, pluginsUsage)
		return 2
	}
	err := c.runPlugins(sub, cmd, rest)
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(c.stderr, "plein plugins %s: %v\n\n%s", sub, err, pluginsUsage)
		return 2
	default:
		fmt.Fprintf(c.stderr, "plein plugins %s: %v\n", sub, err)
		return 1
	}
}

// runPlugins parses a subcommand's arguments, opens the registry and runs it.
func (c cli) runPlugins(sub string, cmd pluginCommand, args []string) error {
	fs, parse := c.flags("plugins " + sub)
	var own any
	if cmd.flags != nil {
		own = cmd.flags(fs)
	}
	fs.SetOutput(io.Discard) // errors are reported once, below
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(c.stderr, "Usage: plein plugins %s\n\nFlags:\n", cmd.synopsis)
		fs.SetOutput(c.stderr)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if len(pos) != cmd.args {
		if len(pos) < cmd.args {
			return usageError{"missing argument: plein plugins " + cmd.synopsis}
		}
		return usageError{fmt.Sprintf("unexpected argument %q", pos[cmd.args])}
	}
	cfg, log, err := parse(nil) // flags are parsed: this validates the configuration
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reg, closeAll, err := openRegistry(ctx, cfg, log, cmd.publish)
	if err != nil {
		return err
	}
	defer closeAll()
	return cmd.run(c, pluginRun{ctx: ctx, reg: reg, args: pos, flags: own})
}

// parseInterleaved parses fs's flags wherever they stand among args ("enable NAME
// --space X" as well as "enable --space X NAME") and returns the other arguments in
// order. Everything after "--" is an argument.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// openRegistry opens the database and, for a command that changes desired state with
// Redis configured, a change notifier on the Redis bus the servers listen on (the one
// core/app opens). It returns a function that closes them.
func openRegistry(ctx context.Context, cfg config.Config, log *slog.Logger, publish bool) (*pluginhost.Registry, func(), error) {
	var closers []func() error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	db, err := app.OpenDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, db.Close)
	var notifier *changes.Notifier
	if publish && cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("PLEIN_REDIS_URL: %w", err)
		}
		rc := redis.NewClient(opts)
		closers = append(closers, rc.Close)
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = rc.Ping(pctx).Err()
		cancel()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("PLEIN_REDIS_URL: redis at %s does not answer: %w", opts.Addr, err)
		}
		rb := bus.NewRedis(rc, cfg.RedisPrefix+"bus:", log)
		closers = append(closers, rb.Close)
		notifier = changes.New(rb, log)
	}
	reg := pluginhost.NewRegistry(pluginhost.RegistryConfig{DB: db, Dir: cfg.PluginDir, Changes: notifier, Log: log})
	return reg, closeAll, nil
}

// notFound names the plugin in a registry's NotFound fault.
func notFound(err error, name string) error {
	if fault.Is(err, fault.NotFound) {
		return fmt.Errorf("no plugin named %q: no such binary in the plugin directory and none recorded", name)
	}
	return err
}

// pluginJSON is one plugin in "plein plugins list --json".
type pluginJSON struct {
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version,omitempty"`
	Enabled bool   `json:"enabled"`
	State   string `json:"state"`
	Scope   string `json:"scope"`
	// Spaces and Roles are null for every space (role).
	Spaces     []string  `json:"spaces"`
	Roles      []string  `json:"roles"`
	SHA256     string    `json:"sha256"`
	Path       string    `json:"path,omitempty"`
	Refused    string    `json:"refused,omitempty"`
	Failures   int       `json:"failures"`
	LastError  string    `json:"last_error,omitempty"`
	Generation int64     `json:"generation"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

func (c cli) pluginsList(p pluginRun) error {
	recs, err := p.reg.Scan(p.ctx)
	if err != nil {
		return err
	}
	if *p.flags.(*bool) {
		out := make([]pluginJSON, 0, len(recs))
		for _, r := range recs {
			j := pluginJSON{Name: r.Name, Enabled: r.Enabled, State: stateOf(r), Scope: scopeOf(r.Spaces, r.Roles),
				Spaces: r.Spaces, Roles: r.Roles, SHA256: r.SHA256, Path: r.Path, Refused: r.Refused,
				Failures: r.Failures, LastError: r.LastError, Generation: r.Generation, UpdatedAt: r.UpdatedAt}
			if r.Manifest != nil {
				j.Title, j.Version = r.Manifest.Title, r.Manifest.Version
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(recs) == 0 {
		fmt.Fprintf(c.stdout, "no plugins: none in %s and none recorded\n", p.reg.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tENABLED\tSTATE\tSCOPE\tCHECKSUM")
	var notes []string
	for _, r := range recs {
		version := "-"
		if r.Manifest != nil && r.Manifest.Version != "" {
			version = r.Manifest.Version
		}
		enabled := "no"
		if r.Enabled {
			enabled = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, version, enabled, stateOf(r), scopeOf(r.Spaces, r.Roles), shortSum(r.SHA256))
		switch {
		case r.Refused != "":
			notes = append(notes, fmt.Sprintf("%s: refused: %s", r.Name, r.Refused))
		case r.State == pluginhost.StateFailed && r.LastError != "":
			notes = append(notes, fmt.Sprintf("%s: failed: %s (plein plugins reset %s tries it again)", r.Name, r.LastError, r.Name))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintf(c.stdout, "\n%s\n", strings.Join(notes, "\n"))
	}
	return nil
}

// stateOf is the plugin's state as this command sees it: refused if its binary here
// is missing or not the approved one, else what a replica last reported.
func stateOf(r pluginhost.Record) string {
	switch {
	case r.Refused != "":
		return string(pluginhost.StateRefused)
	case r.State == "":
		return string(pluginhost.StateStopped)
	}
	return string(r.State)
}

// scopeOf describes where and for whom a plugin is on: "everyone", or
// "spaces=a,b roles=c" with a list left out when it means all and "(none)" for an
// empty one.
func scopeOf(spaces, roles []string) string {
	if spaces == nil && roles == nil {
		return "everyone"
	}
	var parts []string
	for _, l := range []struct {
		name string
		list []string
	}{{"spaces", spaces}, {"roles", roles}} {
		switch {
		case l.list == nil:
		case len(l.list) == 0:
			parts = append(parts, l.name+"=(none)")
		default:
			parts = append(parts, l.name+"="+strings.Join(l.list, ","))
		}
	}
	return strings.Join(parts, " ")
}

// shortSum is the first 12 hex characters of a checksum.
func shortSum(sum string) string {
	if sum == "" {
		return "-"
	}
	return sum[:min(12, len(sum))]
}

func (c cli) pluginsInstall(p pluginRun) error {
	m, err := p.reg.Install(p.ctx, p.args[0])
	if err != nil {
		return err
	}
	rec, err := p.reg.Get(p.ctx, m.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "installed %s %s (sha256 %s) as %s\n", m.Name, m.Version, rec.SHA256, rec.Path)
	if rec.Enabled {
		fmt.Fprintf(c.stdout, "%s is enabled (%s): the servers restart it on the new binary\n", m.Name, scopeOf(rec.Spaces, rec.Roles))
	} else {
		fmt.Fprintf(c.stdout, "%s is disabled: turn it on with \"plein plugins enable %s\"\n", m.Name, m.Name)
	}
	return nil
}

func (c cli) pluginsEnable(p pluginRun) error {
	name, s := p.args[0], p.flags.(*scopeFlags)
	if _, err := p.reg.Get(p.ctx, name); err != nil { // records a binary seen for the first time
		return notFound(err, name)
	}
	// The scope is replaced: an option left out means every space (role).
	spaces, roles := []string(s.spaces), []string(s.roles)
	on := true
	rec, err := p.reg.SetState(p.ctx, name, pluginhost.StateUpdate{Enabled: &on, Spaces: &spaces, Roles: &roles})
	if err != nil {
		return notFound(err, name)
	}
	fmt.Fprintf(c.stdout, "enabled %s for %s\n", name, scopeOf(rec.Spaces, rec.Roles))
	if rec.Refused != "" {
		fmt.Fprintf(c.stdout, "but it does not run: %s\n", rec.Refused)
	}
	return nil
}

func (c cli) pluginsDisable(p pluginRun) error {
	name := p.args[0]
	if _, err := p.reg.Get(p.ctx, name); err != nil {
		return notFound(err, name)
	}
	off := false
	if _, err := p.reg.SetState(p.ctx, name, pluginhost.StateUpdate{Enabled: &off}); err != nil {
		return notFound(err, name)
	}
	fmt.Fprintf(c.stdout, "disabled %s\n", name)
	return nil
}

func (c cli) pluginsApprove(p pluginRun) error {
	name := p.args[0]
	if err := p.reg.Approve(p.ctx, name); err != nil {
		if fault.Is(err, fault.NotFound) {
			return fmt.Errorf("no plugin named %q: no such binary in %s", name, p.reg.Dir())
		}
		return err
	}
	rec, err := p.reg.Get(p.ctx, name)
	if err != nil {
		return notFound(err, name)
	}
	fmt.Fprintf(c.stdout, "approved %s (sha256 %s)\n", name, rec.SHA256)
	return nil
}

func (c cli) pluginsReset(p pluginRun) error {
	name := p.args[0]
	if _, err := p.reg.Get(p.ctx, name); err != nil {
		return notFound(err, name)
	}
	if err := p.reg.Reset(p.ctx, name); err != nil {
		return notFound(err, name)
	}
	fmt.Fprintf(c.stdout, "reset %s: its failures are cleared\n", name)
	return nil
}
