// Package config reads Plein's settings from flags and PLEIN_* environment variables.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of a plein process. The zero value is not useful: use Load.
type Config struct {
	Addr            string        // listen address, host:port
	DataDir         string        // SQLite file and local blobs live here in the embedded mode
	DatabaseURL     string        // empty: SQLite at DataDir/plein.db
	RedisURL        string        // empty: in-process cache, bus and rate limits
	S3              S3            // empty endpoint: blobs in DataDir/blobs
	PluginDir       string        // where plugin binaries are found
	LogLevel        slog.Level    // debug, info, warn, error
	DBMaxConns      int           // connection pool size
	BodyLimit       int64         // bytes accepted in a JSON request body
	ShutdownTimeout time.Duration // how long in-flight requests get after SIGTERM
	TokenTTL        time.Duration // how long a login lasts
	TrustedProxies  []string      // load balancers whose X-Forwarded-For names the client
	SearchLanguage  string        // PostgreSQL text search configuration
	RedisPrefix     string        // prefix of every Redis key and channel
	UploadLimit     int64         // bytes one uploaded file may have
	TrashRetention  time.Duration // how long deleted documents can be restored before purge
	PresignTTL      time.Duration // >0 with S3: downloads redirect to a presigned URL valid this long
	SweepInterval   time.Duration // how often unfinished uploads and the trash are cleaned up
	UploadSlots     int           // uploads one server streams at once
	PprofAddr       string        // loopback host:port serving net/http/pprof; empty: off
}

// S3 holds the object store settings.
type S3 struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	UseSSL    bool
}

// Enabled reports whether an S3 endpoint is configured.
func (s S3) Enabled() bool { return s.Endpoint != "" }

// SQLitePath returns the SQLite database file, or "" when DatabaseURL selects PostgreSQL.
func (c Config) SQLitePath() string {
	if c.IsPostgres() {
		return ""
	}
	if p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:"); ok {
		return p
	}
	return filepath.Join(c.DataDir, "plein.db")
}

// IsPostgres reports whether DatabaseURL selects PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// BlobDir returns the local blob directory used when S3 is not configured.
func (c Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// setting is one configuration value: its environment variable, flag, default and parser.
type setting struct {
	env, flag, def, usage string
	set                   func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
		{"PLEIN_ADDR", "addr", "127.0.0.1:8080", "listen address (host:port)", func(c *Config, v string) error {
			_, port, err := net.SplitHostPort(v) // an empty host listens on every interface
			if err != nil {
				return fmt.Errorf("want host:port, got %q", v)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("invalid port %q", port)
			}
			c.Addr = v
			return nil
		}},
		{"PLEIN_PPROF_ADDR", "pprof-addr", "", "loopback host:port serving Go's profiler (/debug/pprof/); empty: off", func(c *Config, v string) error {
			if v == "" {
				c.PprofAddr = ""
				return nil
			}
			host, _, err := net.SplitHostPort(v)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("want a loopback address such as 127.0.0.1:6060, got %q", v)
			}
			c.PprofAddr = v
			return nil
		}},
		{"PLEIN_DATA_DIR", "data-dir", "./data", "directory for the SQLite file and local blobs", func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
		{"PLEIN_DATABASE_URL", "database-url", "", "empty: SQLite in the data dir; postgres://... : PostgreSQL; sqlite:PATH: SQLite file", func(c *Config, v string) error {
			switch {
			case v == "", strings.HasPrefix(v, "sqlite:") && len(v) > len("sqlite:"):
			case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
				u, err := url.Parse(v)
				if err != nil {
					return fmt.Errorf("not a URL: %s", redactErr(err))
				}
				if u.Host == "" {
					return errors.New("postgres URL has no host")
				}
			default:
				return errors.New("want empty, postgres://... or sqlite:PATH")
			}
			c.DatabaseURL = v
			return nil
		}},
		{"PLEIN_REDIS_URL", "redis-url", "", "empty: in-process; redis://[:password@]host:port[/db]", func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil {
					return fmt.Errorf("not a URL: %s", redactErr(err))
				}
				if u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix" {
					return fmt.Errorf("want redis://, rediss:// or unix://, got %q", u.Scheme+"://")
				}
			}
			c.RedisURL = v
			return nil
		}},
		{"PLEIN_REDIS_PREFIX", "redis-prefix", "plein:", "prefix of Plein's Redis keys and channels", func(c *Config, v string) error {
			if v == "" || len(v) > 64 || strings.ContainsAny(v, " *?[]") {
				return fmt.Errorf("want up to 64 characters without spaces or glob characters, got %q", v)
			}
			c.RedisPrefix = v
			return nil
		}},
		{"PLEIN_S3_ENDPOINT", "s3-endpoint", "", "empty: local blob directory; host:port of an S3 server", func(c *Config, v string) error {
			if rest, ok := strings.CutPrefix(v, "https://"); ok {
				v, c.S3.UseSSL = rest, true
			} else if rest, ok := strings.CutPrefix(v, "http://"); ok {
				v = rest
			}
			v = strings.TrimSuffix(v, "/")
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil && strings.Contains(v, "/") {
					return fmt.Errorf("want host[:port], got %q", v)
				}
			}
			c.S3.Endpoint = v
			return nil
		}},
		{"PLEIN_S3_BUCKET", "s3-bucket", "plein", "S3 bucket (created if missing)", func(c *Config, v string) error {
			c.S3.Bucket = v
			return nil
		}},
		{"PLEIN_S3_ACCESS_KEY", "s3-access-key", "", "S3 access key", func(c *Config, v string) error {
			c.S3.AccessKey = v
			return nil
		}},
		{"PLEIN_S3_SECRET_KEY", "s3-secret-key", "", "S3 secret key", func(c *Config, v string) error {
			c.S3.SecretKey = v
			return nil
		}},
		{"PLEIN_S3_REGION", "s3-region", "", "S3 region (empty: server default)", func(c *Config, v string) error {
			c.S3.Region = v
			return nil
		}},
		{"PLEIN_S3_USE_SSL", "s3-use-ssl", "", "true: talk HTTPS to the S3 endpoint", func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			c.S3.UseSSL = b
			return nil
		}},
		{"PLEIN_PLUGIN_DIR", "plugin-dir", "", "plugin binaries (default: plugins/ beside the plein binary)", func(c *Config, v string) error {
			c.PluginDir = v
			return nil
		}},
		{"PLEIN_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *Config, v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		}},
		{"PLEIN_DB_MAX_CONNS", "db-max-conns", "16", "SQL connection pool size (PostgreSQL: as many again for relaxed writes, opened when used)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return fmt.Errorf("want a number from 1 to 1000, got %q", v)
			}
			c.DBMaxConns = n
			return nil
		}},
		{"PLEIN_BODY_LIMIT", "body-limit", "1MiB", "largest JSON request body", func(c *Config, v string) error {
			n, err := ParseSize(v)
			if err != nil || n < 1024 {
				return fmt.Errorf("want a size of at least 1KiB such as 1MiB, got %q", v)
			}
			c.BodyLimit = n
			return nil
		}},
		{"PLEIN_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "time in-flight requests get to finish on SIGTERM", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 30s, got %q", v)
			}
			c.ShutdownTimeout = d
			return nil
		}},
		{"PLEIN_TOKEN_TTL", "token-ttl", "168h", "how long a login lasts", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute || d > 90*24*time.Hour {
				return fmt.Errorf("want a duration from 1m to 2160h, got %q", v)
			}
			c.TokenTTL = d
			return nil
		}},
		{"PLEIN_SEARCH_LANGUAGE", "search-language", "dutch", "PostgreSQL text search language: dutch, english, simple, ...", func(c *Config, v string) error {
			if !searchLanguage.MatchString(v) {
				return fmt.Errorf("want a text search configuration name such as dutch, english or simple, got %q", v)
			}
			c.SearchLanguage = v
			return nil
		}},
		{"PLEIN_UPLOAD_LIMIT", "upload-limit", "100MiB", "largest file one upload may have", func(c *Config, v string) error {
			n, err := ParseSize(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a size such as 100MiB, got %q", v)
			}
			c.UploadLimit = n
			return nil
		}},
		{"PLEIN_UPLOAD_CONCURRENCY", "upload-concurrency", "16", "uploads one server streams at once (each holds up to 24 MiB with S3); more wait a second, then get 503", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10_000 {
				return fmt.Errorf("want a number from 1 to 10000, got %q", v)
			}
			c.UploadSlots = n
			return nil
		}},
		{"PLEIN_TRASH_RETENTION", "trash-retention", "720h", "how long deleted documents can be restored before they are purged", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 720h (0: purge at the next sweep), got %q", v)
			}
			c.TrashRetention = d
			return nil
		}},
		{"PLEIN_DOWNLOAD_PRESIGN", "download-presign", "0", "with S3: downloads redirect to a presigned URL valid this long (such as 5m); 0 passes the bytes through Plein", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > 7*24*time.Hour {
				return fmt.Errorf("want a duration from 0 to 168h such as 5m, got %q", v)
			}
			c.PresignTTL = d
			return nil
		}},
		{"PLEIN_SWEEP_INTERVAL", "sweep-interval", "5m", "how often unfinished uploads and the document trash are cleaned up", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return fmt.Errorf("want a duration of at least 1s such as 5m, got %q", v)
			}
			c.SweepInterval = d
			return nil
		}},
		{"PLEIN_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated IPs or CIDRs of load balancers whose X-Forwarded-For names the client", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
					return fmt.Errorf("%q is neither an IP nor a CIDR", p)
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		}},
	}
}

// Load parses args (without the program and subcommand name) and the environment read
// through getenv. A flag wins over its environment variable, which wins over the default.
// It returns an error naming the setting when a value is invalid, and flag.ErrHelp for -h.
func Load(name string, args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usage)
	finish := Register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return finish()
}

// Register adds a flag for every setting to fs, defaulting to the environment, so a
// subcommand can have flags of its own beside them. After fs.Parse, finish validates
// the values and returns the Config.
func Register(fs *flag.FlagSet, getenv func(string) string) (finish func() (Config, error)) {
	all := settings()
	values := make([]*string, len(all))
	for i, s := range all {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[i] = fs.String(s.flag, def, s.usage+" ("+s.env+")")
	}
	return func() (Config, error) {
		var c Config
		var errs []error
		for i, s := range all {
			if err := s.set(&c, strings.TrimSpace(*values[i])); err != nil {
				errs = append(errs, fmt.Errorf("%s (--%s): %w", s.env, s.flag, err))
			}
		}
		if err := c.validateS3(); err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return c, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
		}
		if c.PluginDir == "" {
			c.PluginDir = defaultPluginDir()
		}
		return c, nil
	}
}

func (c Config) validateS3() error {
	if !c.S3.Enabled() {
		return nil
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"PLEIN_S3_BUCKET", c.S3.Bucket},
		{"PLEIN_S3_ACCESS_KEY", c.S3.AccessKey},
		{"PLEIN_S3_SECRET_KEY", c.S3.SecretKey},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("PLEIN_S3_ENDPOINT is set, so %s must be set too", strings.Join(missing, ", "))
	}
	return nil
}

// LogValue describes the configuration for logs, without secrets.
func (c Config) LogValue() slog.Value {
	db := "sqlite:" + c.SQLitePath()
	if c.IsPostgres() {
		db = RedactURL(c.DatabaseURL)
	}
	blobs := "local:" + c.BlobDir()
	if c.S3.Enabled() {
		blobs = "s3:" + c.S3.Endpoint + "/" + c.S3.Bucket
	}
	redis := "in-process"
	if c.RedisURL != "" {
		redis = RedactURL(c.RedisURL)
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("database", db),
		slog.String("blobs", blobs),
		slog.String("redis", redis),
		slog.String("plugin_dir", c.PluginDir),
	)
}

// RedactURL returns u with any password replaced, for logs and error messages.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}

// redactErr keeps url.Error from echoing a URL that may hold a password.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func defaultPluginDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "plugins"
	}
	return filepath.Join(filepath.Dir(exe), "plugins")
}

// ParseSize parses a byte size such as 512, 64KiB, 1MiB or 2GiB (also KB, MB, GB as powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mul    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	mul := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mul = strings.TrimSpace(rest), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mul, nil
}

var searchLanguage = regexp.MustCompile(`^[a-z_]{1,63}$`)
