//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevChildrenDieWithSupervisor starts the real `settled dev` (four validator
// processes), SIGKILLs the supervisor, which gets no chance to clean up, and checks
// through /proc that every validator it started is gone soon after.
func TestDevChildrenDieWithSupervisor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildSettled(t)
	base := freePortRange(t)
	dir := t.TempDir()
	// Output goes to a file, as to a terminal: with a pipe, the orphans would die
	// of SIGPIPE once the reader went away, and the test would prove nothing.
	logPath := filepath.Join(dir, "dev.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sup := exec.Command(bin, "dev", "-data", filepath.Join(dir, "data"), "-api", "127.0.0.1:"+strconv.Itoa(base), "-accounts", "8")
	sup.Stdout, sup.Stderr = log, log
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	defer sup.Process.Kill()

	children := waitChildPIDs(t, logPath, 4)
	for _, c := range children {
		t.Cleanup(func() { c.killIfAlive() }) // an orphan must not outlive the test
		if !c.alive() {
			t.Fatalf("validator pid %d is not running before the supervisor is killed", c.pid)
		}
	}
	if err := sup.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sup.Wait()

	deadline := time.Now().Add(5 * time.Second)
	for _, c := range children {
		for c.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if c.alive() {
			t.Errorf("validator pid %d still runs 5s after its supervisor was SIGKILLed (an orphan)", c.pid)
		}
	}
}

// child is a process identified by pid and its start time (field 22 of
// /proc/PID/stat), so a reused pid is not mistaken for it.
type child struct {
	pid   int
	start string
}

var devChildLine = regexp.MustCompile(`^settled dev: v\d+ \(pid (\d+)\)`)

// waitChildPIDs waits until the supervisor's log announces n children.
func waitChildPIDs(t *testing.T, logPath string, n int) []child {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		var cs []child
		for _, line := range strings.Split(string(b), "\n") {
			if m := devChildLine.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[1])
				_, start := procStat(pid)
				cs = append(cs, child{pid: pid, start: start})
			}
		}
		if len(cs) >= n {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor announced %d validators in 30s, want %d; its output:\n%s", len(cs), n, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether the process still exists and is not a zombie (a killed
// orphan may wait for a reaper that never comes in a container).
func (c child) alive() bool {
	state, start := procStat(c.pid)
	return state != "" && state != "Z" && start == c.start
}

func (c child) killIfAlive() {
	if c.alive() {
		syscall.Kill(c.pid, syscall.SIGKILL)
	}
}

// procStat returns a process's state letter and start time from /proc, or "" for
// both when it does not exist.
func procStat(pid int) (state, start string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", ""
	}
	// The command name (field 2) is parenthesised and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", ""
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 20 {
		return "", ""
	}
	return f[0], f[19]
}

// freePortRange returns a port p such that p..p+3 (dev's APIs) and p+50..p+53
// (its replica ports) are free on 127.0.0.1 now.
func freePortRange(t *testing.T) int {
	t.Helper()
	for range 50 {
		p, err := strconv.Atoi(strings.TrimPrefix(freeAddr(t), "127.0.0.1:"))
		if err != nil || p+53 > 65535 {
			continue
		}
		ok := true
		for _, q := range []int{p, p + 1, p + 2, p + 3, p + 50, p + 51, p + 52, p + 53} {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(q)))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free range of ports for settled dev")
	return 0
}
