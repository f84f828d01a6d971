package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"settle/bench"
	"settle/internal/cli"
)

const hostsUsage = `usage: bench hosts up -dir DIR [-validators 4] [-accounts 10000] [-settled BIN]
       bench hosts down -dir DIR [-stale]

up starts every validator in a Linux network namespace of its own (root only),
detached, and writes DIR/cluster.json for bench run -cluster; down stops them
and removes the namespaces. docs/bench.md, "Separate hosts (network namespaces)".
`

// cmdHosts runs validators as separate hosts on this machine (bench.StartHosts)
// or takes them down.
func cmdHosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("hosts needs a subcommand: up or down (bench hosts up -dir DIR)")}
	}
	switch sub := args[0]; {
	case sub == "up":
		return hostsUp(ctx, args[1:], stdout, stderr)
	case sub == "down":
		return hostsDown(args[1:], stdout, stderr)
	case cli.IsHelp(sub):
		fmt.Fprint(stderr, hostsUsage)
		return flag.ErrHelp
	default:
		return usageError{fmt.Errorf("hosts: unknown subcommand %q (up or down)", sub)}
	}
}

func hostsUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hosts up", flag.ContinueOnError)
	dir := fs.String("dir", "", "run directory: network, data, logs, state and cluster.json (required)")
	validators := fs.Int("validators", 4, "validators, one network namespace each")
	accounts := fs.Int("accounts", 10_000, "demo accounts funded at genesis (a scenario run against them may use at most this many)")
	settled := fs.String("settled", "", "settled binary (default: go build ./cmd/settled into DIR/bin)")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usageError{errors.New("hosts up needs -dir DIR, where the network, logs and cluster file go")}
	case *validators < 1 || *validators > 64:
		return usageError{fmt.Errorf("-validators must be 1 to 64, got %d", *validators)}
	case *accounts < 2:
		return usageError{fmt.Errorf("-accounts must be at least 2, got %d", *accounts)}
	}
	if err := bench.HostsSupported(); err != nil {
		return fmt.Errorf("separate hosts need network namespaces, which are not usable here: %w", err)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	h, err := bench.StartHosts(ctx, bench.HostsOptions{Binary: *settled, Dir: *dir, Validators: *validators,
		Accounts: *accounts, Detach: true, Logf: logf})
	if err != nil {
		return err
	}
	printHosts(stdout, h, *accounts)
	return nil
}

func printHosts(w io.Writer, h *bench.Hosts, accounts int) {
	fmt.Fprintf(w, "%d validator(s) up on %s (bridge %s, %s), chain %s, %d demo accounts:\n",
		len(h.Targets), h.Subnet, h.Bridge, h.BridgeAddr, h.ChainID, accounts)
	for i, ns := range h.Namespaces {
		fmt.Fprintf(w, "  v%d  namespace %s  API http://%s  replica %s\n", i, ns, h.Targets[i], h.ReplicaAddrs[i])
	}
	fmt.Fprintf(w, "logs: %s\ncluster file: %s\n", filepath.Join(h.Dir, "logs"), h.ClusterFile)
	fmt.Fprintf(w, "next: bench run -scenario four -cluster %s\n", h.ClusterFile)
	fmt.Fprintf(w, "stop: bench hosts down -dir %s\n", h.Dir)
}

func hostsDown(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hosts down", flag.ContinueOnError)
	dir := fs.String("dir", "", "the run directory given to hosts up")
	stale := fs.Bool("stale", false, "also remove every stale run on this machine (its creator gone, nothing running in its namespaces)")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	if *dir == "" && !*stale {
		return usageError{errors.New("hosts down needs -dir DIR (the one given to hosts up), or -stale")}
	}
	if *stale {
		swept, err := bench.CleanupStaleHosts()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %d stale run(s) %s\n", len(swept), strings.Join(swept, " "))
	}
	if *dir == "" {
		return nil
	}
	if err := bench.CleanupHosts(*dir); err != nil {
		if errors.Is(err, bench.ErrNoHosts) {
			return fmt.Errorf("nothing to stop: %w (no %s)", err, filepath.Join(*dir, bench.HostsStateFile))
		}
		return err
	}
	fmt.Fprintf(stdout, "stopped the validators and removed the namespaces of %s (its logs and data stay there)\n", *dir)
	return nil
}
