package pluginrpc

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/wire"
)

// The fast lane beside go-plugin's gRPC (see sdk/internal/wire): the host serves the
// Host service on <dir>/host.sock and the plugin serves the Plugin service on
// <dir>/plugin.sock, each call on a pooled connection of its own. The directory is
// private to the host's user and both sockets take only the secret the host hands
// the plugin in Configure, over go-plugin's mutually authenticated gRPC. A plugin
// built with an older SDK answers Configure without the lane and gets gRPC.

// lane is the host's end of the fast lane for one plugin process.
type lane struct {
	dir    string
	secret []byte
	server *wire.Server
	plugin *wire.Conn // set once the plugin serves plugin.sock
}

// openLane makes the private directory and serves svc on host.sock.
func openLane(svc HostService, log *slog.Logger) (*lane, error) {
	dir, err := os.MkdirTemp("", "plein-lane-")
	if err != nil {
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	secret := make([]byte, wire.SecretSize)
	if _, err := rand.Read(secret); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	// MkdirTemp makes the directory 0700; the sockets inside inherit its protection.
	ln, err := net.Listen("unix", filepath.Join(dir, "host.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fast lane: %w", err)
	}
	l := &lane{dir: dir, secret: secret, server: wire.NewServer(&pb.Host_ServiceDesc, &hostServer{svc: svc}, secret, log)}
	go func() {
		if err := l.server.Serve(ln); err != nil {
			log.Warn("fast lane: host socket stopped", "err", err)
		}
	}()
	return l, nil
}

// dialPlugin connects to the plugin's plugin.sock.
func (l *lane) dialPlugin(ctx context.Context) (pb.PluginClient, error) {
	conn, err := wire.Dial(ctx, filepath.Join(l.dir, "plugin.sock"), l.secret)
	if err != nil {
		return nil, err
	}
	l.plugin = conn
	return pb.NewPluginClient(conn), nil
}

// close stops serving and removes the directory.
func (l *lane) close() {
	if l == nil {
		return
	}
	_ = l.server.Close()
	if l.plugin != nil {
		_ = l.plugin.Close()
	}
	_ = os.RemoveAll(l.dir)
}
