// Package testsvc connects tests to the PostgreSQL, Redis and MinIO servers that
// scripts/services.sh starts on loopback.
//
// When a server's variable is unset, the test is skipped, unless
// PLEIN_TEST_REQUIRE_SERVICES=1 (make test sets it): then it fails, so CI can never
// pass by skipping the real-server suites.
package testsvc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema setup
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"

	"github.com/pleinhq/plein/core/config"
)

// The environment variables scripts/services.sh exports.
const (
	EnvRequire     = "PLEIN_TEST_REQUIRE_SERVICES"
	EnvPostgresURL = "PLEIN_TEST_POSTGRES_URL"
	EnvRedisURL    = "PLEIN_TEST_REDIS_URL"
	EnvS3Endpoint  = "PLEIN_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "PLEIN_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "PLEIN_TEST_S3_SECRET_KEY"
	EnvRedisServer = "PLEIN_TEST_REDIS_SERVER" // path of the redis-server binary
	EnvMinIOServer = "PLEIN_TEST_MINIO_SERVER" // path of the minio binary
)

// need returns the value of env, or skips (or fails, under make test) the test without it.
func need(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s is required (%s unset); run the tests with `make test`", what, env)
	}
	t.Skipf("%s unavailable: %s unset (make test starts it)", what, env)
	return ""
}

// Name returns a short random identifier for per-test schemas, buckets and key prefixes.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// PostgresURL returns a DSN whose search_path is a new, empty schema, dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := need(t, EnvPostgresURL, "PostgreSQL")
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	schema := Name("t_")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		_ = db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns the URL of the test Redis server.
func RedisURL(t testing.TB) string {
	t.Helper()
	return need(t, EnvRedisURL, "Redis")
}

// Redis returns a client of the test Redis server, closed when the test ends.
// Tests share the server: keep keys under a prefix from Name.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	return c
}

// S3 returns settings for a new bucket on the test MinIO server, emptied and removed when the test ends.
func S3(t testing.TB) config.S3 {
	t.Helper()
	s := config.S3{
		Endpoint:  need(t, EnvS3Endpoint, "MinIO"),
		AccessKey: need(t, EnvS3AccessKey, "MinIO"),
		SecretKey: need(t, EnvS3SecretKey, "MinIO"),
		Bucket:    strings.ReplaceAll(Name("t-"), "_", "-"),
	}
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatalf("minio: %v", err)
	}
	t.Cleanup(func() { RemoveBucket(t, c, s.Bucket) })
	return s
}

// RemoveBucket deletes every object in bucket and then the bucket; a missing bucket is fine.
func RemoveBucket(t testing.TB, c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if ok, err := c.BucketExists(ctx, bucket); err != nil || !ok {
		return
	}
	objects := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for e := range c.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		t.Logf("remove %s/%s: %v", bucket, e.ObjectName, e.Err)
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Logf("remove bucket %s: %v", bucket, err)
	}
}

// RedisServer returns the path of a redis-server binary, for tests that run their own.
func RedisServer(t testing.TB) string {
	t.Helper()
	return need(t, EnvRedisServer, "redis-server binary")
}

// MinIOServer returns the path of a minio binary, for tests that run their own.
func MinIOServer(t testing.TB) string {
	t.Helper()
	return need(t, EnvMinIOServer, "minio binary")
}

// RedisProcess is a redis-server of the test's own, which it may stop and start again.
type RedisProcess struct {
	Addr string
	t    testing.TB
	bin  string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a private redis-server on a free loopback port; it is stopped when the test ends.
func StartRedis(t testing.TB) *RedisProcess {
	t.Helper()
	r := &RedisProcess{t: t, bin: RedisServer(t), dir: t.TempDir(), Addr: FreeAddr(t)}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL returns the redis:// URL of the process.
func (r *RedisProcess) URL() string { return "redis://" + r.Addr + "/0" }

// Start starts the server (again) on its address and waits until it answers.
func (r *RedisProcess) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--enable-debug-command", "local")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	WaitTCP(r.t, r.Addr, 10*time.Second)
}

// Stop kills the server and waits for it to exit; stopping a stopped server does nothing.
func (r *RedisProcess) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitTCP waits until addr accepts connections, failing the test after d.
func WaitTCP(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections within %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MinIOProcess is a MinIO server of the test's own, which it may stop and start again
// with its data kept.
type MinIOProcess struct {
	Addr      string
	AccessKey string
	SecretKey string
	t         testing.TB
	bin       string
	dir       string
	cmd       *exec.Cmd
}

// StartMinIO starts a private MinIO on a free loopback port with its data in a temporary
// directory; it is stopped when the test ends.
func StartMinIO(t testing.TB) *MinIOProcess {
	t.Helper()
	m := &MinIOProcess{t: t, bin: MinIOServer(t), dir: t.TempDir(), Addr: FreeAddr(t),
		AccessKey: "plein-private", SecretKey: Name("secret")}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start starts the server (again) on its address and data and waits until it is live.
func (m *MinIOProcess) Start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "server", "--quiet", "--address", m.Addr, "--console-address", FreeAddr(m.t), m.dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey, "MINIO_BROWSER=off")
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start minio: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + m.Addr + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("minio on %s did not come up: %v", m.Addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server at once (as a crash would) and waits for it to exit; stopping a
// stopped server does nothing.
func (m *MinIOProcess) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
}

// Client returns a minio-go client for the server.
func (m *MinIOProcess) Client() *minio.Client {
	m.t.Helper()
	c, err := minio.New(m.Addr, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// Eventually polls check every 10 ms until it holds and returns how long that took,
// failing the test after limit.
func Eventually(t testing.TB, what string, limit time.Duration, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

var plugins struct {
	sync.Mutex
	dir   string
	built map[string]error
}

// ExamplePlugin returns the path of the SDK's example plugin name
// (sdk/examples/<name>/cmd/<name>), built once per test process, without -race: a
// race-built plugin launches several times slower, and its races are the SDK's tests'.
func ExamplePlugin(t testing.TB, name string) string {
	t.Helper()
	return buildPlugin(t, "example-"+name, "github.com/pleinhq/plein/sdk/examples/"+name+"/cmd/"+name)
}

// BundledPlugin returns the path of the bundled plugin name (plugins/<name>), built
// once per test process, without -race, like ExamplePlugin.
func BundledPlugin(t testing.TB, name string) string {
	t.Helper()
	return buildPlugin(t, name, "github.com/pleinhq/plein/plugins/"+name)
}

func buildPlugin(t testing.TB, file, pkg string) string {
	t.Helper()
	plugins.Lock()
	defer plugins.Unlock()
	if plugins.dir == "" {
		dir, err := os.MkdirTemp("", "plein-test-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		plugins.dir, plugins.built = dir, map[string]error{}
	}
	path := filepath.Join(plugins.dir, file)
	err, done := plugins.built[file]
	if !done {
		out, buildErr := exec.Command("go", "build", "-o", path, pkg).CombinedOutput()
		if buildErr != nil {
			buildErr = fmt.Errorf("build the plugin %s: %v\n%s", pkg, buildErr, out)
		}
		err, plugins.built[file] = buildErr, buildErr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}
