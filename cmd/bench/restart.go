package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"settle/bench"
)

// cmdRestart measures a single validator's restart against a long history
// (bench.Restart) and prints the figures.
func cmdRestart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bench.RestartOptions{}
	settled := fs.String("settled", "", "settled binary (default: go build ./cmd/settled into a temporary dir)")
	fs.IntVar(&o.Txs, "txs", 10_000_000, "committed payments written before the restarts")
	fs.IntVar(&o.Accounts, "accounts", 10_000, "demo accounts sending them")
	fs.IntVar(&o.BlockTxs, "block-txs", 4096, "payments per block")
	fs.IntVar(&o.Restarts, "restarts", 3, "restarts timed")
	dir := fs.String("dir", "", "work directory (kept); default: a temporary one, removed")
	out := fs.String("out", "", "also write the figures as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("restart takes no arguments, got %q", fs.Args())}
	}
	if o.Txs < 1 {
		return usageError{fmt.Errorf("-txs must be at least 1, got %d", o.Txs)}
	}
	o.Dir = *dir
	if o.Dir == "" {
		tmp, err := os.MkdirTemp("", "settle-restart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o.Dir = tmp
	}
	bin, cleanup, err := settledBinary(ctx, *settled)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Binary = bin
	o.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	res, err := bench.Restart(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restart: %d committed payments in %d blocks (%d accounts), database %.1f MiB, written in %.0f s\n",
		res.Txs, res.Blocks, res.Accounts, float64(res.DBBytes)/(1<<20), res.FillS)
	fmt.Fprintf(stdout, "ready after: median %.2f s over %d restarts %v (process start to GET /readyz 200; target ≤ 10 s, docs/performance.md)\n",
		res.ReadyMedS, len(res.ReadyS), res.ReadyS)
	return writeJSONFile(*out, res)
}
