package pluginhost

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
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

// TestATransactionGoesAsOneStatementOnPostgres checks the one-statement path itself:
// a like (an absent key put, an index key, a counter) is done in one statement; a
// failed condition, or a counter past int64, leaves everything as it was and hands
// the transaction back to the step-by-step path.
func TestATransactionGoesAsOneStatementOnPostgres(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Postgres(t))
	s := e.service("one-"+uid.New(), NewCalls(e.clock.Now))
	ctx := ctxT(t)
	now := store.Micros(e.clock.Now())
	run := func(tx sdk.Txn) (sdk.TxnResult, bool) {
		t.Helper()
		if !oneStatement(tx) {
			t.Fatalf("%+v does not go as one statement", tx)
		}
		deltas := slices.SortedFunc(slices.Values(tx.Add), func(a, b sdk.Delta) int { return cmp.Compare(a.Name, b.Name) })
		res, _, ok, err := s.kvTxnOneStatement(ctx, tx, kvSteps(tx), deltas, slices.Sorted(slices.Values(tx.DeleteCounters)), now)
		if err != nil {
			t.Fatal(err)
		}
		return res, ok
	}
	like := sdk.Txn{If: []sdk.Cond{sdk.IfAbsent("l/item/ann")}, Put: []sdk.Put{{Key: "l/item/ann", Value: []byte("x")}, {Key: "u/ann/item"}},
		Add: []sdk.Delta{{Name: "n/item", Delta: 1}}}
	res, ok := run(like)
	if !ok || res.Counters["n/item"] != 1 || res.Versions[0] == 0 || res.Versions[1] == 0 {
		t.Fatalf("a like: %+v %v", res, ok)
	}
	if _, ok := run(like); ok {
		t.Fatal("a second like went through")
	}
	unlike := sdk.Txn{If: []sdk.Cond{sdk.IfPresent("l/item/ann")}, Delete: []string{"l/item/ann", "u/ann/item"},
		Add: []sdk.Delta{{Name: "n/item", Delta: -1}}, Relaxed: true}
	overflow := sdk.Txn{Delete: []string{"l/item/ann"}, Add: []sdk.Delta{{Name: "n/item", Delta: math.MaxInt64}, {Name: "other", Delta: 1}}}
	if _, ok := run(sdk.Txn{Add: []sdk.Delta{{Name: "n/item", Delta: math.MaxInt64 - 1}}}); !ok {
		t.Fatal("adding up to int64's largest value failed")
	}
	if _, ok := run(overflow); ok {
		t.Fatal("a counter went past int64")
	}
	if _, ok := run(sdk.Txn{Add: []sdk.Delta{{Name: "n/item", Delta: 1 - math.MaxInt64}}}); !ok {
		t.Fatal("taking the sum back failed")
	}
	// Nothing of the refused transactions stayed: the key, the other counter.
	if e, err := s.KVGet(ctx, "", "l/item/ann"); err != nil || string(e.Value) != "x" {
		t.Fatalf("the like's key after refused transactions: %+v %v", e, err)
	}
	if c, err := s.counters(ctx, []string{"n/item", "other"}); err != nil || c["n/item"] != 1 || c["other"] != 0 {
		t.Fatalf("counters after refused transactions: %v %v", c, err)
	}
	if res, ok := run(unlike); !ok || res.Counters["n/item"] != 0 {
		t.Fatalf("an unlike: %+v %v", res, ok)
	}
	if _, ok := run(unlike); ok {
		t.Fatal("a second unlike went through")
	}
	// A cleanup: deletes of keys and counters without conditions (no clause reads
	// the time).
	if res, ok := run(sdk.Txn{Delete: []string{"u/ann/item", "gone"}, DeleteCounters: []string{"n/item", "none"}}); !ok || len(res.Versions) != 0 {
		t.Fatalf("a cleanup: %+v %v", res, ok)
	}
	if c, err := s.counters(ctx, []string{"n/item"}); err != nil || c["n/item"] != 0 {
		t.Fatalf("a deleted counter: %v %v", c, err)
	}
	if oneStatement(sdk.Txn{Add: []sdk.Delta{{Name: "a", Delta: 0}}}) || oneStatement(sdk.Txn{Add: []sdk.Delta{{Name: "a", Delta: 1}}, DeleteCounters: []string{"a"}}) {
		t.Fatal("a counter read, or a counter changed twice, went as one statement")
	}
}
