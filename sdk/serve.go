package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/pleinhq/plein/sdk/internal/hclogslog"
	"github.com/pleinhq/plein/sdk/internal/rpcguard"
)

// The go-plugin handshake. Host and plugin must agree on all three; they change only
// with a new protocol version, served beside the old one.
const (
	// ProtocolVersion is go-plugin's application protocol version.
	ProtocolVersion = 1
	// MagicCookieKey is the environment variable the host sets when it launches a
	// plugin; a binary started without it says it is a plugin and exits.
	MagicCookieKey = "PLEIN_PLUGIN"
	// MagicCookieValue is the value of MagicCookieKey.
	MagicCookieValue = "7d1c3f0e9b2a4c58a6e1f4b3d2c5e8a9"
	// PluginName is the name the Plugin service is dispensed under.
	PluginName = "plein"
)

// EnvLogLevel names the environment variable that sets the plugin's log level
// (debug, info, warn, error); info when unset.
const EnvLogLevel = "PLEIN_LOG_LEVEL"

// Serve runs p as a plugin process and does not return: call it from main. The host
// launches the binary and talks to it over go-plugin; logs go to stderr (stdout
// carries go-plugin's handshake), and the process exits when the host process dies.
//
// "<binary> manifest" prints the manifest as JSON and exits, which is how
// "plein plugins install" reads it. An invalid manifest exits 1 with the reason.
func Serve(p Plugin) {
	os.Exit(serve(p, os.Args[1:], os.Stdout, os.Stderr))
}

// serve is Serve with its process inputs, returning the exit code.
func serve(p Plugin, args []string, stdout, stderr io.Writer) int {
	m := p.Manifest().withAPIVersion()
	if err := m.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch {
	case len(args) == 1 && args[0] == "manifest":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case len(args) > 0:
		fmt.Fprintln(stderr, "usage: <plugin> [manifest]\nWithout arguments it runs as a Plein plugin, launched by the host.")
		return 2
	}
	log := slog.New(newLogHandler(stderr, os.Getenv(EnvLogLevel))).With("plugin", m.Name)
	go func() {
		watchParent(context.Background(), os.Getppid, time.Second)
		log.Warn("host process gone, exiting")
		os.Exit(1)
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: ProtocolVersion, MagicCookieKey: MagicCookieKey, MagicCookieValue: MagicCookieValue},
		Plugins:         plugin.PluginSet{PluginName: &goPlugin{plugin: p, log: log}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, rpcguard.ServerOptions(log)...)...)
		},
		Logger: hclogslog.New(log.With("component", "go-plugin")),
	})
	return 0
}

// goPlugin is the plugin side of go-plugin's GRPCPlugin; pluginrpc has the host side.
type goPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	plugin Plugin
	log    *slog.Logger
}

func (g *goPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	dial := func(id uint32) (*grpc.ClientConn, error) {
		return broker.DialWithOptions(id, rpcguard.DialOptions()...)
	}
	newPluginService(g.plugin, dial, g.log).register(s)
	return nil
}

func (g *goPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("the plugin side has no client; the host uses pluginrpc")
}

// watchParent returns when the process's parent changes (the host died and the
// process was re-parented) or ctx ends, checking every interval.
func watchParent(ctx context.Context, getppid func() int, interval time.Duration) {
	parent := getppid()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if getppid() != parent {
				return
			}
		}
	}
}
