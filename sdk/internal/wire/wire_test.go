package wire

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// kv is a Host service that knows KVGet only.
type kv struct {
	pb.UnimplementedHostServer
	block chan struct{}
}

func (k *kv) KVGet(ctx context.Context, req *pb.KVGetRequest) (*pb.KVEntry, error) {
	switch req.GetKey() {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such key")
	case "panic":
		panic("boom")
	case "slow":
		select {
		case <-k.block:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	case "big":
		return &pb.KVEntry{Key: "big", Value: make([]byte, MaxFrame)}, nil
	case "deadline":
		d, ok := ctx.Deadline()
		if !ok {
			return nil, status.Error(codes.FailedPrecondition, "no deadline")
		}
		return &pb.KVEntry{Key: d.UTC().Format(time.RFC3339Nano)}, nil
	}
	return &pb.KVEntry{Key: req.GetKey(), Value: []byte("v:" + req.GetKey()), Version: 7}, nil
}

func secret(t testing.TB) []byte {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// start serves a kv on a fresh socket and returns its path and the secret.
func start(t testing.TB) (string, []byte, *kv) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "host.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	impl := &kv{block: make(chan struct{})}
	key := secret(t)
	srv := NewServer(&pb.Host_ServiceDesc, impl, key, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return path, key, impl
}

func client(t testing.TB, path string, key []byte) pb.HostClient {
	t.Helper()
	conn, err := Dial(context.Background(), path, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewHostClient(conn)
}

func TestUnaryCallsAndStatuses(t *testing.T) {
	path, key, _ := start(t)
	c := client(t, path, key)
	ctx := context.Background()
	e, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "a"})
	if err != nil || e.GetKey() != "a" || string(e.GetValue()) != "v:a" || e.GetVersion() != 7 {
		t.Fatalf("KVGet: %v %v", e, err)
	}
	if _, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "missing"}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "no such key") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "panic"}); status.Code(err) != codes.Internal {
		t.Fatalf("panic: %v", err)
	}
	if _, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "big"}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("an answer over the limit: %v", err)
	}
	if _, err := c.KVPut(ctx, &pb.KVPutRequest{Key: "x"}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unimplemented: %v", err)
	}
	if _, err := c.KVGet(ctx, &pb.KVGetRequest{Key: strings.Repeat("k", MaxFrame)}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a request over the limit: %v", err)
	}
	// After all that the pooled connection still answers.
	if e, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "b"}); err != nil || e.GetKey() != "b" {
		t.Fatalf("after errors: %v %v", e, err)
	}
}

func TestDeadlineReachesTheServerAndCancelCutsTheCall(t *testing.T) {
	path, key, impl := start(t)
	c := client(t, path, key)
	want := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	e, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "deadline"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := time.Parse(time.RFC3339Nano, e.GetKey()); !got.Equal(want) {
		t.Fatalf("deadline on the server %s, want %s", got, want)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.KVGet(short, &pb.KVGetRequest{Key: "slow"}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("slow call past its deadline: %v", err)
	}
	cctx, cancelNow := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancelNow)
	if _, err := c.KVGet(cctx, &pb.KVGetRequest{Key: "slow"}); status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled call: %v", err)
	}
	close(impl.block)
	if e, err := c.KVGet(context.Background(), &pb.KVGetRequest{Key: "c"}); err != nil || e.GetKey() != "c" {
		t.Fatalf("after cut calls: %v %v", e, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	path, key, _ := start(t)
	c := client(t, path, key)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				k := strings.Repeat("x", i) + string(rune('a'+j))
				e, err := c.KVGet(context.Background(), &pb.KVGetRequest{Key: k})
				if err == nil && e.GetKey() != k {
					err = errors.New("answer for another call: " + e.GetKey())
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAConnectionWithoutTheSecretIsRefused(t *testing.T) {
	path, _, _ := start(t)
	if _, err := Dial(context.Background(), path, secret(t), nil); err == nil {
		t.Fatal("dial with another secret succeeded")
	}
	// Garbage instead of a hello is refused too, and the server keeps serving.
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	buf := make([]byte, 1)
	_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _ := nc.Read(buf); n != 0 {
		t.Fatalf("garbage got an answer: %q", buf[:n])
	}
	_ = nc.Close()
}

func TestStreamsGoToTheGRPCConnection(t *testing.T) {
	path, key, _ := start(t)
	streams := &recordingConn{}
	conn, err := Dial(context.Background(), path, key, streams)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = pb.NewHostClient(conn).BlobGet(context.Background(), &pb.BlobGetRequest{})
	if streams.method != "/"+pb.Host_ServiceDesc.ServiceName+"/BlobGet" {
		t.Fatalf("stream went to %q", streams.method)
	}
}

type recordingConn struct{ method string }

func (r *recordingConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return errors.New("unary call on the stream connection")
}

func (r *recordingConn) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	r.method = method
	return nil, errors.New("recorded")
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte{5, '/', 'a', '/', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 1, 10, 1, 'x'})
	f.Add([]byte{})
	f.Add([]byte{255})
	f.Fuzz(func(t *testing.T, frame []byte) {
		req, err := parseRequest(frame)
		if err != nil {
			return
		}
		if len(req.method) > 255 || len(req.method)+9+len(req.payload) != len(frame) {
			t.Fatalf("parsed %d+%d bytes of %d", len(req.method), len(req.payload), len(frame))
		}
	})
}

func BenchmarkUnary(b *testing.B) {
	path, key, _ := start(b)
	c := client(b, path, key)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "a"}); err != nil {
			b.Fatal(err)
		}
	}
}
