package sdk

import (
	"context"
	"fmt"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Counters are the plugin's atomic int64 counters (likes, votes, views), separate from
// its KV entries. A counter that was never added to reads 0. Names are at most
// MaxKeySize bytes.
type Counters struct {
	rpc pb.HostClient
}

// Add adds delta (which may be negative) to the named counter and returns its new
// value.
func (c Counters) Add(ctx context.Context, name string, delta int64) (int64, error) {
	resp, err := c.rpc.CounterAdd(ctx, &pb.CounterAddRequest{Call: handle(ctx), Name: name, Delta: delta})
	if err != nil {
		return 0, errcode.FromStatus("counter add "+name, err)
	}
	return resp.GetValue(), nil
}

// BatchGet returns the values of the named counters in one round trip. Every name is
// in the map; counters never added to read 0. At most MaxBatch names.
func (c Counters) BatchGet(ctx context.Context, names []string) (map[string]int64, error) {
	resp, err := c.rpc.CounterBatchGet(ctx, &pb.CounterBatchGetRequest{Call: handle(ctx), Names: names})
	if err != nil {
		return nil, errcode.FromStatus(fmt.Sprintf("counter batch get (%d names)", len(names)), err)
	}
	out := make(map[string]int64, len(names))
	for _, n := range names {
		out[n] = resp.GetValues()[n]
	}
	return out, nil
}
