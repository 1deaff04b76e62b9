// Package rpcguard holds the gRPC options both ends of the plugin protocol use:
// explicit message size limits, panic recovery, and refusing non-UTF-8 strings.
package rpcguard

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxMessageSize caps one gRPC message in either direction. Bodies and blobs travel
// in chunks far below it; the limit is set explicitly because go-plugin leaves the
// plugin side at gRPC's default and the host side at 2 GiB.
const MaxMessageSize = 4 << 20

// ServerOptions returns the options for a server on either end: the size limits and
// interceptors that turn a handler's panic into an Internal error logged to log (nil
// discards), so the process lives on.
func ServerOptions(log *slog.Logger) []grpc.ServerOption {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
			defer recoverTo(log, info.FullMethod, &err)
			return next(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
			defer recoverTo(log, info.FullMethod, &err)
			return next(srv, ss)
		}),
	}
}

// DialOptions returns the options for a client on either end: the size limits, and
// interceptors that refuse a string that is not UTF-8 as InvalidArgument instead of
// letting it fail as Internal.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(checkedUnary),
		grpc.WithChainStreamInterceptor(checkedStream),
	}
}

// recoverTo, deferred, turns a panic into an Internal error in *err.
func recoverTo(log *slog.Logger, method string, err *error) {
	if v := recover(); v != nil {
		log.Error("panic in rpc", "method", method, "panic", v, "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error")
	}
}
