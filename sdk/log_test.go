package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogLinesUseTheKeysGoPluginRelays(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, "debug"))
	log.Warn("disk low", "free", 3, slog.Group("g", "time", "kept"))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["@message"] != "disk low" || line["@level"] != "warn" || line["free"] != 3.0 {
		t.Fatalf("line = %v", line)
	}
	if _, err := time.Parse(hclogTime, line["@timestamp"].(string)); err != nil {
		t.Fatalf("go-plugin cannot parse the timestamp: %v", err)
	}
	if g := line["g"].(map[string]any); g["time"] != "kept" {
		t.Fatalf("a grouped attribute was renamed: %v", g)
	}
}

func TestLogLevelComesFromTheEnvironmentValue(t *testing.T) {
	for level, wantDebug := range map[string]bool{"debug": true, "info": false, "": false, "nonsense": false} {
		var buf bytes.Buffer
		slog.New(newLogHandler(&buf, level)).Debug("detail")
		if got := strings.Contains(buf.String(), "detail"); got != wantDebug {
			t.Errorf("level %q: debug logged = %v, want %v", level, got, wantDebug)
		}
	}
}
