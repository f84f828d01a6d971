package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"settle/engine/codes"
	"settle/loadgen"
)

// Options configure a run or a sweep.
type Options struct {
	Scenario    *Scenario
	Settled     string // settled binary; "" builds ./cmd/settled into a temporary dir
	ClusterFile string // remote validators instead of a local cluster
	OutDir      string // result directory; "" gives ResultsDir/<date>-<scenario>
	ResultsDir  string // parent of result directories; "" is "results"
	KeepCluster bool   // keep the local cluster's work dir (logs, data)
	NoCalibrate bool
	CalibrateS  float64 // seconds per calibration measurement; 0: 1
	NoCache     bool    // do not use loadgen's signed-transaction cache

	Progress io.Writer // live progress lines; nil: none
	Logf     func(string, ...any)
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// env is a prepared run: output dir, cluster, calibration, sampler.
type env struct {
	o       *Options
	out     string
	res     *Result
	cluster *Cluster
	sampler *Sampler
	tmp     string // the harness's temporary dir (binary, cluster work dir)
	start   time.Time
}

// Run executes the scenario's rounds (repeats) and writes the result directory.
func Run(ctx context.Context, o Options) (*Result, error) {
	e, err := setup(ctx, &o, "run")
	if err != nil {
		return nil, err
	}
	defer e.teardown()
	sc := o.Scenario
	sch, _ := sc.LoadSchedule() // nil for closed loop
	rate := 0.0
	if sch != nil && sch.Duration() > 0 {
		rate = float64(sch.Count()) / sch.Duration().Seconds()
	}
	n := 0
	for i := 1; i <= sc.Repeats; i++ {
		label := fmt.Sprintf("repeat %d/%d", i, sc.Repeats)
		if b := sc.Workload.Baseline; b != "" {
			// The baseline first, on the same cluster, so both see the same machine.
			n++
			if _, err := e.round(ctx, n, label+" "+b, sc.withMix(b), rate); err != nil {
				return e.finish(err)
			}
			label += " " + sc.Workload.Mix
		}
		n++
		if _, err := e.round(ctx, n, label, sc, rate); err != nil {
			return e.finish(err)
		}
	}
	return e.finish(nil)
}

// withMix returns a copy that runs mix instead of the scenario's (a baseline).
func (s *Scenario) withMix(mix string) *Scenario {
	c := *s
	c.Workload.Mix, c.Workload.Baseline = mix, ""
	return &c
}

// mainRounds are the rounds of the scenario's own workload (not its baseline's).
func (r *Result) mainRounds() []Round {
	var out []Round
	for _, rd := range r.Rounds {
		if r.Scenario.Workload.Baseline == "" || rd.Workload != "mix/"+r.Scenario.Workload.Baseline {
			out = append(out, rd)
		}
	}
	return out
}

// baselineCheck states the mix's mean goodput as a ratio of the baseline's, and
// records it in the result.
func baselineCheck(r *Result) []Check {
	w := r.Scenario.Workload
	if w.Baseline == "" {
		return nil
	}
	var mix, base []float64
	for _, rd := range r.Rounds {
		if rd.Workload == "mix/"+w.Baseline {
			base = append(base, rd.GoodputPerS)
		} else {
			mix = append(mix, rd.GoodputPerS)
		}
	}
	m, b := statOf(mix), statOf(base)
	r.Baseline = &BaselineComparison{Mix: w.Mix, Baseline: w.Baseline, MixGoodputPerS: m, BaselineGoodputPerS: b}
	if b.Mean > 0 {
		r.Baseline.Ratio = m.Mean / b.Mean
	}
	minRatio := 0.0
	if r.Scenario.Checks != nil {
		minRatio = r.Scenario.Checks.BaselineRatioMin
	}
	return []Check{{Name: fmt.Sprintf("%s vs %s", w.Mix, w.Baseline), Passed: b.N > 0 && m.N > 0 && r.Baseline.Ratio >= minRatio,
		Detail: fmt.Sprintf("goodput %.0f ± %.0f tx/s vs %.0f ± %.0f tx/s over %d+%d rounds: ratio %.2f (at least %.2f)",
			m.Mean, m.StdDev, b.Mean, b.StdDev, m.N, b.N, r.Baseline.Ratio, minRatio)}}
}

func setup(ctx context.Context, o *Options, kind string) (_ *env, err error) {
	if o.Scenario == nil {
		return nil, errors.New("no scenario given")
	}
	e := &env{o: o, start: time.Now()}
	defer func() {
		if err != nil {
			e.teardown()
		}
	}()
	if e.tmp, err = os.MkdirTemp("", "settle-bench-"); err != nil {
		return nil, fmt.Errorf("temporary dir: %w", err)
	}
	if e.out, err = resultDir(o); err != nil {
		return nil, err
	}
	sc := o.Scenario
	e.res = &Result{Kind: kind, Scenario: sc, Machine: DescribeMachine(ctx), GoMaxProcs: sc.GoMaxProcs,
		StartTime: e.start.UTC().Format(time.RFC3339), Checks: []Check{}, Dir: e.out}
	workDir := filepath.Join(e.tmp, "cluster")
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, err
	}
	if !o.NoCalibrate {
		o.logf("calibrating: Ed25519 verification, fsync and Pebble in %s", workDir)
		cal, err := Calibrate(ctx, CalibrateOptions{Dir: workDir, PerTest: time.Duration(max(o.CalibrateS, 0.2) * float64(time.Second))})
		if err != nil {
			return nil, err
		}
		e.res.Calibration = cal
		o.logf("calibration: batch verify %.0f sigs/s on %d cores, fsync p50 %.2f ms, Pebble %.0f synced batches/s",
			cal.VerifyBatchAllCoresPerS, cal.Cores, cal.FsyncP50Ms, cal.PebbleSyncedBatchPerS)
	}
	if e.cluster, err = e.startCluster(ctx, workDir); err != nil {
		return nil, err
	}
	e.res.Targets, e.res.Local, e.res.Validators = e.cluster.Targets, e.cluster.Local, len(e.cluster.Targets)
	e.sampler = StartSampler(ctx, e.cluster.Targets, time.Second)
	return e, nil
}

func (e *env) startCluster(ctx context.Context, workDir string) (*Cluster, error) {
	o, sc := e.o, e.o.Scenario
	if o.ClusterFile != "" {
		return LoadClusterFile(o.ClusterFile)
	}
	bin := o.Settled
	if bin == "" {
		o.logf("building settled (go build ./cmd/settled)")
		var err error
		if bin, err = BuildSettled(ctx, e.tmp); err != nil {
			return nil, err
		}
	}
	genesis, err := sc.MixGenesisFile(e.tmp, "")
	if err != nil {
		return nil, err
	}
	return StartLocal(ctx, LocalOptions{Binary: bin, Dir: workDir, KeepDir: o.KeepCluster, Validators: sc.Validators,
		Accounts: sc.Accounts, Block: sc.Block, ReplicaTLS: sc.ReplicaTLS, StateRoot: sc.StateRoot, GoMaxProcs: sc.GoMaxProcs, Genesis: genesis, Logf: o.Logf,
		WAN: sc.WAN, ViewTimeoutMs: sc.ViewTimeoutMs})
}

// resultDir picks and creates the output directory.
func resultDir(o *Options) (string, error) {
	dir := o.OutDir
	if dir == "" {
		parent := o.ResultsDir
		if parent == "" {
			parent = "results"
		}
		dir = filepath.Join(parent, time.Now().Format("2006-01-02-150405")+"-"+o.Scenario.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("result dir: %w", err)
	}
	return dir, nil
}

// round runs one loadgen run against the cluster and records it.
func (e *env) round(ctx context.Context, i int, label string, sc *Scenario, rate float64) (*Round, error) {
	if dead := e.cluster.Exited(); len(dead) > 0 {
		return nil, fmt.Errorf("validators died before %s: %s", label, strings.Join(dead, "; "))
	}
	cfg, err := e.loadConfig(sc, label)
	if err != nil {
		return nil, err
	}
	e.o.logf("%s: %s", label, describeLoad(sc))
	sum, runErr := loadgen.Run(ctx, cfg)
	if e.o.Progress != nil {
		fmt.Fprintln(e.o.Progress)
	}
	if sum == nil {
		return nil, fmt.Errorf("%s: %w", label, runErr)
	}
	r := newRound(i, label, rate, sum, float64(sc.SLOP99Ms))
	if err := loadgen.WriteOutputs(filepath.Join(e.out, r.Dir), sum); err != nil {
		return nil, err
	}
	e.res.Rounds = append(e.res.Rounds, r)
	e.o.logf("%s: committed %.0f tx/s of %.0f offered, p99 %.1f ms, %s", label, r.CommittedPerS, r.OfferedPerS,
		r.Latency.P99Ms, verdict(r))
	if runErr != nil {
		return &r, fmt.Errorf("%s: %w", label, runErr)
	}
	return &r, nil
}

func verdict(r Round) string {
	switch {
	case !r.GeneratorValid:
		return "INVALID (generator: " + strings.Join(r.GeneratorReasons, "; ") + ")"
	case r.Sustained && len(r.Degraded) > 0:
		return "sustained, degraded (" + strings.Join(r.Degraded, "; ") + ")"
	case r.Sustained:
		return "sustained"
	case !r.MeetsSLO:
		return "p99 over the SLO"
	}
	return fmt.Sprintf("only %.1f%% committed", 100*r.CommitRatio)
}

func describeLoad(sc *Scenario) string {
	what := fmt.Sprintf("%s over %d accounts", sc.Workload.Dist, sc.Accounts)
	if sc.Workload.Mix != "" {
		what = "the " + sc.Workload.Mix + " mix"
	}
	if sc.ClosedK > 0 {
		return fmt.Sprintf("closed loop, %d in flight for %s, %s", sc.ClosedK, sc.Duration, what)
	}
	return fmt.Sprintf("open loop %s, %s", sc.Schedule, what)
}

func (e *env) loadConfig(sc *Scenario, label string) (loadgen.Config, error) {
	w := sc.Workload
	cfg := loadgen.Config{
		Targets: e.cluster.Targets, ChainID: e.cluster.ChainID, Accounts: sc.Accounts, Mix: w.Mix, MixFinishLag: w.FinishLag,
		WorkloadCount: sc.Count,
		Dist:          w.Dist, ZipfS: w.ZipfS, InterbankLarge: w.InterbankLarge, InterbankShare: w.InterbankShare, Seed: w.Seed,
		Closed: sc.ClosedK, ClosedDuration: sc.ClosedDuration(), CommitTimeout: sc.CommitTimeout(), NoCache: e.o.NoCache,
		Logf: e.o.Logf,
	}
	if sc.Schedule != "" {
		sch, err := sc.LoadSchedule()
		if err != nil {
			return cfg, err
		}
		cfg.Schedule = sch
	}
	if e.o.Progress != nil {
		cfg.Progress = progressPrinter(e.o.Progress, label, sc.TimedLength())
	}
	return cfg, nil
}

// progressPrinter returns loadgen's Progress hook: one line a second, rewritten in
// place on a terminal.
func progressPrinter(w io.Writer, label string, timed time.Duration) func(loadgen.Progress) {
	cr := "\n"
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cr = "\r\033[K"
		}
	}
	return func(p loadgen.Progress) {
		// Without a terminal, a line every 5 s keeps logs readable.
		if cr == "\n" && int(p.Elapsed.Seconds())%5 != 0 {
			return
		}
		fmt.Fprintf(w, "%s[%s] %4.0fs/%.0fs  offered %d  sent %d  committed %d (%.0f/s)  rejected %d  timed out %d  in flight %d  p99 %.1f ms",
			cr, label, p.Elapsed.Seconds(), timed.Seconds(), p.Offered, p.Sent, p.Committed, p.CommittedPerS,
			p.Rejected, p.TimedOut, p.InFlight, float64(p.CommitP99)/1e6)
	}
}

// finish stops sampling, evaluates the checks, and writes the result directory
// and its report. A run error is returned after the partial result is written.
func (e *env) finish(runErr error) (*Result, error) {
	if e.res.Kind == "run" && queueMix(e.o.Scenario) && len(e.cluster.Targets) > 0 {
		q, err := ReadQueueSummary(context.Background(), e.cluster.Targets[0])
		if err != nil {
			e.res.Checks = append(e.res.Checks, Check{Name: "rtgs queue", Detail: "reading the settlement split: " + err.Error()})
		} else {
			e.res.Queue = q
			e.res.Checks = append(e.res.Checks, queueCheck(q))
		}
	}
	samples := e.sampler.Stop()
	e.sampler = nil
	e.res.Nodes = SummariseNodes(samples, e.cluster.Targets)
	if err := writeJSON(filepath.Join(e.out, FileNodes), samples); err != nil {
		return e.res, errors.Join(runErr, err)
	}
	if dead := e.cluster.Exited(); len(dead) > 0 {
		e.res.Checks = append(e.res.Checks, Check{Name: "validators alive", Detail: strings.Join(dead, "; ")})
	}
	e.res.Checks = append(e.res.Checks, scenarioChecks(e.res)...)
	if e.res.Kind == "run" {
		e.res.Checks = append(e.res.Checks, baselineCheck(e.res)...)
		e.res.Checks = append(e.res.Checks, sloCheck(e.res))
		e.res.headline(e.res.mainRounds())
	}
	if runErr != nil {
		e.res.Checks = append(e.res.Checks, Check{Name: "completed", Detail: runErr.Error()})
		e.res.Passed = false
	}
	e.res.TookS = time.Since(e.start).Seconds()
	if err := WriteResult(e.out, e.res); err != nil {
		return e.res, errors.Join(runErr, err)
	}
	if err := WriteReport(e.out); err != nil {
		return e.res, errors.Join(runErr, err)
	}
	return e.res, runErr
}

// teardown stops everything the run started. Safe to call more than once.
func (e *env) teardown() {
	if e.sampler != nil {
		e.sampler.Stop()
		e.sampler = nil
	}
	if e.cluster != nil {
		if err := e.cluster.Close(); err != nil {
			e.o.logf("teardown: %v", err)
		}
	}
	if e.tmp != "" && !e.o.KeepCluster {
		os.RemoveAll(e.tmp)
	}
}

// sloCheck passes when every round's submit→commit p99 met the SLO.
func sloCheck(r *Result) Check {
	worst := 0.0
	ok := len(r.Rounds) > 0
	for _, rd := range r.Rounds {
		worst = max(worst, rd.Latency.P99Ms)
		ok = ok && rd.MeetsSLO
	}
	return Check{Name: "latency SLO", Passed: ok, Detail: fmt.Sprintf("worst round p99 %.1f ms (SLO %d ms)", worst, r.Scenario.SLOP99Ms)}
}

// scenarioChecks evaluates the scenario's extra rules on the finished rounds.
func scenarioChecks(r *Result) []Check {
	var out []Check
	ch := r.Scenario.Checks
	if ch == nil {
		return out
	}
	if ch.RSSMBMax > 0 || ch.RSSGrowthPctMax > 0 {
		for _, n := range r.Nodes {
			if ch.RSSMBMax > 0 {
				out = append(out, Check{Name: fmt.Sprintf("v%d peak memory", n.Node), Passed: n.RSSMBMax <= ch.RSSMBMax,
					Detail: fmt.Sprintf("peak RSS %.0f MiB (limit %.0f MiB)", n.RSSMBMax, ch.RSSMBMax)})
			}
			if ch.RSSGrowthPctMax > 0 {
				out = append(out, Check{Name: fmt.Sprintf("v%d memory flat", n.Node), Passed: n.RSSGrowthPct <= ch.RSSGrowthPctMax,
					Detail: fmt.Sprintf("RSS grew %.1f%% from the middle to the last third of the run (limit %.0f%%)", n.RSSGrowthPct, ch.RSSGrowthPctMax)})
			}
		}
	}
	if ch.ExpectBackpressure {
		out = append(out, backpressureCheck(r))
	}
	return out
}

// backpressureCheck passes when the node pushed back on the overload: refusals
// that tell the client to retry later (429 mempool_full, 503 overloaded or
// not_ready) or to pay the escalated minimum fee (fee_too_low). Other refusals
// (bad input) do not count: they are not backpressure.
func backpressureCheck(r *Result) Check {
	var pushedBack int64
	byCode := map[string]int64{}
	for _, rd := range r.Rounds {
		for c, n := range rd.RejectedBy {
			byCode[c] += n
			if code := codes.Code(c); code.Retryable() || code == codes.FeeTooLow {
				pushedBack += n
			}
		}
	}
	return Check{Name: "backpressure", Passed: pushedBack > 0,
		Detail: fmt.Sprintf("%d transactions refused with a backpressure code (429/503 or an escalated fee); all refusals: %v", pushedBack, byCode)}
}
