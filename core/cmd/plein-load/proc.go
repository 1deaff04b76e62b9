package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resident memory from Linux's /proc: the server's and its children's (the plugin
// processes), read as VmRSS.

// proc is a process as the report names it.
type proc struct {
	pid  int
	name string // /proc/<pid>/stat's comm: the executable's name, at most 15 bytes
	cpu  int64  // user and system time so far, in clock ticks
}

// ticksPerSecond is USER_HZ, which Linux fixes at 100 for /proc.
const ticksPerSecond = 100

// procFS reads a /proc tree; tests point root at a made-up one.
type procFS struct{ root string }

// rssKiB returns the process's VmRSS in KiB.
func (p procFS) rssKiB(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(data))
}

// parseVmRSS finds "VmRSS:   1234 kB" in the text of /proc/<pid>/status.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", strings.TrimSpace(line))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("no VmRSS (a kernel thread, or the process is gone)")
}

// parseStat reads the text of /proc/<pid>/stat: "pid (comm) state ppid ... utime
// stime ...", where comm may itself hold spaces and parentheses. It returns the name,
// the parent's pid and the CPU time used (utime + stime).
func parseStat(stat string) (name string, ppid int, cpu int64, err error) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, 0, fmt.Errorf("stat %q: no (comm)", clip([]byte(stat)))
	}
	f := strings.Fields(stat[end+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return "", 0, 0, fmt.Errorf("stat %q: too few fields", clip([]byte(stat)))
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, 0, fmt.Errorf("stat: parent pid %q", f[1])
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, fmt.Errorf("stat: times %q %q", f[11], f[12])
	}
	return stat[open+1 : end], ppid, utime + stime, nil
}

// pids lists the numeric entries of the /proc tree.
func (p procFS) pids() ([]int, error) {
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// family returns the process and its children, the process first. Processes that
// exit while it reads are left out.
func (p procFS) family(pid int) ([]proc, error) {
	data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	name, _, cpu, err := parseStat(string(data))
	if err != nil {
		return nil, err
	}
	out := []proc{{pid, name, cpu}}
	all, err := p.pids()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(c), "stat"))
		if err != nil {
			continue
		}
		if name, ppid, cpu, err := parseStat(string(data)); err == nil && ppid == pid {
			out = append(out, proc{c, name, cpu})
		}
	}
	return out, nil
}

// self returns this process.
func (p procFS) self() (proc, error) {
	pid := os.Getpid()
	data, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, err
	}
	name, _, cpu, err := parseStat(string(data))
	return proc{pid, name, cpu}, err
}

// listener returns the pid of the process with a listening TCP socket on port, for
// when no -pid is given. It returns an error if none of the processes it may look
// into holds one.
func (p procFS) listener(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		data, err := os.ReadFile(filepath.Join(p.root, f))
		if err != nil {
			continue
		}
		for _, ino := range parseListeners(string(data), port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on port %d", port)
	}
	all, err := p.pids()
	if err != nil {
		return 0, err
	}
	for _, pid := range all {
		dir := filepath.Join(p.root, strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's process
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(ino, "]")] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("the process listening on port %d is not one this user may inspect; pass -pid", port)
}

// parseListeners returns the socket inodes listening on port in the text of
// /proc/net/tcp or tcp6: "sl local_address rem_address st ... inode", addresses as
// hex "IP:PORT", state 0A for LISTEN.
func parseListeners(table string, port int) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		n, err := strconv.ParseUint(hexPort, 16, 16)
		if ok && err == nil && int(n) == port {
			out = append(out, f[9])
		}
	}
	return out
}
