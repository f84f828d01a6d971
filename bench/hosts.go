package bench

// Separate hosts on one machine: every validator runs in a Linux network
// namespace of its own, with its own address on a private bridge, so that
// nothing rides on a shared loopback and the harness reaches the validators as
// it reaches remote ones (-cluster). docs/bench.md, "Separate hosts (network
// namespaces)".

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Every validator of a hosts run listens on the same ports, each on its own
// namespace's address, as it would on a host of its own.
const (
	HostAPIPort     = 7700
	HostReplicaPort = 7800
)

// Files of a hosts run directory.
const (
	HostsStateFile   = "hosts.json"   // what the run created, for Close, CleanupHosts and the stale sweep
	HostsClusterFile = "cluster.json" // the -cluster file naming the validators
)

const (
	hostsValidatorsMax = 64
	hostsAccountsDef   = 10_000 // what the built-in scenarios use
	// hostsRegistryDir holds a copy of every live run's state, so that a run
	// whose directory is gone (a crashed test's temporary dir) can still be
	// swept. /run is a tmpfs, like /run/netns: both are empty after a reboot.
	hostsRegistryDir = "/run/settle-hosts"
	hostsLockFile    = "lock"
	hostsLockTimeout = 10 * time.Second
	ipTimeout        = 10 * time.Second
	// hostFirstOctet: validator i is .(10+i) of the run's /24, the bridge .1.
	hostFirstOctet = 10
)

// hostsNet is where runs take their /24s from: 10.213.X.0/24.
var hostsNet = [2]byte{10, 213}

// ErrNoHosts means a directory records no hosts run.
var ErrNoHosts = errors.New("no hosts run is recorded there")

// HostsOptions configure StartHosts.
type HostsOptions struct {
	Binary     string // the settled binary; "": go build ./cmd/settled into Dir/bin
	Dir        string // run directory (network, data, logs, state, cluster file); "": a temporary one that Close removes
	Validators int
	Accounts   int // demo accounts funded at genesis; 0: 10 000
	ChainID    string
	Genesis    string // a genesis file for `settled testnet -genesis`
	Block      BlockLimits
	ReplicaTLS *bool
	GoMaxProcs int
	// PeerAddr, when set, replaces the address validator from dials to reach
	// validator to (addr, to's namespace address and replica port): a proxy
	// on that link, say, listening on the bridge's address (HostsBridgeAddr of
	// addr), which the namespaces reach. It is called once per link, after the
	// bridge is up and before any validator starts. Default: addr.
	PeerAddr func(from, to int, addr string) string
	// Detach starts the validators in sessions of their own and without a
	// parent-death signal, so that they outlive this process (bench hosts up);
	// CleanupHosts(Dir) stops them.
	Detach bool
	Logf   func(string, ...any)
}

// Hosts is a running hosts run: one validator per network namespace.
type Hosts struct {
	Dir          string
	ClusterFile  string   // for -cluster: {"targets": [...], "chain_id": ...}
	Targets      []string // each validator's API, host:port on its namespace address
	ReplicaAddrs []string // each validator's replica listen address
	Namespaces   []string // validator i runs in Namespaces[i]
	ChainID      string
	Subnet       netip.Prefix // the run's /24
	Bridge       string       // the bridge in the root namespace
	BridgeAddr   netip.Addr   // its address: the root namespace's on the subnet

	state     hostsState
	cluster   *Cluster // the validator processes (Close stops them)
	removeDir bool
	logf      func(string, ...any)
	closeMu   sync.Mutex
	closed    bool
}

// hostsState is what a run has created (or is about to: every name is recorded
// before the thing is made, so no failure leaves an unrecorded one).
type hostsState struct {
	RunID       string          `json:"run_id"`
	Dir         string          `json:"dir"`
	OwnerPID    int             `json:"owner_pid"` // while it lives, the run is not stale
	Detached    bool            `json:"detached"`
	Subnet      string          `json:"subnet,omitempty"`
	Bridge      string          `json:"bridge,omitempty"`
	Namespaces  []string        `json:"namespaces,omitempty"`
	Veths       []string        `json:"veths,omitempty"` // the root namespace's ends
	Validators  []hostValidator `json:"validators,omitempty"`
	ClusterFile string          `json:"cluster_file,omitempty"`
}

type hostValidator struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	API       string `json:"api"`
	Replica   string `json:"replica"`
	PID       int    `json:"pid,omitempty"`
}

// HostsSupported says why validators cannot run in network namespaces here,
// or nil when they can: it creates and deletes a throwaway namespace, runs a
// command in it and makes a veth pair and a bridge inside it, which is what a
// run does, without touching the root namespace.
func HostsSupported() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("network namespaces are a Linux feature; this is %s", runtime.GOOS)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("no `ip` command (iproute2) on PATH: %w", err)
	}
	ctx := context.Background()
	ns := "settle-probe-" + randomID()
	if _, err := ipRun(ctx, "netns", "add", ns); err != nil {
		return notPermitted(fmt.Errorf("create a namespace: %w", err))
	}
	defer ipRun(ctx, "netns", "del", ns)
	for _, step := range [][]string{
		{"netns", "exec", ns, "ip", "link", "set", "lo", "up"},
		{"-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"},
		{"-n", ns, "link", "add", "probebr", "type", "bridge"},
	} {
		if _, err := ipRun(ctx, step...); err != nil {
			return notPermitted(err)
		}
	}
	if err := os.MkdirAll(hostsRegistryDir, 0o755); err != nil {
		return fmt.Errorf("record runs: %w", err)
	}
	return nil
}

// notPermitted adds the likely cause to a refusal.
func notPermitted(err error) error {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Errorf("not root (uid %d), and namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN: %w", uid, err)
	}
	return err
}

// StartHosts creates a bridge and one network namespace per validator, writes a
// `settled testnet` network whose every address is a namespace's, starts each
// validator inside its namespace and waits until all answer /readyz. On any
// failure it removes everything it created before returning.
func StartHosts(ctx context.Context, o HostsOptions) (h *Hosts, err error) {
	if o.Validators < 1 || o.Validators > hostsValidatorsMax {
		return nil, fmt.Errorf("separate hosts: validators must be 1 to %d, got %d", hostsValidatorsMax, o.Validators)
	}
	if o.Accounts == 0 {
		o.Accounts = hostsAccountsDef
	}
	if err := HostsSupported(); err != nil {
		return nil, fmt.Errorf("network namespaces are not usable here: %w", err)
	}
	h = &Hosts{logf: o.Logf}
	if h.logf == nil {
		h.logf = func(string, ...any) {}
	}
	if swept, err := CleanupStaleHosts(); err != nil {
		h.logf("sweeping stale hosts runs: %v", err)
	} else if len(swept) > 0 {
		h.logf("removed stale hosts runs %s", strings.Join(swept, ", "))
	}
	if h.Dir, h.removeDir, err = prepareHostsDir(o.Dir); err != nil {
		return nil, err
	}
	h.state = hostsState{RunID: randomID(), Dir: h.Dir, OwnerPID: os.Getpid(), Detached: o.Detach}
	defer func() {
		if err != nil {
			if cerr := h.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", cerr))
			}
			h = nil
		}
	}()
	if err := h.saveState(); err != nil {
		return h, err
	}
	if o.Binary == "" {
		// Into the run dir, not a temporary one: detached validators outlive
		// this process and keep running that file.
		h.logf("hosts: building settled (go build ./cmd/settled)")
		if o.Binary, err = BuildSettled(ctx, filepath.Join(h.Dir, "bin")); err != nil {
			return h, err
		}
	}
	if err := h.createNetwork(ctx, o.Validators); err != nil {
		return h, err
	}
	configs, err := h.writeConfigs(ctx, o)
	if err != nil {
		return h, err
	}
	if err := h.startValidators(ctx, o, configs); err != nil {
		return h, err
	}
	h.ClusterFile = filepath.Join(h.Dir, HostsClusterFile)
	h.state.ClusterFile = h.ClusterFile
	if err := writeClusterFile(h.ClusterFile, h.Targets, h.ChainID); err != nil {
		return h, err
	}
	return h, h.saveState()
}

// prepareHostsDir creates the run directory. A directory may be reused once
// its earlier run is down: only what a run writes there is replaced.
func prepareHostsDir(dir string) (string, bool, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "settle-hosts-")
		if err != nil {
			return "", false, fmt.Errorf("hosts run dir: %w", err)
		}
		return d, true, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("hosts run dir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, HostsStateFile)); err == nil {
		return "", false, fmt.Errorf("%s already holds a hosts run: stop it first (bench hosts down -dir %s)", dir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false, fmt.Errorf("hosts run dir: %w", err)
	}
	ours := []string{"net", "logs", "bin", HostsClusterFile}
	for _, e := range entries {
		if !slices.Contains(ours, e.Name()) {
			return "", false, fmt.Errorf("%s holds %s, which no hosts run wrote: give an empty or new -dir", dir, e.Name())
		}
	}
	for _, name := range []string{"net", "logs", HostsClusterFile} { // bin: the binary this run may be using
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return "", false, fmt.Errorf("clear the earlier run from %s: %w", dir, err)
		}
	}
	return dir, false, nil
}

// createNetwork makes the bridge on a free /24 and one namespace per validator
// on it. The subnet is chosen and taken under a machine-wide lock, so that two
// runs starting together cannot pick the same one.
func (h *Hosts) createNetwork(ctx context.Context, n int) error {
	unlock, err := lockHosts(ctx)
	if err != nil {
		return err
	}
	err = h.createBridge(ctx)
	unlock()
	if err != nil {
		return err
	}
	for i := range n {
		if err := h.createHost(ctx, i); err != nil {
			return err
		}
	}
	h.logf("hosts: bridge %s %s, namespaces %s", h.Bridge, h.BridgeAddr, strings.Join(h.Namespaces, ", "))
	return nil
}

func (h *Hosts) createBridge(ctx context.Context) error {
	subnet, err := pickSubnet(ctx)
	if err != nil {
		return err
	}
	h.Subnet, h.BridgeAddr = subnet, subnet.Addr().Next()
	h.Bridge = "sb-" + h.state.RunID
	h.state.Subnet, h.state.Bridge = subnet.String(), h.Bridge
	if err := h.saveState(); err != nil {
		return err
	}
	for _, step := range [][]string{
		{"link", "add", h.Bridge, "type", "bridge"},
		{"addr", "add", netip.PrefixFrom(h.BridgeAddr, subnet.Bits()).String(), "dev", h.Bridge},
		{"link", "set", h.Bridge, "up"},
	} {
		if _, err := ipRun(ctx, step...); err != nil {
			return fmt.Errorf("create bridge %s: %w", h.Bridge, err)
		}
	}
	return nil
}

// createHost makes validator i's namespace and its veth pair: one end on the
// bridge, the other (eth0) in the namespace with the validator's address.
func (h *Hosts) createHost(ctx context.Context, i int) error {
	ns := fmt.Sprintf("settle-%s-v%d", h.state.RunID, i)
	veth := fmt.Sprintf("sv-%s-%d", h.state.RunID, i) // at most 15 bytes, the kernel's limit
	addr := hostAddr(h.Subnet, i)
	h.Namespaces = append(h.Namespaces, ns)
	h.state.Namespaces = append(h.state.Namespaces, ns)
	h.state.Veths = append(h.state.Veths, veth)
	if err := h.saveState(); err != nil {
		return err
	}
	if _, err := ipRun(ctx, "netns", "add", ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	for _, step := range [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", veth, "master", h.Bridge, "up"},
		{"-n", ns, "addr", "add", netip.PrefixFrom(addr, h.Subnet.Bits()).String(), "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if _, err := ipRun(ctx, step...); err != nil {
			return fmt.Errorf("connect namespace %s: %w", ns, err)
		}
	}
	return nil
}

// hostAddr is validator i's address on the subnet.
func hostAddr(subnet netip.Prefix, i int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(hostFirstOctet + i)
	return netip.AddrFrom4(b)
}

// HostsBridgeAddr is the root namespace's address on the bridge of the run a
// validator address (host or host:port) belongs to: where a proxy on a link
// listens, since every namespace reaches it.
func HostsBridgeAddr(addr string) (netip.Addr, error) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address of a hosts run", addr)
	}
	b := a.As4()
	b[3] = 1
	return netip.AddrFrom4(b), nil
}

// pickSubnet returns a 10.213.X.0/24 that overlaps no address or route of the
// root namespace, starting at a random X.
func pickSubnet(ctx context.Context) (netip.Prefix, error) {
	used, err := usedPrefixes(ctx)
	if err != nil {
		return netip.Prefix{}, err
	}
	start := mrand.IntN(256)
	for k := range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{hostsNet[0], hostsNet[1], byte((start + k) % 256), 0}), 24)
		if !slices.ContainsFunc(used, p.Overlaps) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("every %d.%d.X.0/24 is in use on this machine", hostsNet[0], hostsNet[1])
}

// usedPrefixes are the IPv4 addresses and routes of the root namespace: every
// word of `ip -4 addr` and `ip -4 route` that parses as a prefix or address.
func usedPrefixes(ctx context.Context) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		text, err := ipRun(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("list addresses in use: %w", err)
		}
		for _, word := range strings.Fields(text) {
			if p, err := netip.ParsePrefix(word); err == nil && p.Bits() > 0 {
				out = append(out, p.Masked())
			} else if a, err := netip.ParseAddr(word); err == nil && a.Is4() && !a.IsUnspecified() {
				out = append(out, netip.PrefixFrom(a, 32))
			}
		}
	}
	return out, nil
}

// lockHosts takes the machine-wide lock of hosts runs (a file lock, so that it
// dies with its holder), waiting at most hostsLockTimeout.
func lockHosts(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(hostsRegistryDir, 0o755); err != nil {
		return nil, fmt.Errorf("hosts registry: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(hostsRegistryDir, hostsLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hosts lock: %w", err)
	}
	deadline := time.Now().Add(hostsLockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) || ctx.Err() != nil {
			f.Close()
			return nil, fmt.Errorf("take the hosts lock %s: %w", f.Name(), errors.Join(err, ctx.Err()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeConfigs writes the network into Dir/net with every address on the
// namespaces and returns each validator's config.
func (h *Hosts) writeConfigs(ctx context.Context, o HostsOptions) ([]string, error) {
	addrs := make([]netip.Addr, o.Validators)
	for i := range addrs {
		addrs[i] = hostAddr(h.Subnet, i)
	}
	configs, err := writeHostConfigs(ctx, o, filepath.Join(h.Dir, "net"), addrs)
	if err != nil {
		return nil, err
	}
	if h.ChainID, err = genesisChainID(configs[0]); err != nil {
		return nil, err
	}
	for i := range addrs {
		api, replica := hostEndpoints(addrs[i])
		h.Targets = append(h.Targets, api)
		h.ReplicaAddrs = append(h.ReplicaAddrs, replica)
		h.state.Validators = append(h.state.Validators, hostValidator{Name: fmt.Sprintf("v%d", i),
			Namespace: h.Namespaces[i], API: api, Replica: replica})
	}
	return configs, h.saveState()
}

// hostEndpoints are a validator's API and replica addresses on its namespace.
func hostEndpoints(a netip.Addr) (api, replica string) {
	return netip.AddrPortFrom(a, HostAPIPort).String(), netip.AddrPortFrom(a, HostReplicaPort).String()
}

// writeHostConfigs writes a `settled init/testnet` network into dir and moves
// validator i to addrs[i]: its api_addr and cluster.listen_addr, the genesis
// addresses (which the genesis hash leaves out), and every config's
// cluster.peers, through o.PeerAddr. Nothing is left on 127.0.0.1.
func writeHostConfigs(ctx context.Context, o HostsOptions, dir string, addrs []netip.Addr) ([]string, error) {
	configs, err := writeClusterConfig(ctx, LocalOptions{Binary: o.Binary, Validators: o.Validators,
		Accounts: o.Accounts, ChainID: o.ChainID, Genesis: o.Genesis}, dir)
	if err != nil {
		return nil, err
	}
	apis, replicas := make([]string, len(addrs)), make([]string, len(addrs))
	for i, a := range addrs {
		apis[i], replicas[i] = hostEndpoints(a)
	}
	if err := moveGenesisValidators(configs[0], apis, replicas); err != nil {
		return nil, err
	}
	peers, err := hostPeers(o.PeerAddr, replicas)
	if err != nil {
		return nil, err
	}
	vals, err := readGenesisValidators(configs[0])
	if err != nil {
		return nil, err
	}
	for i, cfg := range configs {
		if err := patchConfig(cfg, o.Block, o.ReplicaTLS, nil); err != nil {
			return nil, err
		}
		if err := setHostAddrs(cfg, apis[i], replicas[i]); err != nil {
			return nil, err
		}
		if len(configs) > 1 {
			if err := setPeers(cfg, i, vals, func(from, to int, _ string) string { return peers[from][to] }); err != nil {
				return nil, err
			}
		}
	}
	return configs, nil
}

// hostPeers asks the hook for every link's address once and checks each.
func hostPeers(hook func(from, to int, addr string) string, replicas []string) ([][]string, error) {
	out := make([][]string, len(replicas))
	for from := range replicas {
		out[from] = make([]string, len(replicas))
		for to, addr := range replicas {
			if to == from {
				continue
			}
			if hook != nil {
				addr = hook(from, to, addr)
			}
			if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
				return nil, fmt.Errorf("PeerAddr(%d, %d) gave %q, which is not host:port", from, to, addr)
			}
			out[from][to] = addr
		}
	}
	return out, nil
}

// setHostAddrs puts a validator's API and replica listener on its namespace.
func setHostAddrs(cfg, api, replica string) error {
	return editConfig(cfg, func(m map[string]any) error {
		m["api_addr"] = api
		if cl, ok := m["cluster"].(map[string]any); ok {
			cl["listen_addr"] = replica
		}
		return nil
	})
}

// moveGenesisValidators writes the namespace addresses into the genesis the
// config names, keeping every other field's bytes: anyone reading it (an
// operator, a tool) sees where the validators are.
func moveGenesisValidators(cfg string, apis, replicas []string) error {
	path, err := genesisPath(cfg)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read genesis: %w", err)
	}
	var g map[string]json.RawMessage
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("parse genesis %s: %w", path, err)
	}
	var vals []map[string]any
	if err := json.Unmarshal(g["validators"], &vals); err != nil {
		return fmt.Errorf("parse genesis %s validators: %w", path, err)
	}
	if len(vals) != len(apis) {
		return fmt.Errorf("genesis %s names %d validators, not %d", path, len(vals), len(apis))
	}
	for i, v := range vals {
		v["address"], v["api_address"] = replicas[i], apis[i]
	}
	if g["validators"], err = json.Marshal(vals); err != nil {
		return err
	}
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}

// genesisPath is the genesis file a validator config names.
func genesisPath(cfg string) (string, error) {
	raw, err := os.ReadFile(cfg)
	if err != nil {
		return "", fmt.Errorf("read validator config: %w", err)
	}
	var fc struct {
		GenesisFile string `json:"genesis_file"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil || fc.GenesisFile == "" {
		return "", fmt.Errorf("validator config %s names no genesis_file", cfg)
	}
	if filepath.IsAbs(fc.GenesisFile) {
		return fc.GenesisFile, nil
	}
	return filepath.Join(filepath.Dir(cfg), fc.GenesisFile), nil
}

func genesisChainID(cfg string) (string, error) {
	path, err := genesisPath(cfg)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read genesis: %w", err)
	}
	var g struct {
		ChainID string `json:"chain_id"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || g.ChainID == "" {
		return "", fmt.Errorf("genesis %s names no chain_id", path)
	}
	return g.ChainID, nil
}

// startValidators runs each validator as `ip netns exec NS settled run`, in its
// own process group, and waits until all are ready; the root namespace reaches
// them through the bridge.
func (h *Hosts) startValidators(ctx context.Context, o HostsOptions, configs []string) error {
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("no ip command: %w", err)
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return err
	}
	attr := childProcAttr()
	if o.Detach {
		attr = &syscall.SysProcAttr{Setsid: true} // its own session and group: no terminal's signals, no parent-death signal
	}
	h.cluster = &Cluster{Targets: h.Targets, ChainID: h.ChainID, Local: true, Dir: h.Dir, keepDir: true, logf: h.logf}
	for i, cfg := range configs {
		launch := nodeLaunch{prefix: []string{ipBin, "netns", "exec", h.Namespaces[i]}, attr: attr}
		p, err := startNodeWith(launch, bin, h.state.Validators[i].Name, cfg, h.Dir, o.GoMaxProcs)
		if err != nil {
			return err
		}
		h.cluster.procs = append(h.cluster.procs, p)
		h.state.Validators[i].PID = p.cmd.Process.Pid
	}
	if err := h.saveState(); err != nil {
		return err
	}
	if err := h.cluster.waitReady(ctx); err != nil {
		return err
	}
	h.logf("hosts: %d validator(s) ready, API %s", len(configs), strings.Join(h.Targets, ", "))
	return nil
}

// writeClusterFile writes the JSON form LoadClusterFile reads.
func writeClusterFile(path string, targets []string, chainID string) error {
	f := struct {
		Targets []string `json:"targets"`
		ChainID string   `json:"chain_id"`
	}{ChainID: chainID}
	for _, t := range targets {
		f.Targets = append(f.Targets, "http://"+t)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write cluster file: %w", err)
	}
	return nil
}

// Pids are the validators' process ids (after `ip netns exec` has become the
// validator).
func (h *Hosts) Pids() []int { return h.cluster.Pids() }

// Exited reports validators that have died, with their errors.
func (h *Hosts) Exited() []string { return h.cluster.Exited() }

// Close stops the validators (SIGTERM to each process group, SIGKILL after
// 10 s), then deletes the namespaces, the veths and the bridge. It removes the
// run directory only if StartHosts made it. It is safe to call more than once.
func (h *Hosts) Close() error {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	var errs []error
	if h.cluster != nil {
		if err := h.cluster.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := teardownHosts(h.state, h.logf); err != nil {
		errs = append(errs, err)
	}
	if h.removeDir && len(errs) == 0 {
		if err := os.RemoveAll(h.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove hosts run dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// CleanupHosts stops and removes everything the hosts run recorded in dir
// records (bench hosts down, or what a crashed run left): the processes in its
// namespaces, the namespaces, veths and bridge. The logs and data stay in dir.
func CleanupHosts(dir string) error {
	st, err := readHostsState(filepath.Join(dir, HostsStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", dir, ErrNoHosts)
	}
	if err != nil {
		return err
	}
	return teardownHosts(st, func(string, ...any) {})
}

// CleanupStaleHosts removes every recorded run that is stale: the process that
// created it is gone and nothing runs in its namespaces (a crashed test, whose
// validators died with it). A detached run that still serves is not stale. It
// returns the run ids removed.
func CleanupStaleHosts() ([]string, error) {
	unlock, err := lockHosts(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	paths, err := filepath.Glob(filepath.Join(hostsRegistryDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var swept []string
	var errs []error
	for _, p := range paths {
		st, err := readHostsState(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if stale, err := hostsStale(st); err != nil || !stale {
			errs = append(errs, err)
			continue
		}
		if err := teardownHosts(st, func(string, ...any) {}); err != nil {
			errs = append(errs, fmt.Errorf("stale hosts run %s: %w", st.RunID, err))
			continue
		}
		swept = append(swept, st.RunID)
	}
	return swept, errors.Join(errs...)
}

func hostsStale(st hostsState) (bool, error) {
	if processAlive(st.OwnerPID) {
		return false, nil
	}
	present, err := listNamespaces(context.Background())
	if err != nil {
		return false, err
	}
	for _, ns := range st.Namespaces {
		if !present[ns] {
			continue
		}
		pids, err := namespacePIDs(context.Background(), ns)
		if err != nil || len(pids) > 0 {
			return false, err
		}
	}
	return true, nil
}

// processAlive: a signal 0 reaches it (EPERM: it exists, someone else's), and
// it is not a zombie, which a killed owner stays until its parent reaps it.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc to ask: trust the signal
	}
	// "PID (COMM) STATE …": COMM may hold spaces and parentheses.
	after := stat[bytes.LastIndexByte(stat, ')')+1:]
	f := strings.Fields(string(after))
	return len(f) == 0 || f[0] != "Z"
}

// teardownHosts stops whatever still runs in the run's namespaces and deletes
// what the run created that still exists, then its state files. A veth goes
// first: deleting it removes both ends at once, where a namespace's deletion
// frees its end only later, asynchronously.
func teardownHosts(st hostsState, logf func(string, ...any)) error {
	ctx := context.Background()
	present, err := listNamespaces(ctx)
	if err != nil {
		return err
	}
	links, err := listLinks(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range st.Namespaces {
		if present[ns] {
			if err := stopNamespace(ctx, ns, logf); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, veth := range st.Veths {
		if links[veth] {
			if _, err := ipRun(ctx, "link", "del", veth); err != nil {
				errs = append(errs, fmt.Errorf("delete veth %s: %w", veth, err))
			}
		}
	}
	for _, ns := range st.Namespaces {
		if present[ns] {
			if _, err := ipRun(ctx, "netns", "del", ns); err != nil {
				errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns, err))
			}
		}
	}
	if st.Bridge != "" && links[st.Bridge] {
		if _, err := ipRun(ctx, "link", "del", st.Bridge); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", st.Bridge, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // the state stays, for another try
	}
	return removeHostsState(st)
}

// stopNamespace ends every process in a namespace: SIGTERM, SIGKILL after
// stopTimeout, each wait bounded.
func stopNamespace(ctx context.Context, ns string, logf func(string, ...any)) error {
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, stopTimeout}, {syscall.SIGKILL, 5 * time.Second}} {
		pids, err := namespacePIDs(ctx, ns)
		if err != nil || len(pids) == 0 {
			return err
		}
		logf("hosts: %v to %d process(es) in %s", step.sig, len(pids), ns)
		for _, pid := range pids {
			_ = syscall.Kill(pid, step.sig) // ESRCH: gone meanwhile
		}
		for deadline := time.Now().Add(step.wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if pids, err = namespacePIDs(ctx, ns); err != nil || len(pids) == 0 {
				return err
			}
		}
	}
	pids, _ := namespacePIDs(ctx, ns)
	return fmt.Errorf("processes %v in namespace %s survived SIGKILL", pids, ns)
}

func namespacePIDs(ctx context.Context, ns string) ([]int, error) {
	out, err := ipRun(ctx, "netns", "pids", ns)
	if err != nil {
		return nil, fmt.Errorf("list processes in namespace %s: %w", ns, err)
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// listNamespaces are the named network namespaces (`ip netns list`: "NAME" or
// "NAME (id: N)" a line).
func listNamespaces(ctx context.Context) (map[string]bool, error) {
	out, err := ipRun(ctx, "netns", "list")
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = true
		}
	}
	return m, nil
}

// listLinks are the root namespace's interfaces (`ip -o link`: "N: NAME[@PEER]: …").
func listLinks(ctx context.Context) (map[string]bool, error) {
	out, err := ipRun(ctx, "-o", "link", "show")
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			m[name] = true
		}
	}
	return m, nil
}

// ipRun runs iproute2's ip, bounded by ipTimeout; the error carries its output.
func ipRun(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ipTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// saveState writes the run's state into its directory and the registry.
func (h *Hosts) saveState() error {
	b, err := json.MarshalIndent(h.state, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.MkdirAll(hostsRegistryDir, 0o755); err != nil {
		return fmt.Errorf("hosts registry: %w", err)
	}
	for _, path := range []string{filepath.Join(h.Dir, HostsStateFile), registryPath(h.state.RunID)} {
		if err := writeFileAtomic(path, b); err != nil {
			return fmt.Errorf("record hosts run: %w", err)
		}
	}
	return nil
}

func registryPath(runID string) string { return filepath.Join(hostsRegistryDir, runID+".json") }

// writeFileAtomic replaces path whole, so that a crash never leaves half a state.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readHostsState(path string) (hostsState, error) {
	var st hostsState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil || st.RunID == "" {
		return st, fmt.Errorf("hosts state %s is not a hosts run's: %v", path, err)
	}
	return st, nil
}

// removeHostsState deletes the run's state files: nothing is left to clean.
// The directory's copy goes only if it is this run's.
func removeHostsState(st hostsState) error {
	var errs []error
	if st.Dir != "" {
		p := filepath.Join(st.Dir, HostsStateFile)
		if cur, err := readHostsState(p); err == nil && cur.RunID == st.RunID {
			errs = append(errs, os.Remove(p))
		}
	}
	if err := os.Remove(registryPath(st.RunID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// randomID names a run: 6 hex digits keep interface names within 15 bytes.
func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
