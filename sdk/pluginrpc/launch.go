package pluginrpc

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/internal/hclogslog"
	"github.com/pleinhq/plein/sdk/internal/rpcguard"
)

// Config says how to launch one plugin binary.
type Config struct {
	// Path is the plugin binary.
	Path string
	// SHA256 is the binary's checksum recorded at install; Launch refuses a binary
	// that no longer matches.
	SHA256 []byte
	// Env is the plugin's whole environment. The host's own environment (database
	// and S3 credentials) is never passed on.
	Env []string
	// Logger receives go-plugin's lines and the plugin's stderr log lines at their
	// levels; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the handshake; 0 means 10 seconds.
	StartTimeout time.Duration
}

// Process is one running plugin process.
type Process struct {
	pc     *plugin.Client
	client *Client
}

// Launch verifies the binary's checksum, starts it with AutoMTLS and completes the
// go-plugin handshake. A Process that exited is dead for good: Launch a new one
// (never reuse a Config's go-plugin client, which broke Grafana's restarts).
func Launch(cfg Config) (*Process, error) {
	if len(cfg.SHA256) != sha256.Size {
		return nil, fmt.Errorf("launch %s: %w: no SHA-256 checksum", cfg.Path, sdk.ErrInvalid)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	cmd := exec.Command(cfg.Path)
	cmd.Env = cfg.Env
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake(),
		Plugins:          PluginMap(),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: cfg.SHA256, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     timeout,
		GRPCDialOptions:  rpcguard.DialOptions(),
		Logger:           hclogslog.New(logger.With("plugin_binary", cfg.Path)),
	})
	proto, err := pc.Client()
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("launch %s: %w", cfg.Path, err)
	}
	raw, err := proto.Dispense(sdk.PluginName)
	if err != nil {
		pc.Kill()
		return nil, fmt.Errorf("launch %s: dispense: %w", cfg.Path, err)
	}
	return &Process{pc: pc, client: raw.(*Client)}, nil
}

// Client returns the client for the process's Plugin service.
func (p *Process) Client() *Client { return p.client }

// Exited reports whether the process has exited (crashed or killed).
func (p *Process) Exited() bool { return p.pc.Exited() }

// Pid returns the process id, or 0 if it is not running.
func (p *Process) Pid() int {
	if rc := p.pc.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Kill stops the process: it closes the connection, gives the plugin two seconds to
// exit, then kills it. Drain requests before calling it. It is safe to call twice.
func (p *Process) Kill() {
	p.pc.Kill()
	p.client.close()
}
