package pluginrpc

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// Handshake returns the go-plugin handshake every Plein plugin answers to.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  sdk.ProtocolVersion,
		MagicCookieKey:   sdk.MagicCookieKey,
		MagicCookieValue: sdk.MagicCookieValue,
	}
}

// PluginMap returns the go-plugin plugin set for a ClientConfig: dispensing
// sdk.PluginName yields a *Client.
func PluginMap() plugin.PluginSet {
	return plugin.PluginSet{sdk.PluginName: &goPlugin{}}
}

// goPlugin is the host side of go-plugin's GRPCPlugin; package sdk has the plugin side.
type goPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (goPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host side serves no Plugin service; plugins use sdk.Serve")
}

func (goPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{rpc: pb.NewPluginClient(conn), broker: broker}, nil
}
