package hclogslog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLinesKeepTheirLevelNameAndArgs(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Named("plugin").Named("likes").With("pid", 42).Warn("slow", "ms", 900)
	l.Debug("hidden")
	out := buf.String()
	for _, want := range []string{"level=WARN", "msg=slow", "logger=plugin.likes", "pid=42", "ms=900"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
	if strings.Contains(out, "hidden") || strings.Count(out, "logger=") != 1 {
		t.Errorf("output %q", out)
	}
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Errorf("levels: debug %v info %v get %v", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}
	if got := l.With("a", 1).ImpliedArgs(); len(got) != 2 {
		t.Errorf("implied args %v", got)
	}
}
