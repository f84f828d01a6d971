package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
)

// WANMatrixOptions configure `bench wan`: every (validators, bandwidth, RTT)
// combination is measured twice, on a fresh local cluster each time: at
// saturation (the scenario's closed loop, whose in-flight count must exceed
// rate × latency at the longest RTT, or Little's law caps the rate instead of
// the cluster), then open loop at half the saturation rate for latency.
type WANMatrixOptions struct {
	Run           Options // template: Scenario (closed loop), Settled, NoCache, Logf
	Validators    []int
	RTTMs         []float64
	BandwidthMbit []float64     // 0: unlimited
	HalfDuration  time.Duration // the half-load round (default 20 s)
	// Passes > 1 measures the whole matrix again, in reverse order on even
	// passes so that a drift of the shared machine does not favour one end;
	// each point reports the median over passes.
	Passes int
	OutDir string
}

// WANPoint is one combination's figures.
type WANPoint struct {
	Validators    int     `json:"validators"`
	RTTMs         float64 `json:"rtt_ms"`
	BandwidthMbit float64 `json:"bandwidth_mbit"` // 0: unlimited

	SatPerS      float64   `json:"saturation_per_s"`   // median over passes (each the mean of its rounds)
	SatSamples   []float64 `json:"saturation_samples"` // per pass
	HalfRatePerS float64   `json:"half_rate_per_s"`
	P50Ms        float64   `json:"p50_ms"` // median over passes
	P99Ms        float64   `json:"p99_ms"`
	P50Samples   []float64 `json:"p50_samples"`
	P99Samples   []float64 `json:"p99_samples"`
	ViewChanges  float64   `json:"view_changes"` // most over the validators, saturation and half-load runs, median over passes

	// Against the same validators and bandwidth at RTT 0.
	SatRatio float64 `json:"saturation_ratio_to_rtt0,omitempty"`
	// The latency target: median submit→commit ≤ 3 × RTT + 150 ms.
	P50TargetMs float64  `json:"p50_target_ms"`
	Dirs        []string `json:"dirs"` // result directories, relative to the matrix's
}

// WANMatrixResult is summary.json of a `bench wan` directory.
type WANMatrixResult struct {
	Machine     Machine      `json:"machine"`
	Calibration *Calibration `json:"calibration,omitempty"`
	Scenario    *Scenario    `json:"scenario"`
	Passes      int          `json:"passes"`
	Points      []WANPoint   `json:"points"`
	StartTime   string       `json:"start_time"`
	TookS       float64      `json:"took_s"`
	Dir         string       `json:"-"`
}

// Files of a `bench wan` directory.
const (
	PlotWANThroughput = "wan-throughput.png"
	PlotWANLatency    = "wan-latency.png"
)

// Targets of the WAN measurements (docs/deployment.md).
const (
	wanSatRatioMin = 0.8 // throughput at the longest RTT ÷ at RTT 0
	wanP50SlackMs  = 150 // median submit→commit ≤ 3 × RTT + this
)

// Validate explains the first problem with the options in one sentence.
func (o *WANMatrixOptions) Validate() error {
	sc := o.Run.Scenario
	switch {
	case sc == nil:
		return errors.New("no scenario given")
	case sc.ClosedK == 0:
		return fmt.Errorf("%w %q: bench wan measures saturation with a closed loop: give closed_k and duration", ErrScenario, sc.Name)
	case len(o.Validators) == 0 || len(o.RTTMs) == 0:
		return errors.New("bench wan needs at least one validator count and one RTT")
	case !slices.Contains(o.RTTMs, 0):
		return errors.New("bench wan needs RTT 0 among the RTTs: every point is compared with it")
	}
	for _, n := range o.Validators {
		if n < 2 || n > validatorsMax {
			return fmt.Errorf("a WAN needs 2 to %d validators, got %d", validatorsMax, n)
		}
	}
	for _, bw := range o.BandwidthMbit {
		if err := (&WANSpec{BandwidthMbit: bw}).validate(2); err != nil {
			return err
		}
	}
	for _, rtt := range o.RTTMs {
		if err := (&WANSpec{RTTMs: rtt}).validate(2); err != nil {
			return err
		}
	}
	return nil
}

// WANMatrix measures every combination and writes the directory's summary,
// report and plots.
func WANMatrix(ctx context.Context, o WANMatrixOptions) (*WANMatrixResult, error) {
	if len(o.BandwidthMbit) == 0 {
		o.BandwidthMbit = []float64{0}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.Passes = max(o.Passes, 1)
	if o.HalfDuration <= 0 {
		o.HalfDuration = 20 * time.Second
	}
	start := time.Now()
	res := &WANMatrixResult{Machine: DescribeMachine(ctx), Scenario: o.Run.Scenario, Passes: o.Passes,
		StartTime: start.UTC().Format(time.RFC3339), Dir: o.OutDir}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("result dir: %w", err)
	}
	if !o.Run.NoCalibrate {
		cal, err := Calibrate(ctx, CalibrateOptions{Dir: o.OutDir, PerTest: time.Second})
		if err != nil {
			return nil, err
		}
		res.Calibration = cal
	}
	var points []*WANPoint
	for _, n := range o.Validators {
		for _, bw := range o.BandwidthMbit {
			for _, rtt := range o.RTTMs {
				points = append(points, &WANPoint{Validators: n, RTTMs: rtt, BandwidthMbit: bw, P50TargetMs: 3*rtt + wanP50SlackMs})
			}
		}
	}
	var vcs = make([][]float64, len(points))
	for pass := 1; pass <= o.Passes; pass++ {
		order := make([]int, len(points))
		for i := range order {
			order[i] = i
		}
		if pass%2 == 0 {
			slices.Reverse(order)
		}
		for _, i := range order {
			vc, err := measureWANPoint(ctx, o, pass, points[i])
			if err != nil && ctx.Err() == nil {
				// A local cluster can fail to start on a shared machine (a port
				// taken meanwhile): one more try on a fresh cluster, said aloud.
				o.Run.logf("wan: %v; measuring the point again", err)
				vc, err = measureWANPoint(ctx, o, pass, points[i])
			}
			if err != nil {
				return nil, err
			}
			vcs[i] = append(vcs[i], vc)
		}
	}
	for i, p := range points {
		p.SatPerS, p.P50Ms, p.P99Ms, p.ViewChanges = median(p.SatSamples), median(p.P50Samples), median(p.P99Samples), median(vcs[i])
	}
	for _, p := range points {
		for _, q := range points {
			if q.RTTMs == 0 && q.Validators == p.Validators && q.BandwidthMbit == p.BandwidthMbit && q.SatPerS > 0 {
				p.SatRatio = p.SatPerS / q.SatPerS
			}
		}
		res.Points = append(res.Points, *p)
	}
	res.TookS = time.Since(start).Seconds()
	return res, res.Write()
}

// measureWANPoint runs one pass of one point: saturation, then half of it.
// It returns the most view changes any validator made in the two runs.
func measureWANPoint(ctx context.Context, o WANMatrixOptions, pass int, p *WANPoint) (float64, error) {
	name := fmt.Sprintf("n%d-rtt%g-bw%s-pass%d", p.Validators, p.RTTMs, bwName(p.BandwidthMbit), pass)
	sc := *o.Run.Scenario
	sc.Validators = p.Validators
	sc.WAN = &WANSpec{RTTMs: p.RTTMs, BandwidthMbit: p.BandwidthMbit}
	sc.Name = name + "-sat"
	run := o.Run
	run.Scenario, run.OutDir, run.NoCalibrate = &sc, filepath.Join(o.OutDir, sc.Name), true
	run.logf("wan %s: saturation (%s)", name, sc.WAN.Describe())
	sat, err := Run(ctx, run)
	if err != nil {
		return 0, fmt.Errorf("wan %s saturation: %w", name, err)
	}
	var rates []float64
	for _, r := range sat.Rounds {
		rates = append(rates, r.CommittedPerS)
	}
	satPerS := meanOf(rates)
	if satPerS <= 0 {
		return 0, fmt.Errorf("wan %s: nothing committed at saturation", name)
	}
	half := sc.WithRate(math.Round(satPerS/2), o.HalfDuration)
	half.Name, half.Repeats = name+"-half", 1
	run.Scenario, run.OutDir = half, filepath.Join(o.OutDir, half.Name)
	run.logf("wan %s: half load, %.0f tx/s", name, satPerS/2)
	hr, err := Run(ctx, run)
	if err != nil {
		return 0, fmt.Errorf("wan %s half load: %w", name, err)
	}
	if len(hr.Rounds) == 0 {
		return 0, fmt.Errorf("wan %s half load: no round", name)
	}
	p.SatSamples = append(p.SatSamples, satPerS)
	p.HalfRatePerS = math.Round(satPerS / 2)
	p.P50Samples = append(p.P50Samples, hr.Rounds[0].Latency.P50Ms)
	p.P99Samples = append(p.P99Samples, hr.Rounds[0].Latency.P99Ms)
	p.Dirs = append(p.Dirs, filepath.Base(sat.Dir), filepath.Base(hr.Dir))
	vc := 0.0
	for _, n := range append(sat.Nodes, hr.Nodes...) {
		vc = max(vc, n.ViewChanges)
	}
	return vc, nil
}

func bwName(mbit float64) string {
	if mbit == 0 {
		return "unl"
	}
	return fmt.Sprintf("%g", mbit)
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Write writes summary.json, report.md and the plots.
func (r *WANMatrixResult) Write() error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, FileResult), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, FileReport), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	if err := plotWAN(filepath.Join(r.Dir, PlotWANThroughput), r, false); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return plotWAN(filepath.Join(r.Dir, PlotWANLatency), r, true)
}

// Markdown is the report: one table row per point, with the targets.
func (r *WANMatrixResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Bench wan: validators apart\n\n")
	fmt.Fprintf(&b, "Every validator link runs through Toxiproxy (half the RTT each way, the cap in each direction); the load generator reaches each validator's API directly. ")
	fmt.Fprintf(&b, "Saturation: closed loop, %d in flight for %s, %d round(s) per run; latency: open loop at half the saturation rate for the same point, one round. ", r.Scenario.ClosedK, r.Scenario.Duration, r.Scenario.Repeats)
	fmt.Fprintf(&b, "Each figure is the median over %d pass(es), a fresh cluster per run.\n\n", r.Passes)
	m := r.Machine
	fmt.Fprintf(&b, "| | |\n| --- | --- |\n| machine | %s, %d logical CPUs, %.1f GiB, %s %s (load average at start %s) |\n| software | %s, commit %s |\n| started | %s, took %.0f s |\n",
		m.CPUModel, m.Cores, m.MemoryGiB, m.OS, m.Kernel, m.LoadAvg, m.GoVersion, shortHash(m.GitCommit), r.StartTime, r.TookS)
	if c := r.Calibration; c != nil {
		fmt.Fprintf(&b, "| calibration | Ed25519 batch verify %.0f sigs/s on %d cores (%.0f on one), fsync p50 %.2f ms |\n",
			c.VerifyBatchAllCoresPerS, c.Cores, c.VerifyBatchPerCorePerS, c.FsyncP50Ms)
	}
	fmt.Fprintf(&b, "\n| validators | bandwidth per link | RTT ms | saturation tx/s | ÷ RTT 0 | half load tx/s | p50 ms | p50 target ms | p99 ms | view changes | passes (saturation tx/s) |\n")
	fmt.Fprintf(&b, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, p := range r.Points {
		bw := "unlimited"
		if p.BandwidthMbit > 0 {
			bw = fmt.Sprintf("%g Mbit/s", p.BandwidthMbit)
		}
		ratio, p50 := "", fmt.Sprintf("%.0f", p.P50Ms)
		if p.RTTMs > 0 {
			ratio = fmt.Sprintf("%.2f", p.SatRatio)
			if p.SatRatio < wanSatRatioMin {
				ratio = "**" + ratio + "**"
			}
		}
		if p.P50Ms > p.P50TargetMs {
			p50 = "**" + p50 + "**"
		}
		var samples []string
		for _, s := range p.SatSamples {
			samples = append(samples, fmt.Sprintf("%.0f", s))
		}
		fmt.Fprintf(&b, "| %d | %s | %g | %.0f | %s | %.0f | %s | %.0f | %.0f | %.0f | %s |\n", p.Validators, bw, p.RTTMs, p.SatPerS, ratio,
			p.HalfRatePerS, p50, p.P50TargetMs, p.P99Ms, p.ViewChanges, strings.Join(samples, ", "))
	}
	fmt.Fprintf(&b, "\nBold: a target missed (throughput ≥ %.0f%% of RTT 0; median submit→commit ≤ 3 × RTT + %d ms). View changes: views advanced beyond one per block, the most of any validator over both runs of a point, start-up included.\n\n",
		100*wanSatRatioMin, wanP50SlackMs)
	fmt.Fprintf(&b, "![throughput](%s)\n\n![latency](%s)\n", PlotWANThroughput, PlotWANLatency)
	return b.String()
}

// plotWAN draws saturation throughput (or p50 and p99 at half load) against
// RTT, one line per (validators, bandwidth).
func plotWAN(path string, r *WANMatrixResult, latency bool) error {
	type key struct {
		n  int
		bw float64
	}
	lines := map[key]plotter.XYs{}
	lines99 := map[key]plotter.XYs{}
	var keys []key
	for _, p := range r.Points {
		k := key{p.Validators, p.BandwidthMbit}
		if _, ok := lines[k]; !ok {
			keys = append(keys, k)
		}
		y := p.SatPerS
		if latency {
			y = p.P50Ms
			lines99[k] = append(lines99[k], plotter.XY{X: p.RTTMs, Y: p.P99Ms})
		}
		lines[k] = append(lines[k], plotter.XY{X: p.RTTMs, Y: y})
	}
	pl := plot.New()
	pl.X.Label.Text = "round-trip time between validators (ms)"
	if latency {
		pl.Title.Text = "submit→commit at half the saturation rate (solid p50, dashed p99)"
		pl.Y.Label.Text = "ms"
	} else {
		pl.Title.Text = "throughput at saturation"
		pl.Y.Label.Text = "committed tx/s"
	}
	for i, k := range keys {
		label := fmt.Sprintf("n=%d, %s", k.n, map[bool]string{true: "unlimited", false: fmt.Sprintf("%g Mbit/s", k.bw)}[k.bw == 0])
		l, pts, err := plotter.NewLinePoints(sortXY(lines[k]))
		if err != nil {
			return err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		pl.Add(l, pts)
		pl.Legend.Add(label, l, pts)
		if latency {
			l99, err := plotter.NewLine(sortXY(lines99[k]))
			if err != nil {
				return err
			}
			l99.Color, l99.Dashes = plotutil.Color(i), plotutil.Dashes(1)
			pl.Add(l99)
		}
	}
	if latency {
		// The target: 3 × RTT + 150 ms.
		target := plotter.NewFunction(func(x float64) float64 { return 3*x + wanP50SlackMs })
		target.Dashes = plotutil.Dashes(2)
		pl.Add(target)
		pl.Legend.Add("p50 target 3·RTT+150", target)
	}
	pl.Add(plotter.NewGrid())
	pl.Legend.Top, pl.Legend.Left = true, latency
	pl.Y.Min = 0
	return pl.Save(plotW, plotH, path)
}

func sortXY(xy plotter.XYs) plotter.XYs {
	s := append(plotter.XYs(nil), xy...)
	sort.Slice(s, func(i, j int) bool { return s[i].X < s[j].X })
	return s
}
