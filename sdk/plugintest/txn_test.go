package plugintest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
	"github.com/pleinhq/plein/sdk/plugintest/txntest"
)

// keeper is a plugin that only keeps its host client.
type keeper struct{ host *sdk.Host }

func (k *keeper) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "keeper", Title: "Keeper", Version: "0.0.1"}
}

func (k *keeper) Init(_ context.Context, h *sdk.Host, _ json.RawMessage) error {
	k.host = h
	return nil
}

func (k *keeper) Handler() http.Handler { return nil }

func TestTheInMemoryHostAppliesTransactionsAsTheHostDoes(t *testing.T) {
	txntest.Run(t, func(t *testing.T) txntest.Host {
		k := &keeper{}
		h := plugintest.New(t, k, plugintest.Options{})
		return txntest.Host{Client: k.host, Advance: h.Advance}
	})
}
