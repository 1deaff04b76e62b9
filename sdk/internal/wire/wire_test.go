package wire

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	conn, err := Dial(context.Background(), path, key)
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
	if _, err := Dial(context.Background(), path, secret(t)); err == nil {
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

func (k *kv) BlobGet(req *pb.BlobGetRequest, stream pb.Host_BlobGetServer) error {
	if req.GetKey() == "missing" {
		return status.Error(codes.NotFound, "no such blob")
	}
	for i := range int(req.GetLength()) {
		if err := stream.Send(&pb.BlobGetResponse{Part: &pb.BlobGetResponse_Chunk{Chunk: []byte{byte(i)}}}); err != nil {
			return err
		}
	}
	return nil
}

func (k *kv) BlobPut(stream pb.Host_BlobPutServer) error {
	var n int64
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.BlobInfo{Size: n})
		}
		if err != nil {
			return err
		}
		if len(msg.GetChunk()) > 0 && msg.GetChunk()[0] == 'x' {
			// Answers before reading the rest: the server reads it away.
			return status.Error(codes.InvalidArgument, "x is not allowed")
		}
		n += int64(len(msg.GetChunk()))
	}
}

func TestStreamsBothWays(t *testing.T) {
	path, key, _ := start(t)
	c := client(t, path, key)
	ctx := context.Background()
	for round := range 3 { // the connection comes back to the pool in step
		get, err := c.BlobGet(ctx, &pb.BlobGetRequest{Key: "a", Length: 5})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for {
			msg, err := get.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			got = append(got, msg.GetChunk()...)
		}
		if string(got) != "\x00\x01\x02\x03\x04" {
			t.Fatalf("round %d: got %q", round, got)
		}
		put, err := c.BlobPut(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := put.Send(&pb.BlobPutRequest{Part: &pb.BlobPutRequest_Chunk{Chunk: make([]byte, 1000)}}); err != nil {
				t.Fatal(err)
			}
		}
		info, err := put.CloseAndRecv()
		if err != nil || info.GetSize() != 10000 {
			t.Fatalf("round %d: put: %v %v", round, info, err)
		}
	}
	get, err := c.BlobGet(ctx, &pb.BlobGetRequest{Key: "missing"})
	if err == nil {
		_, err = get.Recv()
	}
	if status.Code(err) != codes.NotFound {
		t.Fatalf("missing blob: %v", err)
	}
	// A server that answers early reads the rest away; the next call still works.
	put, err := c.BlobPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = put.Send(&pb.BlobPutRequest{Part: &pb.BlobPutRequest_Chunk{Chunk: []byte("x")}})
	for range 5 {
		_ = put.Send(&pb.BlobPutRequest{Part: &pb.BlobPutRequest_Chunk{Chunk: make([]byte, 1000)}})
	}
	if _, err := put.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("early answer: %v", err)
	}
	if e, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "after"}); err != nil || e.GetKey() != "after" {
		t.Fatalf("after streams: %v %v", e, err)
	}
	// Cancelling a stream midway closes its connection and nothing else.
	cctx, cancel := context.WithCancel(ctx)
	get, err = c.BlobGet(cctx, &pb.BlobGetRequest{Key: "a", Length: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		if _, err = get.Recv(); err != nil {
			break
		}
	}
	if err == io.EOF {
		t.Log("the stream had ended before the cancel")
	} else if status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled stream: %v", err)
	}
	if e, err := c.KVGet(ctx, &pb.KVGetRequest{Key: "last"}); err != nil || e.GetKey() != "last" {
		t.Fatalf("after a cancelled stream: %v %v", e, err)
	}
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

// A client's frames wait to go out together, but never while it waits for an
// answer: a message sent while RecvMsg waits leaves at once (here the server
// answers it before the client closes its side).
func TestAMessageSentWhileTheClientWaitsGoesOutAtOnce(t *testing.T) {
	path, key, _ := start(t)
	conn, err := Dial(context.Background(), path, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := conn.NewStream(ctx, nil, pb.Host_BlobPut_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- s.RecvMsg(&pb.BlobInfo{}) }()
	time.Sleep(20 * time.Millisecond) // the receiver is waiting (if not yet, it sends what is queued)
	if err := s.SendMsg(&pb.BlobPutRequest{Part: &pb.BlobPutRequest_Chunk{Chunk: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("answer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the message sent while the receiver waited never left")
	}
	_ = s.CloseSend()
}
