// Package hclogslog lets go-plugin, which logs through hclog, log through log/slog.
package hclogslog

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// New returns an hclog.Logger that writes to l. Trace maps to slog's Debug-4.
func New(l *slog.Logger) hclog.Logger {
	return &logger{base: l, l: l}
}

// logger writes to l, which is base with the name added; base carries the With args.
type logger struct {
	base    *slog.Logger
	l       *slog.Logger
	name    string
	implied []any
}

func (g *logger) derive(base *slog.Logger, name string, implied []any) *logger {
	l := base
	if name != "" {
		l = base.With("logger", name)
	}
	return &logger{base: base, l: l, name: name, implied: implied}
}

const levelTrace = slog.LevelDebug - 4

func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (g *logger) Log(level hclog.Level, msg string, args ...any) {
	g.l.Log(context.Background(), toSlog(level), msg, args...)
}

func (g *logger) Trace(msg string, args ...any) { g.Log(hclog.Trace, msg, args...) }
func (g *logger) Debug(msg string, args ...any) { g.Log(hclog.Debug, msg, args...) }
func (g *logger) Info(msg string, args ...any)  { g.Log(hclog.Info, msg, args...) }
func (g *logger) Warn(msg string, args ...any)  { g.Log(hclog.Warn, msg, args...) }
func (g *logger) Error(msg string, args ...any) { g.Log(hclog.Error, msg, args...) }

func (g *logger) enabled(level hclog.Level) bool {
	return g.l.Enabled(context.Background(), toSlog(level))
}

func (g *logger) IsTrace() bool { return g.enabled(hclog.Trace) }
func (g *logger) IsDebug() bool { return g.enabled(hclog.Debug) }
func (g *logger) IsInfo() bool  { return g.enabled(hclog.Info) }
func (g *logger) IsWarn() bool  { return g.enabled(hclog.Warn) }
func (g *logger) IsError() bool { return g.enabled(hclog.Error) }

func (g *logger) ImpliedArgs() []any { return g.implied }

func (g *logger) With(args ...any) hclog.Logger {
	return g.derive(g.base.With(args...), g.name, append(g.implied[:len(g.implied):len(g.implied)], args...))
}

func (g *logger) Name() string { return g.name }

func (g *logger) Named(name string) hclog.Logger {
	if g.name != "" {
		name = g.name + "." + name
	}
	return g.ResetNamed(name)
}

func (g *logger) ResetNamed(name string) hclog.Logger {
	return g.derive(g.base, name, g.implied)
}

// SetLevel does nothing: the slog handler decides the level.
func (g *logger) SetLevel(hclog.Level) {}

func (g *logger) GetLevel() hclog.Level {
	for _, level := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if g.enabled(level) {
			return level
		}
	}
	return hclog.Error
}

func (g *logger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(g.StandardWriter(opts), "", 0)
}

func (g *logger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(g.l.Handler(), slog.LevelInfo).Writer()
}
