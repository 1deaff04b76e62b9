// Command plein runs the Plein core: the HTTP API server and its admin subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/app"
	"github.com/pleinhq/plein/core/config"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

const usage = `plein: a headless social intranet.

Usage:
  plein serve [flags]     run the API server
  plein migrate [flags]   bring the database schema up to date and report its version
  plein version           print the version

Run "plein serve -h" for the flags; each has a PLEIN_* environment variable.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(rest, stderr, getenv)
	case "migrate":
		err = migrate(rest, stdout, stderr, getenv)
	case "version", "--version":
		fmt.Fprintln(stdout, "plein", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "plein: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "plein %s: %v\n", cmd, err)
		return 1
	}
}

func load(cmd string, args []string, stderr io.Writer, getenv func(string) string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load("plein "+cmd, args, getenv, stderr)
	if err != nil {
		return cfg, nil, err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// go-redis has one logger per process; send its lines through ours as JSON.
	redis.SetLogger(redisLogger{log})
	return cfg, log, nil
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func serve(args []string, stderr io.Writer, getenv func(string) string) error {
	cfg, log, err := load("serve", args, stderr, getenv)
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
	return a.Run(ctx)
}

func migrate(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, _, err := load("migrate", args, stderr, getenv)
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
		fmt.Fprintf(stdout, "%-8s %s\n", s.State, s.Source.Path)
	}
	fmt.Fprintf(stdout, "%s schema is up to date (%d migrations)\n", db.Dialect(), len(status))
	return nil
}
