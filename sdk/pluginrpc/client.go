package pluginrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Client calls one plugin process's Plugin service. Errors from the plugin match the
// sdk sentinels and context errors with errors.Is; a plugin that crashed or timed out
// answers an error, never a default, so callers fail closed. It is safe for
// concurrent use.
type Client struct {
	rpc    pb.PluginClient
	broker *plugin.GRPCBroker // nil for clients made with NewClient
	lane   *lane              // the fast lane, once ServeHost opened it
}

// NewClient returns a Client over conn, for a plugin served without go-plugin (tests,
// in-process harnesses). Such a client has no broker: ServeHost fails, and the host
// announces the Host service some other way.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: pb.NewPluginClient(conn)}
}

// Describe returns the plugin's manifest, or an error wrapping sdk.ErrInvalid if the
// manifest is not one the host can install.
func (c *Client) Describe(ctx context.Context) (sdk.Manifest, error) {
	m, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return sdk.Manifest{}, errcode.FromStatus("plugin describe", err)
	}
	out := manifestFromProto(m)
	if err := out.Validate(); err != nil {
		return sdk.Manifest{}, fmt.Errorf("plugin describe: %w", err)
	}
	return out, nil
}

// ServeHost serves svc as this plugin's Host service on the go-plugin broker, and
// its unary calls on the fast lane (see lane.go), and returns the broker id to pass
// to Configure. Call it once per process, and call Configure within 5 seconds
// (go-plugin forgets an unclaimed connection): the plugin dials once and reuses that
// connection for every host call. The servers stop when the process is killed. log
// receives panics recovered in svc (nil discards).
func (c *Client) ServeHost(svc HostService, log *slog.Logger) (uint32, error) {
	if c.broker == nil {
		return 0, errors.New("serve host: this client has no go-plugin broker")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l, err := openLane(svc, log)
	if err != nil {
		// gRPC alone still works, only slower.
		log.Warn("serving the host API on gRPC only", "err", err)
	}
	c.lane = l
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		return NewHostServer(svc, log, opts...)
	})
	return id, nil
}

// Configure hands the plugin its settings (a JSON object; nil means {}) and the
// broker id of its Host service, and waits for the plugin's Init. An error wrapping
// sdk.ErrInvalid means the plugin refused the settings. A plugin is configured once;
// to change settings, restart it.
func (c *Client) Configure(ctx context.Context, settings json.RawMessage, hostBrokerID uint32) error {
	req := &pb.ConfigureRequest{Settings: settings, HostBrokerId: hostBrokerID}
	if c.lane != nil {
		req.LaneDir, req.LaneSecret = c.lane.dir, c.lane.secret
	}
	resp, err := c.rpc.Configure(ctx, req)
	if err != nil {
		return errcode.FromStatus("plugin configure", err)
	}
	if c.lane != nil && resp.GetLaneServed() {
		fast, err := c.lane.dialPlugin(ctx)
		if err != nil {
			return fmt.Errorf("plugin configure: the plugin offered the fast lane but does not answer on it: %w", err)
		}
		// Configure comes before any other call, so nothing uses rpc yet.
		c.rpc = fast
	}
	return nil
}

// close releases what the client holds beside the gRPC connection.
func (c *Client) close() { c.lane.close() }

// Decorate returns the plugin's fields for items as call's user sees them: item id ->
// JSON object. Items the plugin has nothing for are absent.
func (c *Client) Decorate(ctx context.Context, call sdk.Call, items []sdk.ItemRef) (map[string]json.RawMessage, error) {
	refs := make([]*pb.ItemRef, len(items))
	for i, it := range items {
		refs[i] = itemRefToProto(it)
	}
	resp, err := c.rpc.Decorate(ctx, &pb.DecorateRequest{Call: callToProto(call), Items: refs})
	if err != nil {
		return nil, errcode.FromStatus("plugin decorate", err)
	}
	out := make(map[string]json.RawMessage, len(resp.GetFields()))
	for id, v := range resp.GetFields() {
		if !isObject(v) {
			return nil, fmt.Errorf("plugin decorate: item %s: the plugin sent a value that is not a JSON object", id)
		}
		out[id] = v
	}
	return out, nil
}

// isObject reports whether v is one JSON object, which the host can embed as it is.
func isObject(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{' && json.Valid(v)
}

// Deliver hands the plugin a batch of events and returns the ids it handled; deliver
// the others again later. A plugin that handles no events answers an error.
func (c *Client) Deliver(ctx context.Context, events []sdk.Event) ([]string, error) {
	msgs := make([]*pb.Event, len(events))
	for i, e := range events {
		msgs[i] = eventToProto(e)
	}
	resp, err := c.rpc.Deliver(ctx, &pb.DeliverRequest{Events: msgs})
	if err != nil {
		return nil, errcode.FromStatus("plugin deliver", err)
	}
	return resp.GetHandled(), nil
}

// Health returns nil once the plugin is configured and answering.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.rpc.Health(ctx, &pb.HealthRequest{})
	return errcode.FromStatus("plugin health", err)
}
