package sdk

import (
	"io"
	"log/slog"
	"strings"
)

// newLogHandler returns a JSON slog handler for the plugin's stderr at level ("debug",
// "info", "warn", "error"; info otherwise). It names the time, level and message the
// way hclog does, so the host's go-plugin client relays each line at its level with
// its attributes instead of as an opaque string.
func newLogHandler(w io.Writer, level string) slog.Handler {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.TimeKey:
			return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
		case slog.LevelKey:
			return slog.String("@level", strings.ToLower(a.Value.String()))
		case slog.MessageKey:
			return slog.String("@message", a.Value.String())
		}
		return a
	}})
}

// hclogTime is the timestamp layout go-plugin's client parses.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"
