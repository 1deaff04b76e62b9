package pluginrpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
)

// The test binary doubles as two helper processes, chosen by environment:
// a plugin that panics on demand, and a stand-in host that launches that plugin and
// then dies, to show the plugin does not outlive it.
const (
	envPlugin    = "PLEIN_SDK_TEST_PLUGIN"
	envMiddleman = "PLEIN_SDK_TEST_MIDDLEMAN"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envPlugin) == "1":
		sdk.Serve(&crashy{})
	case os.Getenv(envMiddleman) == "1":
		os.Exit(middleman())
	}
	os.Exit(m.Run())
}

// crashy is a plugin whose handler and decorator panic on demand.
type crashy struct{}

func (*crashy) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "crashy", Title: "Crashy", Version: "0.1.0", Routes: []sdk.Route{
		{Method: "GET", Path: "/panic", Permission: sdk.PermissionAuthenticated},
		{Method: "GET", Path: "/ok", Permission: sdk.PermissionAuthenticated},
	}}
}

func (*crashy) Init(context.Context, *sdk.Host, json.RawMessage) error { return nil }

func (*crashy) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("handler panic") })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { _ = sdk.WriteJSON(w, 200, map[string]bool{"ok": true}) })
	return mux
}

func (*crashy) Decorate(context.Context, []sdk.ItemRef) (map[string]json.RawMessage, error) {
	panic("decorate panic")
}

// middleman launches the test binary as a plugin, prints its pid and waits to be
// killed.
func middleman() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sum, err := checksum(self)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p, err := pluginrpc.Launch(pluginrpc.Config{Path: self, SHA256: sum, Env: []string{envPlugin + "=1"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.Pid())
	time.Sleep(time.Minute)
	return 0
}
