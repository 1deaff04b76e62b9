package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
)

// The generator against a real server: plein built here, the likes and votes plugins,
// the demo grown a little on SQLite, every operation for a second and a half, and not
// one error.
func TestMixedLoadAgainstAServerHasNoErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a server")
	}
	dir := t.TempDir()
	plein := filepath.Join(dir, "plein")
	if out, err := exec.Command("go", "build", "-o", plein, "../plein").CombinedOutput(); err != nil {
		t.Fatalf("build plein: %v\n%s", err, out)
	}
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"likes", "votes"} {
		data, err := os.ReadFile(testsvc.BundledPlugin(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plugins, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := testsvc.FreeAddr(t)
	env := append(os.Environ(), "PLEIN_DATA_DIR="+filepath.Join(dir, "data"), "PLEIN_PLUGIN_DIR="+plugins, "PLEIN_ADDR="+addr,
		"PLEIN_LOG_LEVEL=warn", "PLEIN_DATABASE_URL=", "PLEIN_REDIS_URL=", "PLEIN_S3_ENDPOINT=", "PLEIN_DEMO_PASSWORD=")
	manifest := filepath.Join(dir, "manifest.json")
	for _, args := range [][]string{
		{"seed", "demo", "--enable-plugins"},
		{"seed", "scale", "--users", "30", "--items", "400", "--likes", "2000", "--documents", "3", "--document-kib", "8", "--manifest", manifest},
	} {
		cmd := exec.Command(plein, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("plein %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	logs := &syncBuffer{}
	srv := exec.Command(plein, "serve")
	srv.Env, srv.Stderr = env, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	a := newAPI(base, 4)
	ctx := context.Background()
	testsvc.Eventually(t, "the server is ready", 20*time.Second, func() bool {
		code, _, err := a.do(ctx, "GET", "/readyz", "", nil)
		return err == nil && code == 200
	})
	mgr, err := a.login(ctx, []string{"manager@demo.plein"}, "plein-demo")
	if err != nil {
		t.Fatal(err)
	}
	testsvc.Eventually(t, "both plugins run", 20*time.Second, func() bool {
		code, body, err := a.do(ctx, "GET", "/api/v1/admin/plugins", mgr[0].token, nil)
		return err == nil && code == 200 && strings.Count(string(body), `"state":"running"`) == 2
	})

	cfg, err := parseFlags([]string{"-url", base, "-manifest", manifest, "-c", "6", "-users", "12", "-duration", "1500ms",
		"-pid", itoa(srv.Process.Pid), "-isolate", "like", "-isolate-duration", "300ms"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	mix := rep.Phases[0]
	for _, op := range reportOrder {
		i := slicesIndex(mix.Rows, op)
		if i < 0 || mix.Rows[i].Count == 0 || mix.Rows[i].Errors > 0 {
			t.Errorf("%s: no requests, or errors", op)
		}
	}
	if len(rep.Phases) != 2 || rep.Phases[1].Rows[0].Op != "like" || rep.Phases[1].errors() > 0 {
		t.Errorf("like alone: %+v", rep.Phases[1:])
	}
	// The server, its two plugins and the generator itself.
	if len(rep.Memory) != 4 || rep.Memory[0].Proc.pid != srv.Process.Pid || rep.Memory[0].PeakKiB == 0 || rep.Memory[0].CPUSeconds() <= 0 {
		t.Errorf("memory of the server, its two plugins and the generator: %+v", rep.Memory)
	}
}

func slicesIndex(rows []row, op string) int {
	for i, r := range rows {
		if r.Op == op {
			return i
		}
	}
	return -1
}

func itoa(n int) string { return strconv.Itoa(n) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
