package main

import (
	"bytes"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"settle/bench"
)

func TestHostsUsage(t *testing.T) {
	cases := []struct {
		args       []string
		wantCode   int
		wantStderr string
	}{
		{[]string{"hosts"}, exitUsage, "hosts needs a subcommand: up or down"},
		{[]string{"hosts", "sideways"}, exitUsage, `unknown subcommand "sideways"`},
		{[]string{"hosts", "up"}, exitUsage, "hosts up needs -dir DIR"},
		{[]string{"hosts", "up", "-dir", t.TempDir(), "-validators", "0"}, exitUsage, "-validators must be 1 to 64"},
		{[]string{"hosts", "up", "-dir", t.TempDir(), "extra"}, exitUsage, "takes 0 argument(s)"},
		{[]string{"hosts", "down"}, exitUsage, "hosts down needs -dir DIR"},
		{[]string{"hosts", "down", "-dir", t.TempDir()}, exitFail, "nothing to stop"},
		{[]string{"hosts", "-h"}, 0, "bench hosts up -dir DIR"},
		{[]string{"hosts", "up", "-h"}, 0, "-validators"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tc.args, &stdout, &stderr); code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("bench %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.wantCode, tc.wantStderr)
		}
	}
}

// needHosts skips where validators cannot run in network namespaces.
func needHosts(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real settled processes in network namespaces; skipped with -short")
	}
	if err := bench.HostsSupported(); err != nil {
		t.Skipf("network namespaces not usable here: %v", err)
	}
}

// TestSeparateHosts starts four validators, each in a network namespace of its
// own, checks that they listen and talk only on their namespace addresses,
// runs a short real benchmark round against them exactly as
// `bench run -cluster FILE` does, and checks that Close leaves nothing.
func TestSeparateHosts(t *testing.T) {
	needHosts(t)
	bin, err := bench.BuildSettled(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := bench.StartHosts(t.Context(), bench.HostsOptions{Binary: bin, Dir: t.TempDir(), Validators: 4, Accounts: 200, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	pids := h.Pids()
	for i, ns := range h.Namespaces {
		checkNamespaceSockets(t, h, i, ns)
	}

	scenario := filepath.Join(t.TempDir(), "hosts.json")
	if err := os.WriteFile(scenario, []byte(`{"name": "hosts", "validators": 4, "accounts": 200,
		"schedule": "constant:50@3s", "slo_p99_ms": 10000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "result")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"run", "-scenario", scenario, "-cluster", h.ClusterFile, "-no-calibrate", "-no-cache", "-quiet", "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench run -cluster: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	res, err := bench.ReadResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Local || res.Validators != 4 || len(res.Rounds) != 1 {
		t.Fatalf("result: local %v, %d validators, %d rounds; want a remote cluster of 4 and one round", res.Local, res.Validators, len(res.Rounds))
	}
	if r := res.Rounds[0]; r.Committed == 0 || r.Committed != r.Offered || r.Failed != 0 || r.Rejected != 0 || r.TimedOut != 0 {
		t.Errorf("round: offered %d, committed %d, failed %d %v, rejected %d %v, timed out %d",
			r.Offered, r.Committed, r.Failed, r.FailedBy, r.Rejected, r.RejectedBy, r.TimedOut)
	}
	if dead := h.Exited(); len(dead) > 0 {
		t.Errorf("validators died: %v", dead)
	}

	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("validator pid %d survived Close", pid)
		}
	}
	checkGone(t, h.Namespaces, h.Bridge)
}

// checkNamespaceSockets checks that validator i listens only on its namespace
// address, and that its replica connections join namespace addresses.
func checkNamespaceSockets(t *testing.T, h *bench.Hosts, i int, ns string) {
	t.Helper()
	host, _, _ := strings.Cut(h.Targets[i], ":")
	if a, err := netip.ParseAddr(host); err != nil || !h.Subnet.Contains(a) || !strings.HasPrefix(host, "10.") {
		t.Errorf("v%d API %s is not on the run's subnet %s", i, h.Targets[i], h.Subnet)
	}
	listening := ss(t, ns, "-Htln")
	if len(listening) < 2 {
		t.Errorf("v%d in %s listens on %d sockets, want its API and replica ports: %v", i, ns, len(listening), listening)
	}
	for _, local := range listening {
		if !strings.HasPrefix(local[0], host+":") {
			t.Errorf("v%d in %s listens on %s, not on its address %s", i, ns, local[0], host)
		}
	}
	peers := map[string]bool{}
	for _, conn := range ss(t, ns, "-Htn", "state", "established") {
		for _, end := range conn {
			a, err := netip.ParseAddrPort(end)
			if err != nil || !h.Subnet.Contains(a.Addr()) {
				t.Errorf("v%d in %s has a connection %v off the run's subnet %s", i, ns, conn, h.Subnet)
			}
		}
		if strings.HasSuffix(conn[0], ":"+strconv.Itoa(bench.HostReplicaPort)) || strings.HasSuffix(conn[1], ":"+strconv.Itoa(bench.HostReplicaPort)) {
			peers[conn[1]] = true
		}
	}
	if len(peers) < len(h.Namespaces)-1 {
		t.Errorf("v%d in %s has %d replica connections, want %d", i, ns, len(peers), len(h.Namespaces)-1)
	}
}

// ss lists a namespace's sockets as their local and peer addresses.
func ss(t *testing.T, ns string, args ...string) [][2]string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "ss"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ss in %s: %v: %s", ns, err, out)
	}
	var socks [][2]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// -H: no header; "STATE RECV-Q SEND-Q LOCAL PEER" or, for a state filter, without STATE.
		f := strings.Fields(line)
		if len(f) >= 4 {
			socks = append(socks, [2]string{f[len(f)-2], f[len(f)-1]})
		}
	}
	return socks
}

// checkGone checks that the namespaces and the bridge no longer exist.
func checkGone(t *testing.T, namespaces []string, bridge string) {
	t.Helper()
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if strings.Contains(string(list), ns) {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	if err := exec.Command("ip", "link", "show", "dev", bridge).Run(); err == nil {
		t.Errorf("bridge %s left behind", bridge)
	}
}

// TestHostsUpDown runs `bench hosts up` (which builds settled into DIR/bin)
// with one validator and `bench hosts down`: the validator is detached (a
// session of its own, so it outlives the command), and down removes it all.
func TestHostsUpDown(t *testing.T) {
	needHosts(t)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"hosts", "up", "-validators", "1", "-accounts", "10", "-dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("hosts up: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	t.Cleanup(func() { bench.CleanupHosts(dir) })
	if !strings.Contains(stdout.String(), "next: bench run -scenario four -cluster "+filepath.Join(dir, bench.HostsClusterFile)) {
		t.Errorf("hosts up printed no next command:\n%s", stdout.String())
	}
	c, err := bench.LoadClusterFile(filepath.Join(dir, bench.HostsClusterFile))
	if err != nil || len(c.Targets) != 1 || c.ChainID == "" {
		t.Fatalf("cluster file: %v %+v", err, c)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + c.Targets[0] + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz of %s: %v", c.Targets[0], err)
	}
	resp.Body.Close()
	pid := validatorPID(t, stdout.String())
	if sid := sessionOf(t, pid); sid != pid {
		t.Errorf("validator %d is in session %d, want a session of its own", pid, sid)
	}

	stdout.Reset()
	if code := run(t.Context(), []string{"hosts", "down", "-dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("hosts down: exit %d\n%s", code, stderr.String())
	}
	time.Sleep(100 * time.Millisecond) // our child: its waiter reaps it
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("validator %d survived hosts down", pid)
	}
	if _, err := os.Stat(filepath.Join(dir, bench.HostsStateFile)); !os.IsNotExist(err) {
		t.Errorf("state file left after down: %v", err)
	}
}

// validatorPID finds the process serving `hosts up`'s first namespace.
func validatorPID(t *testing.T, upOutput string) int {
	t.Helper()
	_, rest, ok := strings.Cut(upOutput, "namespace ")
	if !ok {
		t.Fatalf("no namespace in:\n%s", upOutput)
	}
	ns := strings.Fields(rest)[0]
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", ns, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("namespace %s should hold one process, has %q", ns, out)
	}
	return pid
}

// sessionOf reads a process's session id from /proc/PID/stat ("PID (COMM) STATE
// PPID PGRP SESSION …"; COMM may hold spaces, so count from its ")").
func sessionOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	sid, err := strconv.Atoi(f[3])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return sid
}
