package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/store"
	"github.com/pleinhq/plein/core/store/storetest"
	"github.com/pleinhq/plein/core/uid"
	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
	"github.com/pleinhq/plein/sdk/plugintest"
	"github.com/pleinhq/plein/sdk/plugintest/txntest"
)

// keeper is a plugin that only keeps its host client, for tests of the host API
// through the sdk.
type keeper struct{ host *sdk.Host }

func (k *keeper) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "keeper", Title: "Keeper", Version: "0.0.1"}
}

func (k *keeper) Init(_ context.Context, h *sdk.Host, _ json.RawMessage) error {
	k.host = h
	return nil
}

func (k *keeper) Handler() http.Handler { return nil }

// clientOf returns a plugin's sdk client of svc, over in-memory gRPC as over go-plugin.
func clientOf(t *testing.T, svc pluginrpc.HostService) *sdk.Host {
	t.Helper()
	log := plugintest.Logger(t)
	hostLis := listen(t, pluginrpc.NewHostServer(svc, log))
	dialHost := func(uint32) (*grpc.ClientConn, error) {
		c, err := dialBuf(hostLis)
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, err
	}
	k := &keeper{}
	conn, err := dialBuf(listen(t, sdk.NewGRPCServer(k, dialHost, log)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := pluginrpc.NewClient(conn).Configure(ctxT(t), nil, 1); err != nil {
		t.Fatal(err)
	}
	return k.host
}

func TestTransactionsConformOnBothDatabases(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		txntest.Run(t, func(t *testing.T) txntest.Host {
			e := newEnv(t, db)
			s := e.service("txn-"+uid.New(), NewCalls(e.clock.Now)) // one namespace per subtest
			return txntest.Host{Client: clientOf(t, s), Advance: e.clock.Advance}
		})
	})
}

func TestATransactionRefusesWhatTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		h := clientOf(t, e.service("alpha", NewCalls(e.clock.Now)))
		for _, txn := range []sdk.Txn{
			{If: []sdk.Cond{sdk.IfAbsent("a\x00b")}},
			{Put: []sdk.Put{{Key: "a\x00b"}}},
			{Add: []sdk.Delta{{Name: "a\x00b", Delta: 1}}},
			{DeleteCounters: []string{"a\x00b"}},
		} {
			if _, err := h.Txn(ctxT(t), txn); !errors.Is(err, sdk.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", txn, err)
			}
		}
	})
}

func TestATransactionActsOnlyForALiveCallInItsOwnNamespace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		calls := NewCalls(e.clock.Now)
		alpha, beta := e.service("alpha", calls), e.service("beta", calls)
		ctx := ctxT(t)
		if _, err := alpha.KVTxn(ctx, "", sdk.Txn{Put: []sdk.Put{{Key: "k", Value: []byte("a")}}, Add: []sdk.Delta{{Name: "n", Delta: 2}}}); err != nil {
			t.Fatal(err)
		}
		res, err := beta.KVTxn(ctx, "", sdk.Txn{If: []sdk.Cond{sdk.IfAbsent("k")}, Add: []sdk.Delta{{Name: "n", Delta: 1}}})
		if err != nil || res.Counters["n"] != 1 {
			t.Fatalf("beta sees alpha's key or counter: %+v %v", res, err)
		}
		call, end := calls.Begin("alpha", principal("ann"), authz.SpaceSet{All: true}, "r1", e.clock.Now().Add(time.Minute))
		if _, err := beta.KVTxn(ctx, call.Handle, sdk.Txn{}); !errors.Is(err, sdk.ErrForbidden) {
			t.Fatalf("beta with alpha's handle: %v", err)
		}
		if _, err := alpha.KVTxn(ctx, call.Handle, sdk.Txn{Add: []sdk.Delta{{Name: "n", Delta: 1}}}); err != nil {
			t.Fatalf("alpha with its live handle: %v", err)
		}
		end()
		if _, err := alpha.KVTxn(ctx, call.Handle, sdk.Txn{Add: []sdk.Delta{{Name: "n", Delta: 1}}}); !errors.Is(err, sdk.ErrForbidden) {
			t.Fatalf("alpha with an ended handle: %v", err)
		}
		if got, _ := alpha.CounterBatchGet(ctx, "", []string{"n"}); got["n"] != 3 {
			t.Fatalf("alpha's counter: %v", got)
		}
	})
}
