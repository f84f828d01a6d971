package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"settle/consensus/cluster"
)

// Cluster is a set of validators under test: local `settled` processes the
// harness started, or remote ones named in a cluster file.
type Cluster struct {
	Targets []string // API addresses, host:port
	ChainID string
	Local   bool
	Dir     string // local: the cluster's work directory (configs, data, logs)

	procs   []*nodeProc
	wan     *WAN
	keepDir bool
	logf    func(string, ...any)
	closeMu sync.Mutex
	closed  bool
}

// nodeProc is one validator process. It runs in its own process group, so that a
// signal reaches everything it may have started and the terminal's Ctrl-C reaches
// the harness only, which then shuts the validators down in order.
type nodeProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	err    error         // the exit error, once exited is closed
	log    *os.File
}

// LocalOptions configure StartLocal.
type LocalOptions struct {
	Binary     string // the settled binary
	Dir        string // work directory to create; "" for a fresh temporary one
	KeepDir    bool   // keep Dir after Close (logs, data) for inspection
	Validators int
	Accounts   int
	Block      BlockLimits
	ReplicaTLS *bool    // every validator's cluster "replica_tls"; nil: the validators' default
	StateRoot  *bool    // false: every validator's "bench_state_root_off"
	GoMaxProcs int      // GOMAXPROCS for every validator; 0: the Go default
	WAN        *WANSpec // shape every validator-to-validator link (several validators only)
	// ViewTimeoutMs sets every validator's cluster view timeout (0: the default);
	// a WAN with a long round trip needs one above a few round trips.
	ViewTimeoutMs int
	ChainID       string
	Genesis       string // a genesis file for `settled init/testnet -genesis` ("" : the dev genesis of Accounts)
	Logf          func(string, ...any)
}

// Timeouts of cluster set-up and teardown.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	probeTimeout = 2 * time.Second
)

// ErrNoTestnet means the settled binary cannot write a multi-validator cluster.
var ErrNoTestnet = errors.New("this settled binary has no `testnet` command, so only one local validator can be started")

// StartLocal writes the configuration for a local cluster, starts every validator
// as a `settled run` child process and waits until all of them answer /readyz.
// On any failure it tears down what it started before returning.
func StartLocal(ctx context.Context, o LocalOptions) (c *Cluster, err error) {
	if o.Validators < 1 {
		return nil, fmt.Errorf("a local cluster needs at least one validator, got %d", o.Validators)
	}
	c = &Cluster{Local: true, Dir: o.Dir, keepDir: o.KeepDir, logf: o.Logf, ChainID: o.ChainID}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "settle-bench-"); err != nil {
			return nil, fmt.Errorf("cluster work dir: %w", err)
		}
	}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	configs, err := writeClusterConfig(ctx, o, c.Dir)
	if err != nil {
		return c, err
	}
	if err := c.shapeLinks(o, configs); err != nil {
		return c, err
	}
	for i, cfg := range configs {
		if err := patchConfig(cfg, o.Block, o.ReplicaTLS, o.StateRoot); err != nil {
			return c, err
		}
		addr, err := configAPIAddr(cfg)
		if err != nil {
			return c, err
		}
		c.Targets = append(c.Targets, addr)
		p, err := startNode(o.Binary, fmt.Sprintf("v%d", i), cfg, c.Dir, o.GoMaxProcs)
		if err != nil {
			return c, err
		}
		c.procs = append(c.procs, p)
	}
	c.logf("started %d validator(s) in %s (API %s)", len(c.procs), c.Dir, strings.Join(c.Targets, ", "))
	return c, c.waitReady(ctx)
}

// shapeLinks starts the scenario's WAN, if any, and points every validator's
// peers at its proxies; it also writes the view timeout.
func (c *Cluster) shapeLinks(o LocalOptions, configs []string) error {
	if o.ViewTimeoutMs > 0 && len(configs) > 1 {
		tickMs := int(cluster.TickPeriodDefault / time.Millisecond)
		ticks := (o.ViewTimeoutMs + tickMs - 1) / tickMs
		for _, cfg := range configs {
			if err := editConfig(cfg, func(m map[string]any) error {
				cl, ok := m["cluster"].(map[string]any)
				if !ok {
					return fmt.Errorf("validator config %s has no cluster section", cfg)
				}
				cl["view_timeout_ticks"] = ticks
				if ticks > cluster.ViewTimeoutTicksMaxDefault {
					cl["view_timeout_ticks_max"] = ticks
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	if o.WAN == nil || len(configs) < 2 {
		return nil
	}
	var err error
	if c.wan, err = ShapeLinks(*o.WAN, configs, "127.0.0.1"); err != nil {
		return err
	}
	c.logf("WAN: %s", o.WAN.Describe())
	return nil
}

// writeClusterConfig runs `settled init` (one validator) or `settled testnet` and
// returns the config file of each validator, in index order.
func writeClusterConfig(ctx context.Context, o LocalOptions, dir string) ([]string, error) {
	chain := []string{}
	if o.ChainID != "" {
		chain = []string{"-chain-id", o.ChainID}
	}
	if o.Genesis != "" {
		chain = append(chain, "-genesis", o.Genesis)
	}
	if o.Validators == 1 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := append([]string{"init", "-dir", dir, "-accounts", strconv.Itoa(o.Accounts), "-api", port}, chain...)
		if err := runSettled(ctx, o.Binary, args...); err != nil {
			return nil, err
		}
		return []string{filepath.Join(dir, "config.json")}, nil
	}
	if !HasTestnet(ctx, o.Binary) {
		return nil, fmt.Errorf("%d validators: %w", o.Validators, ErrNoTestnet)
	}
	args := append([]string{"testnet", "-validators", strconv.Itoa(o.Validators), "-dir", dir, "-accounts", strconv.Itoa(o.Accounts)}, chain...)
	if err := runSettled(ctx, o.Binary, args...); err != nil {
		return nil, err
	}
	configs := make([]string, o.Validators)
	for i := range configs {
		// Two layouts are accepted: D/v<i>.json (today's) and D/v<i>/config.json.
		for _, p := range []string{filepath.Join(dir, fmt.Sprintf("v%d.json", i)), filepath.Join(dir, fmt.Sprintf("v%d", i), "config.json")} {
			if _, err := os.Stat(p); err == nil {
				configs[i] = p
				break
			}
		}
		if configs[i] == "" {
			return nil, fmt.Errorf("settled testnet wrote no config for validator v%d in %s", i, dir)
		}
	}
	return configs, nil
}

// HasTestnet reports whether the binary knows `settled testnet`: its help then
// lists the -validators flag.
func HasTestnet(ctx context.Context, binary string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, binary, "testnet", "-h").CombinedOutput() // older binaries exit non-zero on -h
	return bytes.Contains(out, []byte("-validators"))
}

func runSettled(ctx context.Context, binary string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("settled %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// patchConfig writes the scenario's block limits, state-root and replica TLS settings into a
// validator config, keeping every other field as settled wrote it. replicaTLS
// applies only to a config with a "cluster" section (several validators).
func patchConfig(path string, b BlockLimits, replicaTLS, stateRoot *bool) error {
	return editConfig(path, func(m map[string]any) error {
		set := func(key string, v int) {
			if v > 0 {
				m[key] = v
			}
		}
		set("block_tx_max", b.TxMax)
		set("block_bytes_max", b.BytesMax)
		set("block_delay_ms", b.DelayMs)
		set("mempool_tx_max", b.MempoolTxMax)
		if stateRoot != nil && !*stateRoot {
			m["bench_state_root_off"] = true
		}
		if cl, ok := m["cluster"].(map[string]any); ok && replicaTLS != nil {
			cl["replica_tls"] = *replicaTLS
		}
		return nil
	})
}

func configAPIAddr(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read validator config: %w", err)
	}
	var fc struct {
		APIAddr string `json:"api_addr"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil || fc.APIAddr == "" {
		return "", fmt.Errorf("validator config %s names no api_addr", path)
	}
	return fc.APIAddr, nil
}

func startNode(binary, name, cfg, dir string, gomaxprocs int) (*nodeProc, error) {
	return startNodeWith(nodeLaunch{attr: childProcAttr()}, binary, name, cfg, dir, gomaxprocs)
}

// nodeLaunch says how a validator process starts: prefix is a command that runs
// the binary (`ip netns exec NS`, to put it on a host of its own, bench/hosts.go)
// and attr its process group and parent-death signal.
type nodeLaunch struct {
	prefix []string
	attr   *syscall.SysProcAttr
}

func startNodeWith(l nodeLaunch, binary, name, cfg, dir string, gomaxprocs int) (*nodeProc, error) {
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	argv := append(append(l.prefix[:len(l.prefix):len(l.prefix)], binary), "run", "-config", cfg)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = os.Environ()
	if gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	cmd.SysProcAttr = l.attr
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &nodeProc{name: name, cmd: cmd, exited: make(chan struct{}), log: log}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls every validator's /readyz until all answer 200.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: probeTimeout}
	for i, addr := range c.Targets {
		for {
			if p := c.procs[i]; p != nil {
				select {
				case <-p.exited:
					return fmt.Errorf("validator %s exited before it was ready (%v); last log lines:\n%s", p.name, p.err, tailFile(p.log.Name(), 10))
				default:
				}
			}
			if probe(ctx, client, "http://"+addr+"/readyz") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("validator at %s was not ready within %v: %w", addr, readyTimeout, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func probe(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Exited reports validators that have died during the run, with their errors.
func (c *Cluster) Exited() []string {
	var out []string
	for _, p := range c.procs {
		select {
		case <-p.exited:
			out = append(out, fmt.Sprintf("%s: %v", p.name, p.err))
		default:
		}
	}
	return out
}

// Pids are the local validators' process ids.
func (c *Cluster) Pids() []int {
	var out []int
	for _, p := range c.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// Close stops every local validator: SIGTERM to its process group, then SIGKILL
// after stopTimeout. It removes the work directory unless asked to keep it. It is
// safe to call more than once.
func (c *Cluster) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed || !c.Local {
		return nil
	}
	c.closed = true
	for _, p := range c.procs {
		signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(stopTimeout)
	var errs []error
	for _, p := range c.procs {
		select {
		case <-p.exited:
		case <-deadline:
			c.logf("validator %s did not stop within %v: killing it", p.name, stopTimeout)
			signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		// The group may hold children of the validator: make sure none survive.
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
		p.log.Close()
	}
	c.wan.Close()
	if !c.keepDir && c.Dir != "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cluster dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// LoadClusterFile reads remote validators: a JSON object {"targets": [...],
// "chain_id": "..."} or plain text with one API URL per line (# comments).
func LoadClusterFile(path string) (*Cluster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster file: %w", err)
	}
	c := &Cluster{}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var f struct {
			Targets []string `json:"targets"`
			ChainID string   `json:"chain_id"`
		}
		if err := json.Unmarshal(t, &f); err != nil {
			return nil, fmt.Errorf("cluster file %s is not valid JSON: %w", path, err)
		}
		c.Targets, c.ChainID = f.Targets, f.ChainID
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				c.Targets = append(c.Targets, line)
			}
		}
	}
	for i, t := range c.Targets {
		addr := strings.TrimSuffix(strings.TrimPrefix(t, "http://"), "/")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("cluster file %s: target %q is not host:port or http://host:port", path, t)
		}
		c.Targets[i] = addr
	}
	if len(c.Targets) == 0 {
		return nil, fmt.Errorf("cluster file %s names no validators", path)
	}
	return c, nil
}

// freePort returns a 127.0.0.1 address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tailFile returns the last n lines of a file (for error messages).
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
