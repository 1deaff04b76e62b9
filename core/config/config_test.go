package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreTheEmbeddedMode(t *testing.T) {
	c, err := config.Load("plein", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.IsPostgres() || c.RedisURL != "" || c.S3.Enabled() {
		t.Fatalf("defaults: %+v", c)
	}
	if c.SQLitePath() != filepath.Join("data", "plein.db") || c.BlobDir() != filepath.Join("data", "blobs") {
		t.Fatalf("paths: %s %s", c.SQLitePath(), c.BlobDir())
	}
	if c.BodyLimit != 1<<20 || c.ShutdownTimeout != 30*time.Second || c.LogLevel != slog.LevelInfo {
		t.Fatalf("limits: %+v", c)
	}
	if !strings.HasSuffix(c.PluginDir, "plugins") {
		t.Fatalf("plugin dir %q", c.PluginDir)
	}
}

func TestFlagsOverrideEnvironmentOverridesDefaults(t *testing.T) {
	e := env(map[string]string{"PLEIN_ADDR": "127.0.0.1:9000", "PLEIN_DATA_DIR": "/srv/plein", "PLEIN_LOG_LEVEL": "debug"})
	c, err := config.Load("plein", []string{"--addr", "127.0.0.1:9001"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" || c.DataDir != "/srv/plein" || c.LogLevel != slog.LevelDebug {
		t.Fatalf("got %+v", c)
	}
}

func TestProductionSettings(t *testing.T) {
	c, err := config.Load("plein", nil, env(map[string]string{
		"PLEIN_DATABASE_URL":  "postgres://plein:pw@db:5432/plein",
		"PLEIN_REDIS_URL":     "redis://:pw@cache:6379/1",
		"PLEIN_S3_ENDPOINT":   "https://s3.example.org",
		"PLEIN_S3_BUCKET":     "docs",
		"PLEIN_S3_ACCESS_KEY": "ak",
		"PLEIN_S3_SECRET_KEY": "sk",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsPostgres() || c.SQLitePath() != "" || c.S3.Endpoint != "s3.example.org" || !c.S3.UseSSL {
		t.Fatalf("got %+v", c)
	}
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"PLEIN_ADDR": "8080"}, nil, "PLEIN_ADDR"},
		{map[string]string{"PLEIN_ADDR": "127.0.0.1:99999"}, nil, "PLEIN_ADDR"},
		{nil, []string{"--addr", "nohost"}, "PLEIN_ADDR (--addr)"},
		{map[string]string{"PLEIN_DATABASE_URL": "mysql://x"}, nil, "PLEIN_DATABASE_URL"},
		{map[string]string{"PLEIN_DATABASE_URL": "postgres://"}, nil, "PLEIN_DATABASE_URL"},
		{map[string]string{"PLEIN_REDIS_URL": "http://cache"}, nil, "PLEIN_REDIS_URL"},
		{map[string]string{"PLEIN_S3_USE_SSL": "yes please"}, nil, "PLEIN_S3_USE_SSL"},
		{map[string]string{"PLEIN_S3_ENDPOINT": "minio:9000", "PLEIN_S3_ACCESS_KEY": "ak"}, nil, "PLEIN_S3_SECRET_KEY"},
		{map[string]string{"PLEIN_LOG_LEVEL": "loud"}, nil, "PLEIN_LOG_LEVEL"},
		{map[string]string{"PLEIN_DB_MAX_CONNS": "0"}, nil, "PLEIN_DB_MAX_CONNS"},
		{map[string]string{"PLEIN_BODY_LIMIT": "12 parsecs"}, nil, "PLEIN_BODY_LIMIT"},
		{map[string]string{"PLEIN_SHUTDOWN_TIMEOUT": "-1s"}, nil, "PLEIN_SHUTDOWN_TIMEOUT"},
		{nil, []string{"stray"}, "unexpected argument"},
	} {
		_, err := config.Load("plein", tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want one naming %s", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestEveryInvalidSettingIsReportedAtOnce(t *testing.T) {
	_, err := config.Load("plein", nil, env(map[string]string{"PLEIN_ADDR": "x", "PLEIN_LOG_LEVEL": "loud"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PLEIN_ADDR") || !strings.Contains(err.Error(), "PLEIN_LOG_LEVEL") {
		t.Fatalf("got %v", err)
	}
}

func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	_, err := config.Load("plein", nil, env(map[string]string{"PLEIN_DATABASE_URL": "postgres://u:hunter2@db:5432/x%zz"}), io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v (must fail without echoing the password)", err)
	}
	c, err := config.Load("plein", nil, env(map[string]string{
		"PLEIN_DATABASE_URL":  "postgres://u:hunter2@db:5432/x",
		"PLEIN_REDIS_URL":     "redis://:hunter3@cache:6379",
		"PLEIN_S3_ENDPOINT":   "minio:9000",
		"PLEIN_S3_ACCESS_KEY": "ak",
		"PLEIN_S3_SECRET_KEY": "hunter4",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "config", c)
	for _, secret := range []string{"hunter2", "hunter3", "hunter4"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log line holds %s: %s", secret, buf.String())
		}
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	var out bytes.Buffer
	_, err := config.Load("plein serve", []string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "PLEIN_DATABASE_URL") {
		t.Fatalf("err %v, usage %q", err, out.String())
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "64KiB": 64 << 10, "1MiB": 1 << 20, "2 GiB": 2 << 30, "100MB": 100 << 20} {
		got, err := config.ParseSize(in)
		if err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1TiB", "lots", "9999999999999GiB"} {
		if _, err := config.ParseSize(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
