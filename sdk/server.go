package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
	"github.com/pleinhq/plein/sdk/internal/rpcguard"
)

// HostDialer opens the connection to the Host service the host announced under
// brokerID in Configure. The plugin dials once and keeps the connection.
type HostDialer func(brokerID uint32) (*grpc.ClientConn, error)

// NewGRPCServer returns a gRPC server serving p's side of the protocol (the Plugin
// service) with Serve's message limits and panic recovery, logging to log. On
// Configure it dials the host with dial. Serve does the same over go-plugin; this is
// for harnesses such as plugintest that run a plugin in-process. The caller owns the
// connections dial returns.
func NewGRPCServer(p Plugin, dial HostDialer, log *slog.Logger) *grpc.Server {
	s := grpc.NewServer(rpcguard.ServerOptions(log)...)
	newPluginService(p, dial, log).register(s)
	return s
}

// pluginService implements the Plugin service for one Plugin.
type pluginService struct {
	pb.UnimplementedPluginServer
	plugin   Plugin
	manifest Manifest
	dial     HostDialer
	log      *slog.Logger

	mu       sync.Mutex // serializes Configure
	brokerID uint32
	host     *Host
	ready    atomic.Pointer[http.Handler] // set once Init succeeded
}

func newPluginService(p Plugin, dial HostDialer, log *slog.Logger) *pluginService {
	return &pluginService{plugin: p, manifest: p.Manifest().withAPIVersion(), dial: dial, log: log}
}

func (s *pluginService) register(g grpc.ServiceRegistrar) {
	pb.RegisterPluginServer(g, s)
}

func (s *pluginService) Describe(context.Context, *pb.DescribeRequest) (*pb.Manifest, error) {
	return manifestToProto(s.manifest), nil
}

// Configure dials the host once and runs Init. A failed Init may be retried with the
// same broker id; after a success Configure refuses, because settings changes restart
// the process.
func (s *pluginService) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ready.Load() != nil:
		return nil, status.Error(codes.FailedPrecondition, "already configured: restart the plugin to change settings")
	case req.GetHostBrokerId() == 0:
		return nil, status.Error(codes.InvalidArgument, "no host broker id")
	case s.host != nil && req.GetHostBrokerId() != s.brokerID:
		return nil, status.Errorf(codes.FailedPrecondition, "host already dialed on broker id %d", s.brokerID)
	}
	settings := json.RawMessage(req.GetSettings())
	if len(settings) == 0 {
		settings = json.RawMessage("{}")
	}
	if !json.Valid(settings) {
		return nil, status.Error(codes.InvalidArgument, "settings are not JSON")
	}
	if s.host == nil {
		conn, err := s.dial(req.GetHostBrokerId())
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "dial host: %v", err)
		}
		s.host, s.brokerID = newHost(laneHost(ctx, req, conn, s.log), s.log), req.GetHostBrokerId()
	}
	if err := s.plugin.Init(ctx, s.host, settings); err != nil {
		s.log.Error("init failed", "err", err)
		return nil, errcode.ToStatus(fmt.Errorf("init: %w", err))
	}
	h := s.plugin.Handler()
	if h == nil {
		h = http.NotFoundHandler()
	}
	s.ready.Store(&h)
	lane := s.serveLane(req)
	s.log.Info("configured", "version", s.manifest.Version, "fast_lane", lane)
	return &pb.ConfigureResponse{LaneServed: lane}, nil
}

// handler returns the plugin's handler, or an Unavailable error before Configure.
func (s *pluginService) handler() (http.Handler, error) {
	h := s.ready.Load()
	if h == nil {
		return nil, status.Error(codes.Unavailable, "plugin not configured")
	}
	return *h, nil
}

func (s *pluginService) Health(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	if _, err := s.handler(); err != nil {
		return nil, err
	}
	return &pb.HealthResponse{}, nil
}

// callContext returns ctx carrying call, bounded by its deadline.
func callContext(ctx context.Context, call *pb.Call) (context.Context, context.CancelFunc) {
	c := callFromProto(call)
	ctx = WithCall(ctx, c)
	if c.Deadline.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, c.Deadline)
}
