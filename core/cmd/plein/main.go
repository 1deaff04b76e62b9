// Command plein runs the Plein core: the HTTP API server and its admin subcommands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/app"
	"github.com/pleinhq/plein/core/config"
	"github.com/pleinhq/plein/core/demo"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/pluginhost"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

const usage = `plein: a headless social intranet.

Usage:
  plein serve [flags]                 run the API server
  plein migrate [flags]               bring the database schema up to date
  plein users create --email E --name N [--role R]... --password-stdin
                                      add a user (password read from standard input)
  plein seed demo [--if-empty]        create the demo organisation (190 users, 21 roles)
  plein seed scale [--users N] [--items N] [--likes N] [--documents N] [--manifest FILE]
                                      grow the demo organisation for a load benchmark
  plein plugins list [--json]         list the plugins and their state
  plein plugins install PATH          copy a plugin binary into the plugin directory
  plein plugins enable NAME [--space ID]... [--role R]...
                                      turn a plugin on, for everyone unless narrowed
  plein plugins disable NAME          turn a plugin off
  plein plugins approve NAME          accept a plugin binary that changed
  plein plugins reset NAME            clear a plugin's failed state
  plein version                       print the version

Every command takes the server's flags; each has a PLEIN_* environment variable.
Run "plein serve -h" to see them.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cli carries a command's input and output.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes one subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := cli{stdin, stdout, stderr, getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "plugins" {
		return c.plugins(rest)
	}
	if (cmd == "users" || cmd == "seed") && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = c.serve(rest)
	case "migrate":
		err = c.migrate(rest)
	case "users create":
		err = c.createUser(rest)
	case "seed demo":
		err = c.seedDemo(rest)
	case "seed scale":
		err = c.seedScale(rest)
	case "version", "--version":
		fmt.Fprintln(stdout, "plein", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "plein: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "plein %s: %v\n", cmd, err)
		return 1
	}
}

// flags returns a flag set with every configuration flag; finish parses args into it.
func (c cli) flags(cmd string) (*flag.FlagSet, func(args []string) (config.Config, *slog.Logger, error)) {
	fs := flag.NewFlagSet("plein "+cmd, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	finish := config.Register(fs, c.getenv)
	return fs, func(args []string) (config.Config, *slog.Logger, error) {
		if err := fs.Parse(args); err != nil {
			return config.Config{}, nil, err
		}
		if fs.NArg() > 0 {
			return config.Config{}, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		cfg, err := finish()
		if err != nil {
			return cfg, nil, err
		}
		log := slog.New(slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
		// go-redis has one logger per process; send its lines through ours as JSON.
		redis.SetLogger(redisLogger{log})
		return cfg, log, nil
	}
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func (c cli) serve(args []string) error {
	_, parse := c.flags("serve")
	cfg, log, err := parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer a.Close()
	go func() {
		<-ctx.Done()
		stop() // a second signal now kills the process at once
	}()
	if cfg.PprofAddr != "" {
		if err := servePprof(ctx, cfg.PprofAddr, log); err != nil {
			return err
		}
	}
	return a.Run(ctx)
}

func (c cli) migrate(args []string) error {
	_, parse := c.flags("migrate")
	cfg, _, err := parse(args)
	if err != nil {
		return err
	}
	db, err := app.OpenDB(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	status, err := db.MigrationStatus(context.Background())
	if err != nil {
		return err
	}
	for _, s := range status {
		fmt.Fprintf(c.stdout, "%-8s %s\n", s.State, s.Source.Path)
	}
	fmt.Fprintf(c.stdout, "%s schema is up to date (%d migrations)\n", db.Dialect(), len(status))
	return nil
}

// roleList is a repeatable --role flag.
type roleList []string

func (r *roleList) String() string     { return strings.Join(*r, ",") }
func (r *roleList) Set(v string) error { *r = append(*r, v); return nil }

func (c cli) createUser(args []string) error {
	fs, parse := c.flags("users create")
	email := fs.String("email", "", "the user's email address (required)")
	name := fs.String("name", "", "the user's name (required)")
	stdinPassword := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	var roles roleList
	fs.Var(&roles, "role", "a role to give the user; repeat for more")
	cfg, log, err := parse(args)
	if err != nil {
		return err
	}
	if *email == "" || *name == "" || !*stdinPassword {
		return errors.New("--email, --name and --password-stdin are required")
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Users.CreateUser(ctx, identity.NewUser{Email: *email, Name: *name, Password: password, Roles: roles})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created user %s <%s> with roles [%s], id %s\n", u.Name, u.Email, strings.Join(u.Roles, ", "), u.ID)
	return nil
}

func (c cli) seedDemo(args []string) error {
	fs, parse := c.flags("seed demo")
	ifEmpty := fs.Bool("if-empty", false, "seed only into a database without users, and say so either way")
	enablePlugins := fs.Bool("enable-plugins", false, "enable every plugin in the plugin directory, so a newcomer sees every feature")
	cfg, log, err := parse(args)
	if err != nil {
		return err
	}
	password := c.getenv("PLEIN_DEMO_PASSWORD")
	if password == "" {
		password = defaultDemoPassword
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer a.Close()
	if n, err := a.Users.CountUsers(ctx); err != nil {
		return err
	} else if n > 0 {
		if *ifEmpty {
			fmt.Fprintf(c.stdout, "The database already has %d users; the demo organisation was not seeded.\n", n)
			return nil
		}
		return fmt.Errorf("the database already has %d users; seed the demo into an empty one", n)
	}
	org, err := demo.Seed(ctx, demo.Services{Users: a.Users, Spaces: a.Spaces, Content: a.Content}, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Seeded the demo organisation: %d users in %d roles, %d spaces, %d memberships, %d posts with pages and comments.\n",
		len(org.Users), len(org.Roles), len(org.Spaces), org.Members, org.Items)
	if password == defaultDemoPassword {
		fmt.Fprintf(c.stdout, "Every demo user's password is %q (set PLEIN_DEMO_PASSWORD to choose another). Sample logins:\n\n", password)
	} else {
		fmt.Fprintf(c.stdout, "Every demo user's password is the one in PLEIN_DEMO_PASSWORD. Sample logins:\n\n")
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tEMAIL\tNAME")
	for _, l := range org.Logins {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Kind, l.Email, l.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !*enablePlugins {
		return nil
	}
	return c.enableAllPlugins(ctx, a)
}

// enableAllPlugins turns on, for everyone, every plugin in the plugin directory whose
// binary is not refused.
func (c cli) enableAllPlugins(ctx context.Context, a *app.App) error {
	all, err := a.Plugins.Plugins(ctx)
	if err != nil {
		return err
	}
	var names []string
	yes := true
	for _, p := range all {
		if p.State == pluginhost.StateRefused {
			fmt.Fprintf(c.stdout, "Plugin %s is refused (%s); not enabled.\n", p.Name, p.Error)
			continue
		}
		if _, err := a.Plugins.SetState(ctx, p.Name, pluginhost.StateUpdate{Enabled: &yes}); err != nil {
			return err
		}
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		fmt.Fprintf(c.stdout, "\nNo plugins in %s to enable.\n", a.Plugins.Dir())
		return nil
	}
	fmt.Fprintf(c.stdout, "\nEnabled for everyone: %s (managers turn them off at PUT /api/v1/admin/plugins/{name}).\n", strings.Join(names, ", "))
	return nil
}

// defaultDemoPassword is every demo user's password unless PLEIN_DEMO_PASSWORD says otherwise.
const defaultDemoPassword = "plein-demo"
