package bench

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHostConfigsPeerAddr writes a real `settled testnet` network for hosts,
// with a PeerAddr hook, and checks every address in the configs and the
// genesis, and that settled accepts the configs. It needs no namespaces.
func TestHostConfigsPeerAddr(t *testing.T) {
	bin := buildSettled(t)
	const n = 4
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 213, 250, byte(10 + i)})
	}
	proxy := func(from, to int, addr string) string {
		bridge, err := HostsBridgeAddr(addr)
		if err != nil {
			t.Errorf("HostsBridgeAddr(%q): %v", addr, err)
		}
		return fmt.Sprintf("%s:%d", bridge, 9000+10*from+to)
	}
	dir := t.TempDir()
	configs, err := writeHostConfigs(t.Context(), HostsOptions{Binary: bin, Validators: n, Accounts: 10, PeerAddr: proxy}, dir, addrs)
	if err != nil {
		t.Fatal(err)
	}
	for i, cfg := range configs {
		var c struct {
			APIAddr string `json:"api_addr"`
			Cluster struct {
				ListenAddr string            `json:"listen_addr"`
				Peers      map[string]string `json:"peers"`
			} `json:"cluster"`
		}
		readJSON(t, cfg, &c)
		if want := fmt.Sprintf("10.213.250.%d:%d", 10+i, HostAPIPort); c.APIAddr != want {
			t.Errorf("v%d api_addr %q, want %q", i, c.APIAddr, want)
		}
		if want := fmt.Sprintf("10.213.250.%d:%d", 10+i, HostReplicaPort); c.Cluster.ListenAddr != want {
			t.Errorf("v%d listen_addr %q, want %q", i, c.Cluster.ListenAddr, want)
		}
		if len(c.Cluster.Peers) != n-1 {
			t.Errorf("v%d has %d peers, want %d: %v", i, len(c.Cluster.Peers), n-1, c.Cluster.Peers)
		}
		for to := range n {
			if to == i {
				continue
			}
			if got, want := c.Cluster.Peers[fmt.Sprintf("v%d", to)], fmt.Sprintf("10.213.250.1:%d", 9000+10*i+to); got != want {
				t.Errorf("v%d reaches v%d at %q, want the hook's %q", i, to, got, want)
			}
		}
		if out, err := exec.Command(bin, "run", "-check", "-config", cfg).CombinedOutput(); err != nil || !strings.Contains(string(out), "config OK") {
			t.Errorf("settled run -check %s: %v: %s", cfg, err, out)
		}
	}
	var g struct {
		Validators []struct{ Address, APIAddress string } `json:"validators"`
	}
	readJSON(t, filepath.Join(dir, "genesis.json"), &g)
	for i, v := range g.Validators {
		if want := fmt.Sprintf("10.213.250.%d:%d", 10+i, HostReplicaPort); v.Address != want {
			t.Errorf("genesis v%d address %q, want %q", i, v.Address, want)
		}
	}
	for _, name := range append(configs, filepath.Join(dir, "genesis.json")) {
		if b, _ := os.ReadFile(name); strings.Contains(string(b), "127.0.0.1") {
			t.Errorf("%s still names 127.0.0.1:\n%s", name, b)
		}
	}
}

func TestHostConfigsRefuseBadPeerAddr(t *testing.T) {
	_, err := hostPeers(func(from, to int, addr string) string { return "nowhere" }, []string{"10.213.1.10:7800", "10.213.1.11:7800"})
	if err == nil || !strings.Contains(err.Error(), "not host:port") {
		t.Fatalf("hostPeers with a bad hook: %v", err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func skipWithoutNamespaces(t *testing.T) {
	t.Helper()
	if err := HostsSupported(); err != nil {
		t.Skipf("network namespaces not usable here: %v", err)
	}
}

// TestStartHostsFailureLeavesNothing makes StartHosts fail after it created
// the bridge and the namespaces (the binary cannot write a testnet) and checks
// that none of them, and no record of them, is left.
func TestStartHostsFailureLeavesNothing(t *testing.T) {
	skipWithoutNamespaces(t)
	var logs strings.Builder
	dir := t.TempDir()
	h, err := StartHosts(t.Context(), HostsOptions{Binary: "/bin/false", Dir: dir, Validators: 2,
		Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) }})
	if err == nil {
		h.Close()
		t.Fatal("StartHosts with a binary that cannot write a testnet succeeded")
	}
	m := regexp.MustCompile(`bridge sb-([0-9a-f]{6})`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no bridge was created before the failure (%v); logs:\n%s", err, logs.String())
	}
	assertRunGone(t, m[1])
	if _, err := os.Stat(filepath.Join(dir, HostsStateFile)); !os.IsNotExist(err) {
		t.Errorf("state file left after a failed start: %v", err)
	}
}

// TestCleanupStaleHosts records a run whose creator is gone and whose
// namespace runs nothing (what a crashed run leaves) and checks that the sweep
// removes it, and leaves a run whose creator lives.
func TestCleanupStaleHosts(t *testing.T) {
	skipWithoutNamespaces(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := hostsState{RunID: randomID(), OwnerPID: dead.Process.Pid, Dir: t.TempDir()}
	live := hostsState{RunID: randomID(), OwnerPID: os.Getpid(), Dir: t.TempDir()}
	for _, st := range []*hostsState{&stale, &live} {
		ns := "settle-" + st.RunID + "-v0"
		st.Namespaces = []string{ns}
		h := &Hosts{Dir: st.Dir, state: *st}
		if err := h.saveState(); err != nil {
			t.Fatal(err)
		}
		if _, err := ipRun(t.Context(), "netns", "add", ns); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { teardownHosts(live, t.Logf) })
	swept, err := CleanupStaleHosts()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(swept, " "), stale.RunID) || strings.Contains(strings.Join(swept, " "), live.RunID) {
		t.Errorf("swept %v; want %s swept and %s kept", swept, stale.RunID, live.RunID)
	}
	assertRunGone(t, stale.RunID)
	if present, _ := listNamespaces(t.Context()); !present["settle-"+live.RunID+"-v0"] {
		t.Errorf("the live run's namespace was removed")
	}
	if err := CleanupHosts(live.Dir); err != nil {
		t.Fatal(err)
	}
	assertRunGone(t, live.RunID)
}

// assertRunGone checks that no namespace, interface or record of run id is left.
func assertRunGone(t *testing.T, id string) {
	t.Helper()
	ns, err := ipRun(t.Context(), "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	links, err := ipRun(t.Context(), "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(ns+links, "\n") {
		if strings.Contains(line, id) {
			t.Errorf("left behind by run %s: %s", id, line)
		}
	}
	if _, err := os.Stat(registryPath(id)); !os.IsNotExist(err) {
		t.Errorf("registry entry of run %s left behind: %v", id, err)
	}
}
