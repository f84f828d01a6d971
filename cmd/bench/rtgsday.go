package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"settle/bench"
	"settle/bench/rtgsday"
)

// cmdRTGSDay simulates a business day of interbank payments on the
// in-process ledger, plain RTGS against the liquidity-saving mechanism, over
// liquidity levels (bench/rtgsday), and writes report.md, result.json and
// plots into -out.
func cmdRTGSDay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rtgs-day", flag.ContinueOnError)
	p := rtgsday.DefaultParams()
	fs.IntVar(&p.Banks, "banks", p.Banks, "participating banks")
	fs.IntVar(&p.Blocks, "blocks", p.Blocks, "blocks in the business day")
	fs.Uint64Var(&p.Seed, "seed", p.Seed, "seed of the generated day")
	fs.IntVar(&p.PaymentsPerDay, "payments", p.PaymentsPerDay, "expected payments in the day")
	fs.IntVar(&p.LinksPerBank, "links", p.LinksPerBank, "Barabási–Albert links per joining bank (m)")
	fs.StringVar(&p.Profile, "profile", p.Profile, "intraday arrivals: "+rtgsday.ProfileTwoPeak+" or "+rtgsday.ProfileUniform)
	fs.Float64Var(&p.ValueMedianMinor, "value-median", p.ValueMedianMinor, "median payment value (minor units)")
	fs.Float64Var(&p.ValueSigma, "value-sigma", p.ValueSigma, "σ of the lognormal payment value")
	fs.Float64Var(&p.UrgentShare, "urgent", p.UrgentShare, "share of urgent payments")
	fs.Float64Var(&p.LinkWeightSigma, "link-sigma", p.LinkWeightSigma, "σ of the lognormal noise on link weights (0: balanced pairs)")
	levels := fs.String("levels", "", "liquidity levels f in [0,1], comma-separated (default 0,0.05,…,1)")
	ks := fs.String("k", "1", "LSM gridlock periods in blocks, comma-separated (plain RTGS always runs too)")
	o := rtgsday.Options{}
	fs.IntVar(&o.EndBlocks, "end-blocks", rtgsday.DefaultEndBlocks, "end-of-day blocks with no new payments")
	fs.Float64Var(&o.SearchTolerance, "tolerance", rtgsday.DefaultSearchTolerance, "width in f at which the minimum-liquidity bisection stops")
	fs.IntVar(&o.Seeds, "seeds", 10, "days (seeds -seed, -seed+1, …) of the seed table: headline figures per seed (0: none)")
	fs.IntVar(&o.Run.CheckEvery, "check-every", 100, "check the ledger's invariants every this many blocks (0: at the end only)")
	fs.IntVar(&o.Run.GridlockRoundsMax, "gridlock-rounds", 0, "genesis queue.gridlock_rounds_max (0: the ledger's default)")
	fs.IntVar(&o.Run.ReleaseAttemptsMax, "release-attempts", 0, "genesis queue.release_attempts_max (0: the ledger's default)")
	fs.BoolVar(&o.Run.StateRoot, "state-root", false, "maintain the state tree (Execute times include it)")
	out := fs.String("out", "", "write report.md, result.json and the plots into this directory (nothing is written without it)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	o.Params = p
	var err error
	if *levels != "" {
		if o.Levels, err = floats(*levels); err != nil {
			return usageError{fmt.Errorf("-levels: %w", err)}
		}
	}
	if o.LSMEveryBlocks, err = uints(*ks); err != nil {
		return usageError{fmt.Errorf("-k: %w", err)}
	}
	if !*quiet {
		o.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, "bench rtgs-day: "+format+"\n", a...) }
	}
	m := bench.DescribeMachine(ctx)
	res, err := rtgsday.Run(o)
	if err != nil {
		return err
	}
	res.Machine = &rtgsday.Machine{Hostname: m.Hostname, CPUModel: m.CPUModel, Cores: m.Cores, MemoryGiB: m.MemoryGiB,
		OS: m.OS, Kernel: m.Kernel, GoVersion: m.GoVersion, GitCommit: m.GitCommit, GitDirty: m.GitDirty,
		LoadAvg: m.LoadAvg, MeasuredAt: m.MeasuredAt}
	if *out != "" {
		if err := rtgsday.Write(*out, "go run ./cmd/bench rtgs-day "+strings.Join(args, " "), res); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench rtgs-day: wrote %s\n", filepath.Join(*out, rtgsday.FileReport))
	}
	for _, mn := range res.Minimum {
		fmt.Fprintf(stdout, "%s: minimum f %.4f, liquidity %d (%.1f%% of the upper bound %d)\n", mn.Mode, mn.Level,
			mn.LiquidityMinor, 100*mn.ShareOfUB, res.UpperTotalMinor)
	}
	for _, s := range res.Savings {
		fmt.Fprintf(stdout, "%s saves %.1f%% of the liquidity immediate gross settlement needs, %.1f%% of plain RTGS queues' minimum (%.1f%% of the upper bound)\n",
			s.Mode, 100*s.VsImmediate, 100*s.Saving, 100*s.SavingOfUB)
	}
	for _, sp := range res.SavingSpreads {
		fmt.Fprintf(stdout, "%s over %d seeds: median saving %.1f%% against immediate settlement (range %.1f%% to %.1f%%), %.1f%% against plain queues (range %.1f%% to %.1f%%)\n",
			sp.Mode, sp.Seeds, 100*sp.MedianVsImmediate, 100*sp.MinVsImmediate, 100*sp.MaxVsImmediate, 100*sp.Median, 100*sp.Min, 100*sp.Max)
	}
	return nil
}

// uints parses a comma-separated list of non-negative integers.
func uints(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a non-negative integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}
