package plugintest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Logger returns a debug-level logger that writes to t.Log until the test ends and
// drops lines after, when a plugin goroutine or process may still be logging.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testWriter writes log lines to t.Log until the test ends, then drops them: a
// plugin goroutine logging late must not panic the test binary.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
