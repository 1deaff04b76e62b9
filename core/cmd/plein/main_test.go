package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/internal/testsvc"
)

// binary is the plein executable built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plein-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "plein")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build plein:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running plein serve.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan error
}

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

// startPlein runs plein serve with env on a free port and waits until /healthz answers.
func startPlein(t *testing.T, env ...string) *proc {
	t.Helper()
	addr := testsvc.FreeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), append([]string{"PLEIN_ADDR=" + addr, "PLEIN_DATA_DIR=" + t.TempDir()}, env...)...)
	p := &proc{t: t, cmd: cmd, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("plein logs:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("plein exited at start: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("plein did not answer /healthz\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls path until it answers want, for a backend that is coming or going.
func (p *proc) waitStatus(path string, want int) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := p.get(path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("GET %s: %d %s, want %d", path, code, body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type readiness struct {
	Status json.RawMessage `json:"status"` // "ready", or the problem's numeric status
	Code   string          `json:"code"`
	Detail string          `json:"detail"`
	Checks map[string]struct {
		Status  string `json:"status"`
		Backend string `json:"backend"`
	} `json:"checks"`
}

func parseReady(t *testing.T, body string) readiness {
	t.Helper()
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return r
}

func TestServeEmbeddedModeIsReadyWithSQLiteAndLocalBlobs(t *testing.T) {
	p := startPlein(t)
	code, body := p.get("/readyz")
	r := parseReady(t, body)
	if code != 200 || r.Checks["sql"].Backend != "sqlite" || r.Checks["blob"].Backend != "local" {
		t.Fatalf("%d %s", code, body)
	}
	if _, ok := r.Checks["redis"]; ok {
		t.Fatal("redis checked in the embedded mode")
	}
	_, metrics := p.get("/metrics")
	for _, want := range []string{`plein_http_requests_total{method="GET",route="/readyz",status="200"} 1`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestServeProductionModeReportsEachBackendAndARedisOutage(t *testing.T) {
	s3 := testsvc.S3(t)
	rp := testsvc.StartRedis(t)
	p := startPlein(t,
		"PLEIN_DATABASE_URL="+testsvc.PostgresURL(t),
		"PLEIN_REDIS_URL="+rp.URL(),
		"PLEIN_S3_ENDPOINT="+s3.Endpoint,
		"PLEIN_S3_BUCKET="+s3.Bucket,
		"PLEIN_S3_ACCESS_KEY="+s3.AccessKey,
		"PLEIN_S3_SECRET_KEY="+s3.SecretKey,
	)
	r := parseReady(t, p.waitStatus("/readyz", 200))
	for name, backend := range map[string]string{"sql": "postgres", "blob": "s3", "redis": "redis"} {
		if c := r.Checks[name]; c.Backend != backend || c.Status != "ok" {
			t.Errorf("%s: %+v, want %s ok", name, c, backend)
		}
	}

	rp.Stop()
	r = parseReady(t, p.waitStatus("/readyz", 503))
	if r.Code != "not_ready" || !strings.Contains(r.Detail, "redis") || r.Checks["redis"].Status != "failing" || r.Checks["sql"].Status != "ok" {
		t.Fatalf("during the outage: %+v", r)
	}
	if code, _ := p.get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d during a redis outage", code)
	}

	rp.Start()
	p.waitStatus("/readyz", 200)
	if strings.Contains(p.logs.String(), s3.SecretKey) {
		t.Fatal("the S3 secret key is in the logs")
	}
}

// A request in flight when SIGTERM arrives completes, then the process exits 0.
// The request is /readyz held up by a real Redis busy in DEBUG SLEEP.
func TestSIGTERMLetsInFlightRequestsFinishThenExitsZero(t *testing.T) {
	rp := testsvc.StartRedis(t)
	p := startPlein(t, "PLEIN_REDIS_URL="+rp.URL())
	p.waitStatus("/readyz", 200)

	opts, _ := redis.ParseURL(rp.URL())
	sleeper := redis.NewClient(opts)
	defer sleeper.Close()
	go sleeper.Do(context.Background(), "DEBUG", "SLEEP", "1.5")
	time.Sleep(100 * time.Millisecond) // let Redis start sleeping before we ask it

	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{resp.StatusCode, string(b), err}
	}()

	// Wait until the server counts the /readyz request (and this /metrics one) in flight.
	inFlight := regexp.MustCompile(`(?m)^plein_http_requests_in_flight (\d+)`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, m := p.get("/metrics")
		if g := inFlight.FindStringSubmatch(m); g != nil {
			if n, _ := strconv.Atoi(g[1]); n >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the /readyz request never got in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil || a.code != 200 || !strings.Contains(a.body, `"ready"`) {
		t.Fatalf("in-flight request: %d %q %v", a.code, a.body, a.err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("plein did not exit after SIGTERM")
	}
	if !strings.Contains(p.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the logs:\n%s", p.logs.String())
	}
}

func TestInvalidConfigurationFailsAtStartNamingTheSetting(t *testing.T) {
	for _, tc := range []struct {
		env, want string
	}{
		{"PLEIN_ADDR=not-an-address", "PLEIN_ADDR"},
		{"PLEIN_DATABASE_URL=postgres://u:topsecret@127.0.0.1:1/x?connect_timeout=2", "PLEIN_DATABASE_URL"},
		{"PLEIN_REDIS_URL=redis://127.0.0.1:1", "PLEIN_REDIS_URL"},
		{"PLEIN_S3_ENDPOINT=127.0.0.1:1", "PLEIN_S3_ACCESS_KEY"},
	} {
		cmd := exec.Command(binary, "serve")
		cmd.Env = append(os.Environ(), "PLEIN_DATA_DIR="+t.TempDir(), "PLEIN_ADDR="+testsvc.FreeAddr(t), tc.env)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want 1\n%s", tc.env, err, out)
		}
		if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "topsecret") {
			t.Errorf("%s: output does not name %s (or leaks a secret):\n%s", tc.env, tc.want, out)
		}
	}
}

func TestMigrateReportsTheSchema(t *testing.T) {
	cmd := exec.Command(binary, "migrate", "--data-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sqlite schema is up to date") || !strings.Contains(string(out), "applied") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestCommandLine(t *testing.T) {
	var out, errs bytes.Buffer
	env := func(string) string { return "" }
	if code := run([]string{"version"}, nil, &out, &errs, env); code != 0 || !strings.HasPrefix(out.String(), "plein ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, nil, &out, &errs, env); code != 2 || !strings.Contains(errs.String(), "unknown command") {
		t.Fatalf("unknown: %d %q", code, errs.String())
	}
	if code := run(nil, nil, &out, &errs, env); code != 2 {
		t.Fatalf("no args: %d", code)
	}
	errs.Reset()
	if code := run([]string{"serve", "-h"}, nil, &out, &errs, env); code != 0 || !strings.Contains(errs.String(), "PLEIN_REDIS_URL") {
		t.Fatalf("serve -h: %d %q", code, errs.String())
	}
}
