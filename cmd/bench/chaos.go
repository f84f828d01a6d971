package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"settle/bench"
	"settle/bench/chaos"
)

// cmdChaos runs the chaos test (package settle/bench/chaos) and prints its
// figures; the exit status is 1 when a check failed.
func cmdChaos(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := chaos.Options{}
	settled := fs.String("settled", "", "settled binary (default: go build ./cmd/settled into a temporary dir)")
	fs.DurationVar(&o.Duration, "duration", 15*time.Minute, "length of the fault phase")
	fs.IntVar(&o.Validators, "validators", 4, "validators (n = 3f+1)")
	fs.IntVar(&o.Rate, "rate", 400, "new payments offered per second")
	fs.IntVar(&o.Accounts, "accounts", 2000, "demo accounts sending payments")
	fs.BoolVar(&o.Queue, "queue", false, "a quarter of the load RTGS queued payments, large ones among the first 8 accounts that wait and are offset")
	fs.DurationVar(&o.FaultEvery, "fault-every", 13*time.Second, "mean time between faults")
	fs.DurationVar(&o.RestartDelayMax, "restart-delay-max", 5*time.Second, "a victim restarts after 0 to this")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 2*time.Minute, "after healing, the wait for every transaction to commit")
	fs.Int64Var(&o.Seed, "seed", time.Now().UnixNano()%1_000_000, "seed of every random choice")
	schedule := fs.String("schedule", "", "comma-separated fault kinds to cycle (kill, kill-leader, kill-pair, wipe, crash-loop); default: random")
	dir := fs.String("dir", "", "work directory for the cluster (kept); default: a temporary one, removed")
	out := fs.String("out", "", "also write the report as JSON to this file")
	rttMs := fs.Float64("rtt-ms", -1, "run every validator link through Toxiproxy with this round-trip time (ms)")
	bandwidthMbit := fs.Float64("bandwidth-mbit", 0, "with -rtt-ms: cap every validator link at this rate (Mbit/s) in each direction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *rttMs >= 0:
		o.WAN = &bench.WANSpec{RTTMs: *rttMs, BandwidthMbit: *bandwidthMbit}
	case *bandwidthMbit != 0:
		return usageError{errors.New("-bandwidth-mbit shapes a WAN: give -rtt-ms too (0 for no delay)")}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("chaos takes no arguments, got %q", fs.Args())}
	}
	if *schedule != "" {
		o.Schedule = strings.Split(*schedule, ",")
	}
	o.Dir, o.KeepDir = *dir, *dir != ""
	o.Logf = func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	bin, cleanup, err := settledBinary(ctx, *settled)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Binary = bin
	rep, err := chaos.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.String())
	if *out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return errors.New("chaos: checks failed (see the report)")
	}
	return nil
}

// settledBinary returns the -settled binary, or builds cmd/settled into a
// temporary directory that cleanup removes.
func settledBinary(ctx context.Context, flagValue string) (bin string, cleanup func(), err error) {
	if flagValue != "" {
		return flagValue, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "settle-bench-bin-")
	if err != nil {
		return "", nil, err
	}
	if bin, err = bench.BuildSettled(ctx, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(tmp) }, nil
}

// writeJSONFile writes v as indented JSON to path (its directory created);
// an empty path writes nothing.
func writeJSONFile(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
