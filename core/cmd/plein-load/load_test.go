package main

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%.0f of 1..100 ms: %s, want %s", c.p*100, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("one sample: %s", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %s", got)
	}
	// p99 of 10 samples is the largest, not the 9th.
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := percentile(ten, 0.99); got != 10 {
		t.Errorf("p99 of ten: %d", got)
	}
}

func TestMixParsesWeightsAndPicksByThem(t *testing.T) {
	m, err := parseMix("read=3, like=1,feed")
	if err != nil {
		t.Fatal(err)
	}
	if m.String() != "read=3,like=1,feed=1" || m.total != 5 {
		t.Fatalf("parsed %s (total %d)", m, m.total)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for range 50_000 {
		counts[m.pick(rng)]++
	}
	if r := float64(counts["read"]) / float64(counts["like"]); r < 2.8 || r > 3.2 {
		t.Errorf("read/like picked %d/%d, want about 3", counts["read"], counts["like"])
	}
	zero, err := parseMix("read=0,like=2")
	if err != nil || zero.String() != "like=2" {
		t.Errorf("a zero weight: %v %v", zero, err)
	}
	for _, bad := range []string{"", "read=0", "read=-1", "read=x", "jump=1", "read=1,read=2", "read=99999999"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q): no error", bad)
		}
	}
	def, err := parseMix(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def.names, opNames()) {
		t.Errorf("the default mix %s does not hold every operation %v", def, opNames())
	}
	only, err := def.only([]string{"like", "download"})
	if err != nil || only.String() != "like=12,download=4" {
		t.Errorf("only: %s %v", only, err)
	}
	if _, err := def.only([]string{"nope"}); err == nil {
		t.Error("only an unknown operation: no error")
	}
	if got := def.without([]string{"download", "post"}); strings.Contains(got.String(), "download") || strings.Contains(got.String(), "post") {
		t.Errorf("without: %s", got)
	}
}

func TestOnlyLoopbackURLsAreAccepted(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.9.8.7", "https://localhost:8443", "http://[::1]:8080", "http://127.0.0.1:8080/"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://example.com", "http://127.0.0.1.example.com", "ftp://127.0.0.1",
		"127.0.0.1:8080", "http://0.0.0.0:8080", "http://user:pw@127.0.0.1", "http://127.0.0.1/api", "http://[::ffff:10.0.0.1]", "http://%zz"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestProcParsing(t *testing.T) {
	status := "Name:\tplein\nVmPeak:\t  200000 kB\nVmRSS:\t   81234 kB\nThreads:\t12\n"
	if kib, err := parseVmRSS(status); err != nil || kib != 81234 {
		t.Errorf("VmRSS: %d %v", kib, err)
	}
	if _, err := parseVmRSS("Name:\tkthreadd\n"); err == nil {
		t.Error("no VmRSS: no error")
	}
	if _, err := parseVmRSS("VmRSS:\t12 MB\n"); err == nil {
		t.Error("VmRSS in MB: no error")
	}
	name, ppid, cpu, err := parseStat("4242 (my (odd) plugin) S 4200 4242 4200 0 -1 4194560 120 0 0 0 350 25 0 0 20 0 9 0")
	if err != nil || name != "my (odd) plugin" || ppid != 4200 || cpu != 375 {
		t.Errorf("stat: %q %d %d %v", name, ppid, cpu, err)
	}
	for _, bad := range []string{"", "12 no parens S 1", "12 (x)", "12 (x) S notanumber 1 1 0 -1 0 0 0 0 0 1 1", "12 (x) S 1 1 1 0 -1 0 0 0 0 0 x 1"} {
		if _, _, _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`
	if got := parseListeners(tcp, 8080); !slices.Equal(got, []string{"111"}) {
		t.Errorf("listeners on 8080: %v", got)
	}
}

// A made-up /proc: the server, two plugins it started, and an unrelated process.
func TestProcFamilyAndMemory(t *testing.T) {
	root := t.TempDir()
	write := func(pid, name, body string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ pid, stat, rss string }{
		{"100", "100 (plein) S 1 100 1 0 -1 0 0 0 0 0 500 100 0 0", "2048"},
		{"101", "101 (likes) S 100 100 1 0 -1 0 0 0 0 0 50 10 0 0", "1024"},
		{"102", "102 (votes) S 100 100 1 0 -1 0 0 0 0 0 40 10 0 0", "512"},
		{"200", "200 (bash) S 1 200 1 0 -1 0 0 0 0 0 1 1 0 0", "99"},
	} {
		write(p.pid, "stat", p.stat)
		write(p.pid, "status", "Name:\tx\nVmRSS:\t"+p.rss+" kB\n")
	}
	fs := procFS{root: root}
	fam, err := fs.family(100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range fam {
		names = append(names, p.name)
	}
	if !slices.Equal(names, []string{"plein", "likes", "votes"}) {
		t.Fatalf("family: %v", names)
	}
	s := startSampler(fs, 100, time.Hour)
	mem := s.stop()
	if len(mem) != 3 || mem[0].PeakKiB != 2048 || mem[1].LastKiB != 1024 {
		t.Fatalf("memory: %+v", mem)
	}
	if _, err := fs.family(999); err == nil {
		t.Error("a missing process: no error")
	}
	if _, err := fs.listener(8080); err == nil {
		t.Error("no net/tcp: no error")
	}
}

func TestFlagsRefuseBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://192.168.1.1:8080"},
		{"-c", "0"},
		{"-duration", "11m"},
		{"-duration", "0s"},
		{"-warmup", "-1s"},
		{"-mix", "read=x"},
		{"-only", "jump"},
		{"-isolate", "read,jump"},
		{"-users", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	cfg, err := parseFlags([]string{"-only", "like", "-c", "8"}, io.Discard)
	if err != nil || cfg.mix.String() != "like=12" || cfg.clients != 8 {
		t.Fatalf("-only like: %+v %v", cfg, err)
	}
}

func TestIDsPickAcrossChunks(t *testing.T) {
	var l ids
	l.add([]string{"a", "b"})
	l.add(nil)
	l.add([]string{"c"})
	l.add([]string{"d", "e", "f"})
	var got []string
	for i := range l.len() {
		got = append(got, l.at(i))
	}
	if strings.Join(got, "") != "abcdef" {
		t.Fatalf("ids: %v", got)
	}
}
