package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pleinhq/plein/core/internal/testsvc"
)

// pluginSandbox is a SQLite database and a plugin directory for "plein plugins".
type pluginSandbox struct {
	t   *testing.T
	dir string   // the plugin directory
	env []string // the environment every command runs with
}

func newPluginSandbox(t *testing.T, env ...string) *pluginSandbox {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	base := []string{
		"PLEIN_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "plein.db"),
		"PLEIN_PLUGIN_DIR=" + dir,
		"PLEIN_DATA_DIR=" + t.TempDir(),
	}
	for _, kv := range os.Environ() { // no PLEIN_* setting of the caller's leaks in
		if !strings.HasPrefix(kv, "PLEIN_") {
			base = append(base, kv)
		}
	}
	return &pluginSandbox{t: t, dir: dir, env: append(base, env...)}
}

// plein runs the plein binary and returns its standard output, standard error and
// exit code.
func (s *pluginSandbox) plein(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = s.env
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errs.String(), ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("plein %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errs.String(), 0
}

// ok runs plein and fails the test unless it exits 0; it returns standard output.
func (s *pluginSandbox) ok(args ...string) string {
	s.t.Helper()
	out, errs, code := s.plein(args...)
	if code != 0 {
		s.t.Fatalf("plein %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fails runs plein and fails the test unless it exits with code; it returns standard error.
func (s *pluginSandbox) fails(code int, args ...string) string {
	s.t.Helper()
	out, errs, got := s.plein(args...)
	if got != code {
		s.t.Fatalf("plein %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	if out != "" {
		s.t.Errorf("plein %s wrote to standard output on failure: %s", strings.Join(args, " "), out)
	}
	return errs
}

// hasRow fails the test unless the "plugins list" table has a row of these columns.
func hasRow(t *testing.T, table string, cols ...string) {
	t.Helper()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = regexp.QuoteMeta(c)
	}
	if !regexp.MustCompile(`(?m)^` + strings.Join(quoted, `\s+`) + `\s*$`).MatchString(table) {
		t.Fatalf("no row %q in:\n%s", strings.Join(cols, " | "), table)
	}
}

// listJSON runs "plugins list --json" and returns the plugins by name.
func (s *pluginSandbox) listJSON() map[string]pluginJSON {
	s.t.Helper()
	out := s.ok("plugins", "list", "--json")
	var list []pluginJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatalf("list --json: %v\n%s", err, out)
	}
	byName := map[string]pluginJSON{}
	for _, p := range list {
		byName[p.Name] = p
	}
	return byName
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// buildBookmarks builds the example plugin into a temporary directory and returns
// its path and version.
func buildBookmarks(t *testing.T) (path, version string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "bookmarks")
	data, err := os.ReadFile(testsvc.ExamplePlugin(t, "bookmarks"))
	if err == nil {
		err = os.WriteFile(path, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "manifest").Output()
	if err != nil {
		t.Fatalf("bookmarks manifest: %v", err)
	}
	var m struct{ Name, Version string }
	if err := json.Unmarshal(out, &m); err != nil || m.Name != "bookmarks" || m.Version == "" {
		t.Fatalf("bookmarks manifest: %v %s", err, out)
	}
	return path, m.Version
}

func TestPluginsCommands(t *testing.T) {
	src, version := buildBookmarks(t)
	srcSum := fileSum(t, src)

	t.Run("lifecycle", func(t *testing.T) {
		s := newPluginSandbox(t)
		if out := s.ok("plugins", "list"); !strings.Contains(out, "no plugins") {
			t.Fatalf("empty list: %q", out)
		}
		if out := s.ok("plugins", "list", "--json"); strings.TrimSpace(out) != "[]" {
			t.Fatalf("empty list --json: %q", out)
		}

		out := s.ok("plugins", "install", src)
		installed := filepath.Join(s.dir, "bookmarks")
		if !strings.HasPrefix(out, "installed bookmarks "+version+" (sha256 "+srcSum+") as "+installed+"\n") ||
			!strings.Contains(out, "disabled") {
			t.Fatalf("install printed:\n%s", out)
		}
		if got := fileSum(t, installed); got != srcSum {
			t.Fatalf("installed binary has sha256 %s, the source %s", got, srcSum)
		}

		table := s.ok("plugins", "list")
		hasRow(t, table, "NAME", "VERSION", "ENABLED", "STATE", "SCOPE", "CHECKSUM")
		hasRow(t, table, "bookmarks", version, "no", "stopped", "everyone", srcSum[:12])

		if out := s.ok("plugins", "enable", "bookmarks"); out != "enabled bookmarks for everyone\n" {
			t.Fatalf("enable printed %q", out)
		}
		hasRow(t, s.ok("plugins", "list"), "bookmarks", version, "yes", "stopped", "everyone", srcSum[:12])
		if p := s.listJSON()["bookmarks"]; !p.Enabled || p.Spaces != nil || p.Roles != nil || p.Scope != "everyone" ||
			p.SHA256 != srcSum || p.Version != version || p.Path != installed || p.Refused != "" {
			t.Fatalf("enabled for everyone: %+v", p)
		}

		// Flags may stand after the name or before it; the lists are sorted.
		if out := s.ok("plugins", "enable", "bookmarks", "--space", "sp-2", "--role", "member", "--space", "sp-1"); out != "enabled bookmarks for spaces=sp-1,sp-2 roles=member\n" {
			t.Fatalf("enable with a scope printed %q", out)
		}
		hasRow(t, s.ok("plugins", "list"), "bookmarks", version, "yes", "stopped", "spaces=sp-1,sp-2 roles=member", srcSum[:12])
		s.ok("plugins", "enable", "--role", "admin", "bookmarks")
		p := s.listJSON()["bookmarks"]
		if !p.Enabled || p.Spaces != nil || len(p.Roles) != 1 || p.Roles[0] != "admin" || p.Scope != "roles=admin" {
			t.Fatalf("enabled for admins in every space: %+v", p)
		}

		if out := s.ok("plugins", "disable", "bookmarks"); out != "disabled bookmarks\n" {
			t.Fatalf("disable printed %q", out)
		}
		hasRow(t, s.ok("plugins", "list"), "bookmarks", version, "no", "stopped", "roles=admin", srcSum[:12])

		if out := s.ok("plugins", "reset", "bookmarks"); !strings.HasPrefix(out, "reset bookmarks") {
			t.Fatalf("reset printed %q", out)
		}

		// A binary dropped into the directory is recorded by list, disabled, without
		// a manifest yet.
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.dir, "extra"), b, 0o755); err != nil {
			t.Fatal(err)
		}
		table = s.ok("plugins", "list")
		hasRow(t, table, "bookmarks", version, "no", "stopped", "roles=admin", srcSum[:12])
		hasRow(t, table, "extra", "-", "no", "stopped", "everyone", srcSum[:12])
		if strings.Index(table, "bookmarks") > strings.Index(table, "extra") {
			t.Fatalf("not sorted by name:\n%s", table)
		}
	})

	t.Run("changed binary is refused until approved", func(t *testing.T) {
		s := newPluginSandbox(t)
		s.ok("plugins", "install", src)
		s.ok("plugins", "enable", "bookmarks")
		installed := filepath.Join(s.dir, "bookmarks")
		f, err := os.OpenFile(installed, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		changed := fileSum(t, installed)

		table := s.ok("plugins", "list")
		// The checksum column is the approved one; a note says why it is refused.
		hasRow(t, table, "bookmarks", version, "yes", "refused", "everyone", srcSum[:12])
		if !strings.Contains(table, "bookmarks: refused: ") || !strings.Contains(table, changed) {
			t.Fatalf("no refusal note:\n%s", table)
		}
		if p := s.listJSON()["bookmarks"]; p.State != "refused" || !strings.Contains(p.Refused, changed) || p.SHA256 != srcSum {
			t.Fatalf("refused: %+v", p)
		}

		if out := s.ok("plugins", "approve", "bookmarks"); out != "approved bookmarks (sha256 "+changed+")\n" {
			t.Fatalf("approve printed %q", out)
		}
		table = s.ok("plugins", "list")
		hasRow(t, table, "bookmarks", version, "yes", "stopped", "everyone", changed[:12])
		if strings.Contains(table, "refused") {
			t.Fatalf("still refused after approve:\n%s", table)
		}
		if p := s.listJSON()["bookmarks"]; p.State != "stopped" || p.Refused != "" || p.SHA256 != changed {
			t.Fatalf("approved: %+v", p)
		}
	})

	t.Run("unknown plugin exits 1 naming it", func(t *testing.T) {
		s := newPluginSandbox(t)
		s.ok("plugins", "install", src)
		for _, cmd := range []string{"approve", "reset", "enable", "disable"} {
			errs := s.fails(1, "plugins", cmd, "nope")
			if !strings.HasPrefix(errs, "plein plugins "+cmd+": no plugin named \"nope\"") || strings.Count(errs, "\n") != 1 {
				t.Errorf("%s nope: %q", cmd, errs)
			}
		}
		errs := s.fails(1, "plugins", "install", filepath.Join(t.TempDir(), "missing"))
		if !strings.Contains(errs, "missing") {
			t.Errorf("install of a missing file: %q", errs)
		}
		// Nothing changed meanwhile.
		if got := s.listJSON(); len(got) != 1 || got["bookmarks"].Enabled {
			t.Fatalf("after the failures: %+v", got)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		s := newPluginSandbox(t)
		for _, args := range [][]string{
			{"plugins"},
			{"plugins", "frobnicate"},
			{"plugins", "enable"},
			{"plugins", "install"},
			{"plugins", "disable", "a", "b"},
			{"plugins", "list", "extra"},
			{"plugins", "enable", "bookmarks", "--bogus"},
		} {
			if errs := s.fails(2, args...); !strings.Contains(errs, "plein plugins enable NAME") {
				t.Errorf("%v: no usage text in %q", args, errs)
			}
		}
	})

	t.Run("unreachable redis fails the change, not the list", func(t *testing.T) {
		s := newPluginSandbox(t, "PLEIN_REDIS_URL=redis://"+testsvc.FreeAddr(t))
		errs := s.fails(1, "plugins", "install", src)
		if !strings.Contains(errs, "PLEIN_REDIS_URL") {
			t.Fatalf("install without redis: %q", errs)
		}
		if _, err := os.Stat(filepath.Join(s.dir, "bookmarks")); err == nil {
			t.Fatal("installed although redis is down")
		}
		s.ok("plugins", "list")
	})

	t.Run("a change is published on the redis bus", func(t *testing.T) {
		rc := testsvc.Redis(t)
		prefix := testsvc.Name("pt") + ":"
		s := newPluginSandbox(t, "PLEIN_REDIS_URL="+testsvc.RedisURL(t), "PLEIN_REDIS_PREFIX="+prefix)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sub := rc.Subscribe(ctx, prefix+"bus:changes")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
			t.Fatal(err)
		}
		next := func(what string) {
			t.Helper()
			msg, err := sub.ReceiveMessage(ctx)
			if err != nil {
				t.Fatalf("%s: no notice: %v", what, err)
			}
			if msg.Payload != `{"kind":"plugin","id":"bookmarks"}` {
				t.Fatalf("%s: notice %s", what, msg.Payload)
			}
		}
		s.ok("plugins", "install", src)
		next("install")
		s.ok("plugins", "enable", "bookmarks", "--space", "s1")
		next("enable")
		s.ok("plugins", "disable", "bookmarks")
		next("disable")
		s.ok("plugins", "approve", "bookmarks")
		next("approve")
		s.ok("plugins", "reset", "bookmarks")
		next("reset")
	})
}

func TestPluginsCommandLineInProcess(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring of standard output
		stderr string // a substring of standard error
	}{
		{[]string{"plugins"}, 2, "", "plein plugins list [--json]"},
		{[]string{"plugins", "frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"plugins", "enable"}, 2, "", "missing argument: plein plugins enable NAME"},
		{[]string{"plugins", "approve"}, 2, "", "missing argument: plein plugins approve NAME"},
		{[]string{"plugins", "reset", "a", "b"}, 2, "", `unexpected argument "b"`},
		{[]string{"plugins", "list", "--json", "x"}, 2, "", `unexpected argument "x"`},
		{[]string{"plugins", "enable", "x", "--space"}, 2, "", "flag needs an argument: -space"},
		{[]string{"plugins", "disable", "--space", "s", "x"}, 2, "", "flag provided but not defined: -space"},
		{[]string{"plugins", "help"}, 0, "plein plugins install PATH", ""},
		{[]string{"plugins", "enable", "-h"}, 0, "", "-role value"},
		{[]string{"plugins", "list", "-h"}, 0, "", "PLEIN_PLUGIN_DIR"},
		{[]string{"help"}, 0, "plein plugins enable NAME", ""},
	} {
		var out, errs bytes.Buffer
		code := run(tc.args, nil, &out, &errs, env)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errs.String(), tc.stderr) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out.String(), errs.String())
		}
	}
}

func TestPluginsParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		pos, spaces string
	}{
		{[]string{"a"}, "a", ""},
		{[]string{"a", "--space", "s1", "b", "-space=s2"}, "a b", "s1,s2"},
		{[]string{"--space", "s1", "a"}, "a", "s1"},
		{[]string{"a", "--", "--space", "b"}, "a --space b", ""},
	} {
		var f scopeFlags
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.Var(&f.spaces, "space", "")
		fs.Var(&f.roles, "role", "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || f.spaces.String() != tc.spaces {
			t.Errorf("%q: %q %q %v", tc.args, pos, f.spaces.String(), err)
		}
	}
}
