package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"settle/bench"
)

// cmdModel predicts throughput and finality of a deployment (bench.Model)
// and prints the table; -out writes model.json, model.md and plots.
func cmdModel(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	var o bench.ModelOptions
	ns := fs.String("n", "4,7,16,31,64,100", "validator counts to predict")
	fs.Float64Var(&o.RTTMs, "rtt-ms", 0, "uniform round trip between every pair of validators (ms)")
	sites := fs.String("sites", "", "site set: a built-in name ("+strings.Join(bench.BuiltinSiteSets(), ", ")+") or a file; validators round-robin over its sites")
	fs.Float64Var(&o.RTTScale, "rtt-scale", 1, "multiply every round trip by this (a sensitivity check of estimated RTTs)")
	fs.Float64Var(&o.JitterMs, "jitter-ms", 0, "each message's one-way delay ± up to this (ms)")
	fs.Float64Var(&o.BandwidthMbit, "bandwidth-mbit", 0, "cap on each direction of each validator link, Mbit/s (0: unlimited)")
	fs.Float64Var(&o.UplinkMbit, "uplink-mbit", 0, "cap on each validator's total egress, Mbit/s (0: unlimited)")
	fs.Float64Var(&o.TCPWindowKiB, "tcp-window-kib", 0, "cap each link at one TCP window per round trip, KiB (0: no cap)")
	fs.Float64Var(&o.CoresPerValidator, "cores-per-validator", 0, fmt.Sprintf("cores of each validator (default %d; a fraction for validators sharing a machine, e.g. 0.5)", bench.ModelCoresPerValidatorDefault))
	fs.Float64Var(&o.MachineCores, "machine-cores", 0, "instead: all validators on one machine of this many cores, each with cores/n")
	fs.BoolVar(&o.SharedCPU, "shared-cpu", false, "with -machine-cores: validators share the cores as they need them instead of cores/n each")
	calib := fs.String("calibration", "", "scale the costs to this machine: `bench calibrate -json` output or a result's summary.json")
	costs := fs.String("costs", "", "JSON file of costs replacing the built-in ones (fields of model.json's \"costs\")")
	fs.Float64Var(&o.RatePerS, "rate", 0, "predict at this offered load (tx/s) instead of searching for saturation")
	fs.IntVar(&o.SatSeeds, "sat-seeds", bench.ModelSatSeedsDefault, "closed-loop runs (seeds) the saturation is the median of")
	fs.IntVar(&o.ClosedK, "closed-k", bench.ModelClosedKDefault, "transactions in flight in the saturation runs' closed loop (bench/scenarios/wan-sat.json)")
	fs.BoolVar(&o.NoSearch, "no-search", false, "skip the open-loop search for the highest sustainable rate (most of the time taken)")
	fs.Float64Var(&o.LoadFraction, "load-fraction", bench.ModelLoadFractionDefault, "after the saturation search, measure finality at this fraction of it")
	fs.IntVar(&o.BlockTxMax, "block-tx-max", bench.ModelBlockTxMaxDefault, "transactions per block at most (bench/scenarios/four.json)")
	fs.Float64Var(&o.BlockDelayMs, "block-delay-ms", bench.ModelBlockDelayMsDefault, "the assembler's wait for a full block (ms)")
	fs.Float64Var(&o.ViewTimeoutMs, "view-timeout-ms", bench.ModelViewTimeoutMsDefault, "the view timeout (ms)")
	fs.Float64Var(&o.P99MaxMs, "p99-max-ms", bench.ModelP99MaxMsDefault, "a load is sustainable only with p99 at most this (ms)")
	duration := fs.Duration("duration", bench.ModelDurationSDefault*time.Second, "virtual time simulated per run")
	warmup := fs.Duration("warmup", bench.ModelWarmupSDefault*time.Second, "virtual time not measured at the start of each run")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the simulator's random choices")
	out := fs.String("out", "", "write model.json, model.md and plots into this directory")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	var err error
	if o.Validators, err = ints(*ns); err != nil {
		return usageError{fmt.Errorf("-n: %w", err)}
	}
	o.DurationS, o.WarmupS = duration.Seconds(), warmup.Seconds()
	if err := modelInputs(&o, *sites, *calib, *costs); err != nil {
		return err
	}
	if !*quiet {
		o.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, "bench model: "+format+"\n", a...) }
	}
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	res, err := bench.Model(o)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := bench.WriteModel(*out, res); err != nil {
			return err
		}
		defer fmt.Fprintf(stderr, "bench model: wrote %s\n", filepath.Join(*out, bench.FileModelReport))
	}
	if *jsonOut {
		return bench.PrintJSON(stdout, res)
	}
	fmt.Fprint(stdout, res.Text())
	return nil
}

// modelInputs reads the files the flags name; a bad one is a usage error.
func modelInputs(o *bench.ModelOptions, sites, calib, costs string) error {
	var err error
	if sites != "" {
		if o.Sites, err = bench.LoadSiteSet(sites); err != nil {
			return usageError{err}
		}
	}
	if calib != "" {
		if o.Calibration, err = bench.LoadCalibration(calib); err != nil {
			return usageError{err}
		}
	}
	if costs != "" {
		if o.Costs, err = bench.LoadCosts(costs); err != nil {
			return usageError{err}
		}
	}
	if calib != "" && costs != "" {
		return usageError{errors.New("-calibration and -costs both set the costs: give one")}
	}
	return nil
}
