package pluginrpc_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/pluginrpc"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func checksum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// buildBookmarks builds the example plugin into a temporary directory.
func buildBookmarks(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bookmarks")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/pleinhq/plein/sdk/examples/bookmarks/cmd/bookmarks")...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// launch starts bin as a plugin, serves host to it and configures it.
func launch(t testing.TB, bin string, env []string, host *plugintest.Host) *pluginrpc.Process {
	t.Helper()
	sum, err := checksum(bin)
	if err != nil {
		t.Fatal(err)
	}
	log := plugintest.Logger(t)
	p, err := pluginrpc.Launch(pluginrpc.Config{Path: bin, SHA256: sum, Env: env, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	id, err := p.Client().ServeHost(host.Service(), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Client().Configure(ctx(t), nil, id); err != nil {
		t.Fatal(err)
	}
	return p
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// do sends one request as call and returns the status and body.
func do(t testing.TB, c *pluginrpc.Client, call sdk.Call, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req := &pluginrpc.HTTPRequest{Call: call, Method: method, Path: path, Header: http.Header{}, ContentLength: int64(len(body))}
	if body != nil {
		req.Body = bytes.NewReader(body)
	}
	resp, err := c.HandleHTTP(ctx(t), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s body: %v", method, path, err)
	}
	return resp.Status, data
}

func TestBookmarksBinaryServesTheHost(t *testing.T) {
	bin := buildBookmarks(t)

	out, err := exec.Command(bin, "manifest").Output()
	if err != nil {
		t.Fatalf("manifest subcommand: %v", err)
	}
	var printed sdk.Manifest
	if err := json.Unmarshal(out, &printed); err != nil || printed.Name != "bookmarks" || len(printed.Routes) != 4 {
		t.Fatalf("manifest subcommand printed %s (%v)", out, err)
	}
	var stderr bytes.Buffer
	direct := exec.Command(bin)
	direct.Stderr = &stderr
	if err := direct.Run(); err == nil || !strings.Contains(stderr.String(), "plugin") {
		t.Fatalf("run without the host: %v, %q", err, stderr.String())
	}
	if _, err := pluginrpc.Launch(pluginrpc.Config{Path: bin, SHA256: make([]byte, 32)}); err == nil {
		t.Fatal("a binary with the wrong checksum was launched")
	}

	host := plugintest.NewHost("bookmarks")
	item := host.AddItem(plugintest.Item{Item: sdk.Item{Kind: "page", SpaceID: "s1", Title: "Budget"}})
	host.AllowRead("ann", item)
	p := launch(t, bin, nil, host)
	c := p.Client()

	m, err := c.Describe(ctx(t))
	if err != nil || m.Name != printed.Name || len(m.Routes) != len(printed.Routes) || m.Routes[0] != printed.Routes[0] {
		t.Fatalf("Describe = %+v, %v; the subcommand printed %+v", m, err, printed)
	}
	if err := c.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}

	ann := host.BeginCall(plugintest.User{ID: "ann"})
	if status, body := do(t, c, ann, "PUT", "/items/"+item+"/bookmark", nil); status != 201 || !strings.Contains(string(body), item) {
		t.Fatalf("PUT as ann: %d %s", status, body)
	}
	bob := host.BeginCall(plugintest.User{ID: "bob"})
	if status, body := do(t, c, bob, "PUT", "/items/"+item+"/bookmark", nil); status != 404 {
		t.Fatalf("PUT as bob: %d %s", status, body)
	}
	fields, err := c.Decorate(ctx(t), ann, []sdk.ItemRef{{ID: item, Kind: "page"}})
	if err != nil || string(fields[item]) != `{"bookmarked":true}` {
		t.Fatalf("Decorate = %s, %v", fields, err)
	}
	handled, err := c.Deliver(ctx(t), []sdk.Event{{ID: "e1", Type: "item.deleted", ItemID: item, Time: time.Now()}})
	if err != nil || len(handled) != 1 || handled[0] != "e1" {
		t.Fatalf("Deliver = %v, %v", handled, err)
	}
	if status, body := do(t, c, ann, "GET", "/bookmarks", nil); status != 200 || !strings.Contains(string(body), `"items":[]`) {
		t.Fatalf("GET after the delete: %d %s", status, body)
	}
	host.EndCall(ann)
	// A plugin that kept a handle past its request is refused by the host.
	if status, _ := do(t, c, ann, "GET", "/bookmarks", nil); status != 403 {
		t.Fatalf("an expired call still works: %d", status)
	}

	p.Kill()
	if !p.Exited() {
		t.Fatal("still running after Kill")
	}
	if err := c.Health(ctx(t)); err == nil {
		t.Fatal("Health answered after Kill")
	}
}

func TestAPanicAnswers500AndTheProcessLivesOn(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := plugintest.NewHost("crashy")
	p := launch(t, self, []string{envPlugin + "=1"}, host)
	c, pid := p.Client(), p.Pid()
	call := host.BeginCall(plugintest.User{ID: "ann"})

	status, body := do(t, c, call, "GET", "/panic", nil)
	var prob sdk.Problem
	if err := json.Unmarshal(body, &prob); err != nil || status != 500 || prob.Code != "internal" {
		t.Fatalf("panic: %d %s", status, body)
	}
	if _, err := c.Decorate(ctx(t), call, []sdk.ItemRef{{ID: "i1"}}); err == nil {
		t.Fatal("a panicking Decorate answered fields")
	}
	if status, body := do(t, c, call, "GET", "/ok", nil); status != 200 || string(body) != "{\"ok\":true}\n" {
		t.Fatalf("after the panics: %d %s", status, body)
	}
	if err := c.Health(ctx(t)); err != nil || p.Exited() || p.Pid() != pid {
		t.Fatalf("health %v, exited %v, pid %d -> %d", err, p.Exited(), pid, p.Pid())
	}
}

func TestThePluginExitsWhenTheHostDies(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mm := exec.Command(self)
	mm.Env = append(os.Environ(), envMiddleman+"=1")
	stdout, err := mm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mm.Process.Kill(); _ = mm.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("middleman: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		t.Fatalf("middleman printed %q", line)
	}
	if !alive(pid) {
		t.Fatal("the plugin is not running")
	}
	_ = mm.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatal("the plugin outlived its host by 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the parenthesised command name.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
