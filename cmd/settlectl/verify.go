package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"settle/consensus/lightclient"
	"settle/engine/client"
	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/proof"
	"settle/engine/txn"
	"settle/internal/cli"
)

// verifyCmd is `settlectl verify tx HASH` and `settlectl verify account ADDR
// [-height H]`: fetch a proof from any validator and check it against the
// genesis alone, so the validator asked need not be trusted.
func verifyCmd(args []string, out io.Writer) error {
	if len(args) > 0 && cli.IsHelp(args[0]) {
		fmt.Fprintln(os.Stderr, "Usage of verify:\n  settlectl verify tx [-node URL] -genesis FILE HASH\n  settlectl verify account [-node URL] -genesis FILE [-height H] ADDRESS")
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != "tx" && args[0] != "account") {
		return errors.New("verify takes tx HASH or account ADDRESS")
	}
	what := args[0]
	fs := flag.NewFlagSet("verify "+what, flag.ContinueOnError)
	nf := addNodeFlags(fs)
	genesisFile := fs.String("genesis", os.Getenv("SETTLE_GENESIS"), "the network's genesis file: the only thing trusted (env SETTLE_GENESIS)")
	height := fs.Uint64("height", 0, "account: the height to prove the state at (default: the newest certified)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for a certificate of a just-committed height")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("verify %s takes one argument", what)
	}
	if *genesisFile == "" {
		return errors.New("verify needs -genesis FILE (or $SETTLE_GENESIS): the genesis is what a proof is checked against")
	}
	g, err := ledger.LoadGenesis(*genesisFile)
	if err != nil {
		return err
	}
	trust, err := lightclient.FromGenesis(g)
	if err != nil {
		return err
	}
	c, err := nf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait+requestTimeout)
	defer cancel()
	if what == "tx" {
		h, err := txn.ParseHash(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("transaction hash: %w", err)
		}
		return verifyTx(ctx, c, trust, h, out)
	}
	id, err := txn.ParseAddress(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("address: %w", err)
	}
	return verifyAccount(ctx, c, trust, id, *height, out)
}

// retryNotReady calls fetch until it stops answering not_ready (a height
// whose certificate is not committed yet) or ctx ends.
func retryNotReady[T any](ctx context.Context, fetch func() (T, error)) (T, error) {
	for {
		v, err := fetch()
		var ae *client.APIError
		if err == nil || !errors.As(err, &ae) || ae.Code != codes.NotReady {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w (gave up waiting)", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func verifyTx(ctx context.Context, c *client.Client, trust lightclient.Trust, h txn.Hash, out io.Writer) error {
	p, err := retryNotReady(ctx, func() (*proof.Tx, error) { return c.TxProof(ctx, h) })
	if err != nil {
		return err
	}
	start := time.Now()
	v, err := trust.VerifyTx(p, h)
	took := time.Since(start)
	if err != nil {
		return fmt.Errorf("REFUSED: %w", err)
	}
	fmt.Fprintf(out, "VERIFIED transaction %s\n", h)
	fmt.Fprintf(out, "  executed at height %d, index %d of %d: %s, fee %d\n", v.Height, v.Index, p.Count, v.Receipt.Result, v.Receipt.Fee)
	printCertified(out, &v.Certified, took)
	return nil
}

func verifyAccount(ctx context.Context, c *client.Client, trust lightclient.Trust, id txn.AccountID, height uint64, out io.Writer) error {
	p, err := retryNotReady(ctx, func() (*proof.Account, error) { return c.AccountProof(ctx, id, height) })
	if err != nil {
		return err
	}
	start := time.Now()
	v, err := trust.VerifyAccount(p, id)
	took := time.Since(start)
	if err != nil {
		return fmt.Errorf("REFUSED: %w", err)
	}
	if v.Account == nil {
		fmt.Fprintf(out, "VERIFIED account %s does not exist at height %d\n", id, v.Height)
	} else {
		a := v.Account
		fmt.Fprintf(out, "VERIFIED account %s at height %d\n", id, v.Height)
		fmt.Fprintf(out, "  sequence %d, %s %s\n", a.Seq, strconv.FormatUint(a.Native, 10), txn.Native)
		for _, b := range a.Issued {
			fmt.Fprintf(out, "  %s %s (limit %d)\n", strconv.FormatUint(b.Amount, 10), b.Asset, b.Limit)
		}
	}
	printCertified(out, &v.Certified, took)
	return nil
}

func printCertified(out io.Writer, c *lightclient.Certified, took time.Duration) {
	fmt.Fprintf(out, "  certified: %d of %d validators signed block %x (view %d), state hash %x\n",
		c.Signers, c.Validators, c.BlockHash[:8], c.BlockView, c.StateHash[:8])
	fmt.Fprintf(out, "  checked against the genesis in %s\n", took.Round(time.Microsecond))
}
