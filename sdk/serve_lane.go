package sdk

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"

	"google.golang.org/grpc"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/wire"
)

// The plugin's end of the fast lane (sdk/pluginrpc/lane.go has the host's): host
// calls go to <dir>/host.sock, and the plugin serves its own service on
// <dir>/plugin.sock, both opened with the secret from Configure.

// laneOffered reports whether a Configure request offers a usable lane.
func laneOffered(req *pb.ConfigureRequest) bool {
	return req.GetLaneDir() != "" && filepath.IsAbs(req.GetLaneDir()) && len(req.GetLaneSecret()) == wire.SecretSize
}

// laneHost returns a host connection over the fast lane, or conn (gRPC) when the
// request offers no lane or it does not answer.
func laneHost(ctx context.Context, req *pb.ConfigureRequest, conn grpc.ClientConnInterface, log *slog.Logger) grpc.ClientConnInterface {
	if !laneOffered(req) {
		return conn
	}
	wc, err := wire.Dial(ctx, filepath.Join(req.GetLaneDir(), "host.sock"), req.GetLaneSecret())
	if err != nil {
		log.Warn("fast lane to the host unavailable; using gRPC only", "err", err)
		return conn
	}
	return wc
}

// serveLane serves the Plugin service on <dir>/plugin.sock and reports whether it
// does. The server lives as long as the process.
func (s *pluginService) serveLane(req *pb.ConfigureRequest) bool {
	if !laneOffered(req) {
		return false
	}
	ln, err := net.Listen("unix", filepath.Join(req.GetLaneDir(), "plugin.sock"))
	if err != nil {
		s.log.Warn("fast lane unavailable; serving on gRPC only", "err", err)
		return false
	}
	srv := wire.NewServer(&pb.Plugin_ServiceDesc, s, req.GetLaneSecret(), s.log)
	go func() {
		if err := srv.Serve(ln); err != nil {
			s.log.Error("fast lane stopped", "err", err)
		}
	}()
	return true
}
