package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
)

// runTestnet writes a local cluster: a genesis naming N validators (replica and
// API addresses on free 127.0.0.1 ports), and per validator a config and a key.
func runTestnet(args []string) error {
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	validators := fs.Int("validators", 4, "validator count (n = 3f+1 recommended)")
	dir := fs.String("dir", "", "directory to create")
	accounts := fs.Int("accounts", devnet.DefaultOptions().Accounts, "demo accounts to fund")
	chainID := fs.String("chain-id", devnet.ChainID, "chain id")
	genesisFile := fs.String("genesis", "", "start from this genesis (e.g. `loadgen genesis -mix interbank`) instead of the dev one; its validators are replaced by the N written here, its chain id and accounts win over -chain-id and -accounts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("testnet: -dir is required")
	}
	var base *ledger.Genesis
	if *genesisFile != "" {
		var err error
		if base, err = givenGenesis(*genesisFile); err != nil {
			return err
		}
		*chainID, *accounts = base.ChainID, len(base.Accounts)
	}
	addrs, err := freeAddrs(2 * *validators)
	if err != nil {
		return err
	}
	err = writeTestnetFrom(*dir, *validators, *accounts, *chainID, base, func(i int) (string, string) { return addrs[2*i], addrs[2*i+1] })
	if err != nil {
		return err
	}
	for i := 0; i < *validators; i++ {
		fmt.Printf("validator v%d: config %s, API http://%s, replica %s\n", i, filepath.Join(*dir, fmt.Sprintf("v%d.json", i)), addrs[2*i+1], addrs[2*i])
	}
	return nil
}

// freeAddrs returns n distinct free 127.0.0.1 ports (free when asked; a race with
// other programs is possible but harmless for tests and local clusters).
func freeAddrs(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	out := make([]string, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		out[i] = ln.Addr().String()
	}
	return out, nil
}

// writeTestnet writes genesis.json, demo-keys.json and, per validator i,
// v<i>.json (config, 0600: it holds the operator token), v<i>.key (0600) with data
// in v<i>/. addr(i) gives validator i's replica and API addresses.
func writeTestnet(dir string, n, accounts int, chainID string, addr func(i int) (replica, api string)) error {
	return writeTestnetFrom(dir, n, accounts, chainID, nil, addr)
}

// writeTestnetFrom is writeTestnet on base (a -genesis file) when it is not nil:
// base's validators are replaced by the n written here, the rest is kept.
func writeTestnetFrom(dir string, n, accounts int, chainID string, base *ledger.Genesis, addr func(i int) (replica, api string)) error {
	if n < 1 || n > 128 {
		return fmt.Errorf("validators must be 1 to 128, got %d", n)
	}
	if accounts < 1 || accounts > 1_000_000 {
		return fmt.Errorf("accounts must be 1 to 1000000, got %d", accounts)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	o := devnet.DefaultOptions()
	o.ChainID, o.Accounts, o.GenesisTimeMs = chainID, accounts, time.Now().UnixMilli()
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		keys[i] = priv
		replica, api := addr(i)
		o.Validators = append(o.Validators, ledger.GenesisValidator{Name: "v" + strconv.Itoa(i),
			PublicKey: hex.EncodeToString(priv.Public().(ed25519.PublicKey)), Address: replica, APIAddr: api})
	}
	var g *ledger.Genesis
	if base != nil {
		b := *base
		b.Validators = o.Validators
		if err := b.Validate(); err != nil {
			return fmt.Errorf("-genesis with %d validators: %w", n, err)
		}
		g = &b
	} else {
		g = devnet.Genesis(o)
	}
	if err := node.WriteJSON(filepath.Join(dir, "genesis.json"), g, 0o644); err != nil {
		return err
	}
	for i := range keys {
		name := "v" + strconv.Itoa(i)
		if err := node.WriteValidatorKey(filepath.Join(dir, name+".key"), keys[i]); err != nil {
			return err
		}
		fc := node.FileConfig{NodeID: name, DataDir: name, GenesisFile: "genesis.json", APIAddr: o.Validators[i].APIAddr,
			AdminToken: randomToken()}
		if n > 1 {
			fc.Cluster = &node.ClusterFileConfig{Index: i, KeyFile: name + ".key"}
		}
		if err := node.WriteJSON(filepath.Join(dir, name+".json"), fc, 0o600); err != nil {
			return err
		}
	}
	return writeDemoKeys(filepath.Join(dir, "demo-keys.json"), chainID, min(accounts, 100))
}

// devCluster writes (once) a local n-validator cluster under data, with API ports
// from apiAddr's port upwards and replica ports 50 above them, then runs every
// validator as a child `settled run` process until ctx ends.
func devCluster(ctx context.Context, data, apiAddr string, n, accounts int, lo logOptions) error {
	host, portStr, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return fmt.Errorf("dev: -api %q: %w", apiAddr, err)
	}
	base, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("dev: -api port %q: %w", portStr, err)
	}
	if _, err := os.Stat(filepath.Join(data, "genesis.json")); errors.Is(err, os.ErrNotExist) {
		err := writeTestnet(data, n, accounts, devnet.ChainID, func(i int) (string, string) {
			return net.JoinHostPort(host, strconv.Itoa(base+50+i)), net.JoinHostPort(host, strconv.Itoa(base+i))
		})
		if err != nil {
			return err
		}
	}
	g, err := ledger.LoadGenesis(filepath.Join(data, "genesis.json"))
	if err != nil {
		return err
	}
	return supervise(ctx, data, g, lo)
}

// supervise runs `settled run -config <data>/v<i>.json` for every validator of g,
// prints their API addresses, forwards SIGTERM when ctx ends and waits for all.
// The children die with the supervisor (childProcAttr).
func supervise(ctx context.Context, data string, g *ledger.Genesis, lo logOptions) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	cmds := make([]*exec.Cmd, len(g.Validators))
	pgid := 0 // the first child leads a new process group; the others join it
	for i, v := range g.Validators {
		cmd := exec.Command(self, "run", "-config", filepath.Join(data, v.Name+".json"), "-log-format", lo.format, "-log-level", lo.level)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = childProcAttr(pgid)
		if err := cmd.Start(); err != nil {
			for _, c := range cmds[:i] {
				c.Process.Signal(syscall.SIGTERM)
			}
			return fmt.Errorf("start %s: %w", v.Name, err)
		}
		cmds[i] = cmd
		if pgid == 0 {
			pgid = cmd.Process.Pid
		}
		fmt.Printf("settled dev: %s (pid %d) API http://%s, replica %s\n", v.Name, cmd.Process.Pid, v.APIAddr, v.Address)
		wg.Add(1)
		go func(name string, cmd *exec.Cmd) {
			defer wg.Done()
			if err := cmd.Wait(); err != nil && ctx.Err() == nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s: %v", name, err))
				mu.Unlock()
				fmt.Fprintf(os.Stderr, "settled dev: %s exited: %v\n", name, err)
			}
		}(v.Name, cmd)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-ctx.Done():
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			for _, c := range cmds {
				c.Process.Kill()
			}
			<-done
		}
		return nil
	case <-done:
	}
	if len(failed) > 0 {
		return fmt.Errorf("validators failed: %v", failed)
	}
	return nil
}
