// Command bench is Settle's benchmark harness: it starts local validators (or
// targets remote ones), offers load with loadgen, samples the nodes, calibrates
// the machine, and writes reports with plots. The logic lives in package
// settle/bench; this command only turns flags into its options. See docs/bench.md.
//
//	bench quick                              build settled, run the quick scenario, print the summary
//	bench run -scenario single [-rate R -duration D]
//	bench sweep -scenario single
//	bench calibrate
//	bench report DIR
//	bench compare [-k 3] A B
//	bench plan [-cores 1,2] [-validators 1] [-repeats 3] | bench plan -points FILE
//	bench chaos [-duration 15m] [-rate 400] [-seed N]   kill, wipe and restart validators under load; check nothing is lost
//	bench restart [-txs 10000000]            time a single validator's restart against a long history
//	bench wan [-validators 4,7] [-rtt-ms 0,12,228] [-bandwidth-mbit 0,100]   throughput and latency with validators apart
//	bench hosts up -dir DIR [-validators 4] | bench hosts down -dir DIR   validators in network namespaces of their own, for -cluster
//	bench model [-n 4,7,16,31,64,100] [-rtt-ms 228 | -sites financial10] [-bandwidth-mbit 100]   predict a deployment in the WAN simulator
//	bench rtgs-day [-banks 50] [-blocks 2000] [-seed 1] [-levels 0,0.05,…,1] [-k 1] -out DIR   a simulated RTGS day, plain queues vs the LSM
//
// Exit status: 0 success, 1 failure (or a run that failed its checks), 2 bad usage,
// 4 compare found a regression.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"settle/bench"
	"settle/internal/cli"
)

const (
	exitFail       = 1
	exitUsage      = 2
	exitRegression = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"quick": cmdQuick, "run": cmdRun, "sweep": cmdSweep, "calibrate": cmdCalibrate,
		"report": cmdReport, "compare": cmdCompare, "plan": cmdPlan, "chaos": cmdChaos, "restart": cmdRestart, "wan": cmdWAN,
		"hosts": cmdHosts, "model": cmdModel, "rtgs-day": cmdRTGSDay,
	}
	f, ok := cmds[args[0]]
	switch {
	case args[0] == "version":
		fmt.Fprintln(stdout, cli.Version("bench"))
		return 0
	case cli.IsHelp(args[0]):
		usage(stderr)
		return 0
	case !ok:
		fmt.Fprintf(stderr, "bench: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	err := f(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0 // -h: the command printed its usage
	case errors.As(err, &ue), errors.Is(err, bench.ErrScenario):
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitUsage
	case errors.Is(err, bench.ErrRegression):
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitRegression
	}
	fmt.Fprintf(stderr, "bench: %v\n", err)
	return exitFail
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `usage: bench COMMAND [flags]

  quick                     build settled, run the quick scenario (~30 s), print the summary
  run -scenario NAME|FILE   run a scenario's rounds and write results/<date>-<name>/
  sweep -scenario NAME|FILE step the offered load to saturation; report max sustainable and knee
  calibrate                 measure Ed25519 verification, fsync and Pebble on this machine
  report DIR                (re)write DIR/report.md and plots from a result directory
  compare A B               flag regressions of B against A beyond run-to-run noise
  plan                      fit the Universal Scalability Law and recommend an operating point
  chaos                     SIGKILL, wipe and restart validators under load for -duration; check that nothing
                            acknowledged is lost, changed or announced twice and that every transaction ends
  wan                       saturation and half-load latency for every validator count × RTT × link cap,
                            each link through Toxiproxy; writes results/<date>-wan/ with plots
  restart                   write -txs committed payments into a single validator's store, then time its
                            restarts to ready (docs/performance.md: ≤ 10 s with 10 million)
  hosts up|down -dir DIR    start validators each in a Linux network namespace of its own (root), detached,
                            and write DIR/cluster.json for run -cluster; down stops them and removes the namespaces
  model                     predict throughput and finality for -n validators over a latency matrix and link caps,
                            the real HotStuff core in the WAN simulator; -out DIR writes model.md with plots
  rtgs-day                  replay a simulated business day of interbank payments on the in-process ledger, plain
                            RTGS queues against the liquidity-saving mechanism over liquidity levels; finds the
                            minimum liquidity of each; -out DIR writes report.md, result.json and plots
  version                   print the build

every command takes -h for its flags

built-in scenarios: %s
`, strings.Join(bench.BuiltinScenarios(), ", "))
}

// runFlags are the flags shared by quick, run and sweep.
type runFlags struct {
	scenario, settled, clusterFile, out, results string
	replicaTLS                                   string
	stateRoot                                    string
	rate                                         float64
	duration                                     time.Duration
	repeats, gomaxprocs                          int
	keep, noCalibrate, quiet, noCache            bool
	calibrateS                                   float64
	sweepStart, sweepFactor                      float64
	sweepSteps                                   int
	stepDuration                                 time.Duration
	validators, viewTimeoutMs                    int
	rttMs, jitterMs, bandwidthMbit               float64
	name                                         string
}

func (f *runFlags) register(fs *flag.FlagSet, defaultScenario string) {
	f.rttMs = -1 // no WAN unless registerNetwork's -rtt-ms says so
	fs.StringVar(&f.scenario, "scenario", defaultScenario, "built-in scenario name or a scenario file")
	fs.StringVar(&f.settled, "settled", "", "settled binary (default: go build ./cmd/settled into a temporary dir)")
	fs.StringVar(&f.clusterFile, "cluster", "", "load remote validators listed in this file instead of starting local ones")
	fs.StringVar(&f.out, "out", "", "result directory (default: -results/<date>-<scenario>)")
	fs.StringVar(&f.results, "results", "results", "parent directory of result directories")
	fs.Float64Var(&f.rate, "rate", 0, "override the scenario's schedule with this constant rate (tx/s)")
	fs.DurationVar(&f.duration, "duration", 0, "with -rate: the length of each round (default: the scenario's)")
	fs.IntVar(&f.repeats, "repeats", 0, "override the scenario's repeat count")
	fs.IntVar(&f.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS for every local validator (0: the scenario's or Go's default)")
	fs.StringVar(&f.stateRoot, "state-root", "", `"off": run the validators without the state tree, to measure what it costs (benchmarks only)`)
	fs.StringVar(&f.replicaTLS, "replica-tls", "", `"on" or "off": override the scenario's replica link encryption (local clusters of several validators)`)
	fs.BoolVar(&f.keep, "keep", false, "keep the local cluster's work dir (configs, data, logs)")
	fs.BoolVar(&f.noCalibrate, "no-calibrate", false, "skip calibration (no efficiency figure)")
	fs.Float64Var(&f.calibrateS, "calibrate-s", 1, "seconds per calibration measurement")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&f.noCache, "no-cache", false, "sign afresh instead of using loadgen's signed-transaction cache")
	fs.Float64Var(&f.sweepStart, "sweep-start", 0, "sweep: first offered rate (tx/s; default: the scenario's)")
	fs.Float64Var(&f.sweepFactor, "sweep-factor", 0, "sweep: rate multiplier per step")
	fs.IntVar(&f.sweepSteps, "sweep-steps", 0, "sweep: steps at most")
	fs.DurationVar(&f.stepDuration, "step-duration", 0, "sweep: length of each step")
}

// registerNetwork adds the flags that reshape the cluster (run, sweep and quick;
// plan has its own -validators list).
func (f *runFlags) registerNetwork(fs *flag.FlagSet) {
	fs.IntVar(&f.validators, "validators", 0, "override the scenario's number of local validators")
	fs.Float64Var(&f.rttMs, "rtt-ms", -1, "shape every validator link with this round-trip time (ms) through Toxiproxy; 0 proxies without delay")
	fs.Float64Var(&f.jitterMs, "jitter-ms", 0, "with -rtt-ms: jitter (ms) on each direction's delay")
	fs.Float64Var(&f.bandwidthMbit, "bandwidth-mbit", 0, "with -rtt-ms: cap every validator link at this rate (Mbit/s) in each direction")
	fs.IntVar(&f.viewTimeoutMs, "view-timeout-ms", 0, "every local validator's view timeout (ms; 0: the scenario's or the default)")
	fs.StringVar(&f.name, "name", "", "rename the scenario (it names the result directory)")
}

func (f *runFlags) options(stderr io.Writer) (bench.Options, error) {
	sc, err := bench.LoadScenario(f.scenario)
	if err != nil {
		return bench.Options{}, err
	}
	if f.rate > 0 {
		d := f.duration
		if d == 0 {
			d = sc.TimedLength()
		}
		sc = sc.WithRate(f.rate, d)
	} else if f.duration > 0 {
		return bench.Options{}, usageError{errors.New("-duration needs -rate")}
	}
	if f.repeats > 0 {
		sc.Repeats = f.repeats
	}
	if f.gomaxprocs > 0 {
		sc.GoMaxProcs = f.gomaxprocs
	}
	switch f.replicaTLS {
	case "":
	case "on", "off":
		on := f.replicaTLS == "on"
		sc.ReplicaTLS = &on
	default:
		return bench.Options{}, usageError{fmt.Errorf(`-replica-tls must be "on" or "off", not %q`, f.replicaTLS)}
	}
	switch f.stateRoot {
	case "", "on":
	case "off":
		off := false
		sc.StateRoot = &off
	default:
		return bench.Options{}, usageError{fmt.Errorf(`-state-root must be "on" or "off", not %q`, f.stateRoot)}
	}
	if f.sweepStart > 0 || f.sweepFactor > 0 || f.sweepSteps > 0 || f.stepDuration > 0 {
		sw := sc.SweepOrDefault()
		if f.sweepStart > 0 {
			sw.StartPerS = f.sweepStart
		}
		if f.sweepFactor > 0 {
			sw.Factor = f.sweepFactor
		}
		if f.sweepSteps > 0 {
			sw.Steps = f.sweepSteps
		}
		if f.stepDuration > 0 {
			sw.StepDuration = f.stepDuration.String()
		}
		sc.Sweep = &sw
	}
	if err := f.applyNetwork(sc); err != nil {
		return bench.Options{}, err
	}
	if err := sc.Validate(); err != nil {
		return bench.Options{}, err
	}
	o := bench.Options{Scenario: sc, Settled: f.settled, ClusterFile: f.clusterFile, OutDir: f.out, ResultsDir: f.results,
		KeepCluster: f.keep, NoCalibrate: f.noCalibrate, CalibrateS: f.calibrateS, NoCache: f.noCache,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }}
	if !f.quiet {
		o.Progress = stderr
	}
	return o, nil
}

// applyNetwork applies -validators, the WAN flags, -view-timeout-ms and -name.
func (f *runFlags) applyNetwork(sc *bench.Scenario) error {
	if f.validators > 0 {
		sc.Validators = f.validators
	}
	switch {
	case f.rttMs >= 0:
		sc.WAN = &bench.WANSpec{RTTMs: f.rttMs, JitterMs: f.jitterMs, BandwidthMbit: f.bandwidthMbit}
	case f.jitterMs != 0 || f.bandwidthMbit != 0:
		return usageError{errors.New("-jitter-ms and -bandwidth-mbit shape a WAN: give -rtt-ms too (0 for no delay)")}
	case f.rttMs != -1:
		return usageError{fmt.Errorf("-rtt-ms must not be negative, got %g", f.rttMs)}
	}
	if f.viewTimeoutMs > 0 {
		sc.ViewTimeoutMs = f.viewTimeoutMs
	}
	if f.name != "" {
		sc.Name = f.name
	}
	return nil
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer, positional int) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != positional {
		return usageError{fmt.Errorf("%s takes %d argument(s), got %d", fs.Name(), positional, fs.NArg())}
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runLike(ctx, "run", "", args, stdout, stderr)
}

func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runLike(ctx, "sweep", "single", args, stdout, stderr)
}

// cmdQuick runs the quick scenario into a temporary result dir unless -out is given.
func cmdQuick(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runLike(ctx, "quick", "quick", args, stdout, stderr)
}

func runLike(ctx context.Context, name, defaultScenario string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var f runFlags
	f.register(fs, defaultScenario)
	f.registerNetwork(fs)
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	if f.scenario == "" {
		return usageError{errors.New("run needs -scenario NAME|FILE (built in: " + strings.Join(bench.BuiltinScenarios(), ", ") + ")")}
	}
	if name == "quick" && f.out == "" {
		dir, err := os.MkdirTemp("", "settle-bench-quick-")
		if err != nil {
			return err
		}
		f.out = dir
	}
	o, err := f.options(stderr)
	if err != nil {
		return err
	}
	var res *bench.Result
	if name == "sweep" {
		res, err = bench.Sweep(ctx, o)
	} else {
		res, err = bench.Run(ctx, o)
	}
	if res != nil {
		fmt.Fprint(stdout, bench.TextSummary(res, res.Dir))
	}
	if err != nil {
		return err
	}
	if !res.Passed {
		return errors.New("the run failed its checks (see the report)")
	}
	return nil
}

func cmdCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	dir := fs.String("dir", os.TempDir(), "measure fsync and Pebble on this directory's filesystem")
	perTest := fs.Duration("per-test", 2*time.Second, "time per measurement")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	c, err := bench.Calibrate(ctx, bench.CalibrateOptions{Dir: *dir, PerTest: *perTest})
	if err != nil {
		return err
	}
	if *jsonOut {
		return bench.PrintJSON(stdout, c)
	}
	fmt.Fprint(stdout, bench.CalibrationText(c))
	return nil
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	if err := parse(fs, args, stderr, 1); err != nil {
		return err
	}
	dir := fs.Arg(0)
	if err := bench.WriteReport(dir); err != nil {
		return err
	}
	res, err := bench.ReadResult(dir)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, bench.TextSummary(res, dir))
	return nil
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	alpha := fs.Float64("alpha", bench.AlphaDefault, "significance level of the Mann–Whitney U test over the rounds")
	effect := fs.Float64("min-effect", bench.MinEffectDefault, "smallest relative change reported (0.03 = 3%), however significant")
	force := fs.Bool("force", false, "compare sets of different scenarios, validators, offered loads or machines (with a warning)")
	if err := parse(fs, args, stderr, 2); err != nil {
		return err
	}
	c, err := bench.Compare(fs.Arg(0), fs.Arg(1), bench.CompareOptions{Alpha: *alpha, MinEffect: *effect, Force: *force})
	if errors.Is(err, bench.ErrNotComparable) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, c.Text())
	if c.Regressed() {
		return bench.ErrRegression
	}
	return nil
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	var f runFlags
	f.register(fs, "single")
	points := fs.String("points", "", "fit measured points from this file (CSV: n,throughput[,label]) instead of running")
	from := fs.String("from", "", "comma-separated result directories to take points from (n = validators × GOMAXPROCS)")
	cores := fs.String("cores", "1,2", "GOMAXPROCS values to measure")
	validators := fs.String("validators", "1", "validator counts to measure (needs settled testnet beyond 1)")
	predict := fs.Int("predict", 16, "predict throughput up to this many cores")
	out := fs.String("plan-out", "", "plan directory (default: -results/<date>-plan)")
	if err := parse(fs, args, stderr, 0); err != nil {
		return err
	}
	po := bench.PlanOptions{PredictN: *predict, OutDir: *out, ResultsDir: f.results,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }}
	var err error
	switch {
	case *points != "":
		po.Points, err = bench.ReadPoints(*points)
	case *from != "":
		po.Points, err = bench.PointsFromResults(strings.Split(*from, ","))
	default:
		var o bench.Options
		if o, err = f.options(stderr); err != nil {
			return err
		}
		po.Run = &o
		if po.Cores, err = ints(*cores); err == nil {
			po.Validators, err = ints(*validators)
		}
	}
	if err != nil {
		return usageError{err}
	}
	p, err := bench.Plan(ctx, po)
	if p != nil {
		fmt.Fprint(stdout, p.Text())
	}
	return err
}

func ints(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}
