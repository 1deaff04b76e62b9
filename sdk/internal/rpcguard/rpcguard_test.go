package rpcguard

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// panicky panics in Describe and counts the calls that reach it.
type panicky struct {
	pb.UnimplementedPluginServer
	calls int
}

func (p *panicky) Describe(context.Context, *pb.DescribeRequest) (*pb.Manifest, error) {
	p.calls++
	panic("boom")
}

func (p *panicky) Health(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	p.calls++
	return &pb.HealthResponse{}, nil
}

func (p *panicky) HandleHTTP(pb.Plugin_HandleHTTPServer) error {
	panic("boom in a stream")
}

func start(t *testing.T, srv pb.PluginServer) pb.PluginClient {
	t.Helper()
	s := grpc.NewServer(ServerOptions(slog.New(slog.NewTextHandler(io.Discard, nil)))...)
	pb.RegisterPluginServer(s, srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///test", append(DialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewPluginClient(conn)
}

func TestPanicsBecomeInternalAndTheServerLivesOn(t *testing.T) {
	c := start(t, &panicky{})
	ctx := context.Background()
	if _, err := c.Describe(ctx, &pb.DescribeRequest{}); status.Code(err) != codes.Internal {
		t.Fatalf("unary panic = %v, want Internal", err)
	}
	stream, err := c.HandleHTTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("stream panic = %v, want Internal", err)
	}
	if _, err := c.Health(ctx, &pb.HealthRequest{}); err != nil {
		t.Fatalf("after the panics: %v", err)
	}
}

func TestClientsRefuseNonUTF8BeforeSending(t *testing.T) {
	srv := &panicky{}
	c := start(t, srv)
	_, err := c.Configure(context.Background(), &pb.ConfigureRequest{Settings: []byte("\xff")}) // bytes: allowed
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("bytes field: %v", err)
	}
	stream, err := c.HandleHTTP(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	head := &pb.HTTPRequestHead{Method: "GET", Path: "/\xff"}
	err = stream.Send(&pb.HTTPRequestPart{Part: &pb.HTTPRequestPart_Head{Head: head}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "path") {
		t.Fatalf("stream send = %v, want InvalidArgument naming the field", err)
	}
	if srv.calls != 0 {
		t.Fatalf("%d calls reached the server", srv.calls)
	}
}

func TestCheckMessageFindsNonUTF8StringsAnywhere(t *testing.T) {
	bad := "\xff"
	tests := map[string]any{
		"top-level field": &pb.KVGetRequest{Key: bad},
		"list element":    &pb.KVBatchGetRequest{Keys: []string{"ok", bad}},
		"nested message":  &pb.HTTPRequestPart{Part: &pb.HTTPRequestPart_Head{Head: &pb.HTTPRequestHead{Headers: []*pb.Header{{Name: "X", Values: []string{bad}}}}}},
		"map key":         &pb.CounterBatchGetResponse{Values: map[string]int64{bad: 1}},
	}
	for name, m := range tests {
		if st, _ := status.FromError(checkMessage(m)); st.Code() != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, st)
		}
	}
	if err := checkMessage(&pb.KVBatchGetRequest{Keys: []string{"café", "ok"}}); err != nil {
		t.Errorf("valid strings: %v", err)
	}
}
