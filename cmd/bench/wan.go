package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"settle/bench"
)

// cmdWAN measures throughput and latency over a matrix of validator counts,
// RTTs and bandwidth caps (bench.WANMatrix) and writes the report.
func cmdWAN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wan", flag.ContinueOnError)
	scenario := fs.String("scenario", "wan-sat", "closed-loop scenario for the saturation runs (built-in name or file)")
	settled := fs.String("settled", "", "settled binary (default: go build ./cmd/settled into a temporary dir)")
	validators := fs.String("validators", "4,7", "comma-separated validator counts")
	rtts := fs.String("rtt-ms", "0,12,228", "comma-separated round-trip times in ms (0 must be among them)")
	bws := fs.String("bandwidth-mbit", "0,100", "comma-separated per-link caps in Mbit/s (0: unlimited)")
	passes := fs.Int("passes", 1, "measure the whole matrix this many times (median per point)")
	half := fs.Duration("half-duration", 20*time.Second, "length of the half-load round")
	out := fs.String("out", "", "result directory (default: results/<date>-wan)")
	noCache := fs.Bool("no-cache", false, "sign afresh instead of using loadgen's signed-transaction cache")
	noCalibrate := fs.Bool("no-calibrate", false, "skip the calibration")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	sc, err := bench.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	o := bench.WANMatrixOptions{Passes: *passes, HalfDuration: *half, OutDir: *out}
	if o.Validators, err = ints(*validators); err != nil {
		return usageError{fmt.Errorf("-validators: %w", err)}
	}
	if o.RTTMs, err = floats(*rtts); err != nil {
		return usageError{fmt.Errorf("-rtt-ms: %w", err)}
	}
	if o.BandwidthMbit, err = floats(*bws); err != nil {
		return usageError{fmt.Errorf("-bandwidth-mbit: %w", err)}
	}
	if *passes < 1 || *passes > 10 {
		return usageError{fmt.Errorf("-passes must be 1 to 10, got %d", *passes)}
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join("results", time.Now().Format("2006-01-02-150405")+"-wan")
	}
	o.Run = bench.Options{Scenario: sc}
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	bin, cleanup, err := settledBinary(ctx, *settled)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Run = bench.Options{Scenario: sc, Settled: bin, NoCache: *noCache, NoCalibrate: *noCalibrate,
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }}
	res, err := bench.WANMatrix(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Markdown())
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(o.OutDir, bench.FileReport))
	return nil
}

// floats parses a comma-separated list of non-negative numbers.
func floats(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a non-negative number", part)
		}
		out = append(out, v)
	}
	return out, nil
}
