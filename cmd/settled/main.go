// Command settled is a Settle validator.
//
//	settled dev [-validators N] [-dir DIR] [-api ADDR] [-accounts N] [-reset]    run a local dev cluster (4 validators; -validators 1: one)
//	settled testnet -validators N -dir DIR [-accounts M] [-genesis FILE]  write a genesis, configs and keys for a local N-validator cluster
//	settled init -dir DIR [-accounts N] [-api ADDR] [-genesis FILE]      write a genesis and a config for one validator
//	settled run -config FILE [-check]                           run a validator from its config file (-check: only check it)
//	settled verify -config FILE                                 replay stored blocks from genesis and compare state hashes
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"settle/consensus/cluster"
	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
	"settle/internal/cli"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signalContext()
	defer stop()
	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, os.Args[2:])
	case "init":
		err = runInit(os.Args[2:])
	case "testnet":
		err = runTestnet(os.Args[2:])
	case "run":
		err = runConfig(ctx, os.Args[2:])
	case "verify":
		err = runVerify(os.Args[2:])
	case "version":
		fmt.Println(cli.Version("settled"))
		return
	default:
		if cli.IsHelp(os.Args[1]) {
			usage()
			return
		}
		fmt.Fprintf(os.Stderr, "settled: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(cli.ExitUsage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the subcommand printed its usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "settled:", err)
		os.Exit(1)
	}
}

// signalContext ends on SIGINT or SIGTERM, with the signal as its cause (the
// log says which one stopped the validator).
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if s, ok := <-ch; ok {
			cancel(fmt.Errorf("received %v", s))
		}
	}()
	return ctx, func() { signal.Stop(ch); close(ch); cancel(nil) }
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  settled dev [-validators N] [-dir DIR] [-api ADDR] [-accounts N] [-reset] [-log-format text|json] [-log-level L]
  settled testnet -validators N -dir DIR [-accounts M] [-chain-id ID] [-genesis FILE]
  settled init -dir DIR [-accounts N] [-api ADDR] [-chain-id ID] [-genesis FILE]
  settled run -config FILE [-api ADDR] [-check] [-log-format text|json] [-log-level L]
  settled verify -config FILE
  settled version

Every command takes -h for its flags; settled reads no environment variables.`)
}

// runDev writes (once) a dev genesis and configs under -dir and runs a local
// cluster of -validators processes (one validator: in this process). A -data
// directory holding another network than the flags ask for is refused
// (checkDevDir), never overwritten.
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	validators := fs.Int("validators", 4, "validators to run (1: a single validator in this process)")
	data := fs.String("dir", ".settle-dev", "data directory (genesis, config, keys, database), as -dir of init and testnet")
	fs.StringVar(data, "data", ".settle-dev", "alias of -dir (earlier name)")
	apiAddr := fs.String("api", "127.0.0.1:7700", "HTTP API listen address (a cluster: the first validator's; the others take the next ports)")
	accounts := fs.Int("accounts", devnet.DefaultOptions().Accounts, "demo accounts to fund (a new directory only: an existing one with other accounts is refused)")
	reset := fs.Bool("reset", false, "delete the data directory first")
	var lo logOptions
	lo.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reset {
		if err := os.RemoveAll(*data); err != nil {
			return fmt.Errorf("reset %s: %w", *data, err)
		}
	}
	want := devWant{validators: *validators, accounts: *accounts, apiAddr: *apiAddr, set: map[string]bool{}}
	fs.Visit(func(f *flag.Flag) { want.set[f.Name] = true })
	if err := checkDevDir(*data, want); err != nil {
		return err
	}
	if *validators != 1 {
		return devCluster(ctx, *data, *apiAddr, *validators, *accounts, lo)
	}
	cfgPath := filepath.Join(*data, "config.json")
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := writeInit(*data, *accounts, *apiAddr, devnet.ChainID, ""); err != nil {
			return err
		}
	}
	return serve(ctx, cfgPath, *apiAddr, lo)
}

func runInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to create")
	accounts := fs.Int("accounts", devnet.DefaultOptions().Accounts, "demo accounts to fund")
	apiAddr := fs.String("api", "127.0.0.1:7700", "HTTP API listen address")
	chainID := fs.String("chain-id", devnet.ChainID, "chain id")
	genesisFile := fs.String("genesis", "", "start from this genesis (e.g. `loadgen genesis -mix interbank`) instead of the dev one; its chain id and accounts win over -chain-id and -accounts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("init: -dir is required")
	}
	return writeInit(*dir, *accounts, *apiAddr, *chainID, *genesisFile)
}

// writeInit writes genesis.json, config.json and demo-keys.json (0600) into dir.
// With genesisFile, the genesis is that file's, with one validator: the file's
// only one, or else the dev validator 0.
func writeInit(dir string, accounts int, apiAddr, chainID, genesisFile string) error {
	if accounts < 1 || accounts > 1_000_000 {
		return fmt.Errorf("accounts must be 1 to 1000000, got %d", accounts)
	}
	var g *ledger.Genesis
	if genesisFile != "" {
		var err error
		if g, err = givenGenesis(genesisFile); err != nil {
			return err
		}
		if len(g.Validators) != 1 {
			dev := devnet.Genesis(devnet.Options{ChainID: g.ChainID})
			g.Validators = dev.Validators
		}
		chainID, accounts = g.ChainID, len(g.Accounts)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if g == nil {
		o := devnet.DefaultOptions()
		o.ChainID, o.Accounts, o.GenesisTimeMs = chainID, accounts, time.Now().UnixMilli()
		g = devnet.Genesis(o)
	}
	if err := node.WriteJSON(filepath.Join(dir, "genesis.json"), g, 0o644); err != nil {
		return err
	}
	fc := node.FileConfig{NodeID: "v0", DataDir: "db", GenesisFile: "genesis.json", APIAddr: apiAddr, AdminToken: randomToken()}
	if err := node.WriteJSON(filepath.Join(dir, "config.json"), fc, 0o600); err != nil {
		return err
	}
	return writeDemoKeys(filepath.Join(dir, "demo-keys.json"), chainID, min(accounts, 100))
}

func runConfig(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "validator config file")
	apiAddr := fs.String("api", "", "override the config's API address")
	check := fs.Bool("check", false, "check the config, its genesis, key file and addresses, print \"config OK\" and exit, starting nothing")
	var lo logOptions
	lo.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("run: -config is required")
	}
	if *check {
		return checkConfig(os.Stdout, *cfgPath, *apiAddr)
	}
	if _, err := lo.logger(io.Discard, ""); err != nil {
		return err
	}
	return serve(ctx, *cfgPath, *apiAddr, lo)
}

// serve runs a validator and its API until ctx ends. Its log is stderr.
func serve(ctx context.Context, cfgPath, apiOverride string, lo logOptions) error {
	return serveWith(ctx, cfgPath, apiOverride, os.Stderr, lo, nil)
}

// serveWith is serve with the node's log written to logw and, for tests, the
// API's backend wrapped (nil: the node itself).
func serveWith(ctx context.Context, cfgPath, apiOverride string, logw io.Writer, lo logOptions, wrap func(api.Backend) api.Backend) error {
	fc, cfg, err := node.LoadFileConfig(cfgPath)
	if err != nil {
		return err
	}
	if apiOverride != "" {
		fc.APIAddr = apiOverride
	}
	log, err := lo.logger(logw, cfg.NodeID)
	if err != nil {
		return err
	}
	apiCfg, scheme, err := apiConfig(fc)
	if err != nil {
		return err
	}
	t0 := time.Now()
	// The API reports its internal errors and recovered panics to the node's log.
	apiCfg.Logf = logfAt(log, slog.LevelError)
	if err := apiCfg.Validate(); err != nil {
		return err
	}
	factory, err := cluster.FromFile(fc, cfg, cfgPath, log)
	if err != nil {
		return err
	}
	n, err := node.New(cfg, factory)
	if err != nil {
		return err
	}
	defer n.Close()
	ln, err := net.Listen("tcp", fc.APIAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", fc.APIAddr, err)
	}
	var backend api.Backend = n
	if wrap != nil {
		backend = wrap(n)
	}
	srv := api.New(apiCfg, backend)
	go srv.Serve(ln)
	meta := n.Ledger().Meta()
	recovered := time.Since(t0).Round(time.Millisecond)
	fmt.Printf("settled: chain %s, node %s, height %d, state %s, recovered in %v\n",
		cfg.Genesis.ChainID, cfg.NodeID, meta.Height, meta.StateHash, recovered)
	fmt.Printf("settled: API listening on %s://%s\n", scheme, ln.Addr())
	log.Info("started", "chain", cfg.Genesis.ChainID, "height", meta.Height, "state_hash", meta.StateHash.String(),
		"recovered_ms", recovered.Milliseconds(), "api", scheme+"://"+ln.Addr().String(), "validators", len(cfg.Genesis.Validators))
	rctx, stopWatch := context.WithCancel(ctx)
	go watchReady(rctx, log, n.Ready, n.Height)
	runErr := n.Run(ctx)
	stopWatch()
	if cause := context.Cause(ctx); cause != nil && runErr == nil {
		log.Info("shutting down", "cause", cause.Error(), "height", n.Height())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	if runErr != nil {
		log.Error("stopped on an error", "err", runErr.Error(), "height", n.Height())
	} else {
		log.Info("stopped", "height", n.Height())
	}
	return runErr
}

func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "validator config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, cfg, err := node.LoadFileConfig(*cfgPath)
	if err != nil {
		return err
	}
	return verifyReplay(cfg.DataDir, cfg.Genesis)
}

// givenGenesis loads a -genesis file (validated) and stamps it with the current
// time if it has none.
func givenGenesis(path string) (*ledger.Genesis, error) {
	g, err := ledger.LoadGenesis(path)
	if err != nil {
		return nil, fmt.Errorf("-genesis: %w", err)
	}
	if g.GenesisTime == 0 {
		g.GenesisTime = time.Now().UnixMilli()
	}
	return g, nil
}
