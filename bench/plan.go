package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
)

// PlanOptions configure capacity planning: either measured Points, or a Run
// template measured at every (validators, GOMAXPROCS) pair.
type PlanOptions struct {
	Points     []Point
	Run        *Options // template: its scenario is run closed-loop at each pair
	Cores      []int    // GOMAXPROCS values
	Validators []int
	ClosedK    int           // in flight during plan rounds; 0: 1024
	RoundDur   time.Duration // 0: 10 s
	PredictN   int           // predict up to this N
	OutDir     string
	ResultsDir string
	Logf       func(string, ...any)
}

// PlanResult is a fitted law and its recommendation.
type PlanResult struct {
	Points         []Point   `json:"points"`
	Fit            USL       `json:"fit"`
	PeakN          float64   `json:"peak_n"`
	PeakX          float64   `json:"peak_x_per_s"`
	PredictN       int       `json:"predict_n"`
	Predicted      []Point   `json:"predicted"` // N = 1..PredictN
	OperatingN     float64   `json:"operating_n"`
	OperatingLowX  float64   `json:"operating_low_per_s"`  // 70% of the capacity at OperatingN
	OperatingHighX float64   `json:"operating_high_per_s"` // 80%
	Assumptions    []string  `json:"assumptions"`
	Dir            string    `json:"-"`
	Warnings       []string  `json:"warnings,omitempty"`
	FittedAt       time.Time `json:"fitted_at"`
}

// Plan measures (or takes) points, fits the USL, predicts and recommends.
func Plan(ctx context.Context, o PlanOptions) (*PlanResult, error) {
	if o.PredictN < 1 {
		o.PredictN = 16
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := o.OutDir
	if dir == "" {
		parent := o.ResultsDir
		if parent == "" {
			parent = "results"
		}
		dir = filepath.Join(parent, time.Now().Format("2006-01-02-150405")+"-plan")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plan dir: %w", err)
	}
	pts := o.Points
	if o.Run != nil {
		measured, err := measurePoints(ctx, o, dir, logf)
		pts = append(pts, measured...)
		if err != nil {
			return nil, err
		}
	}
	fit, err := FitUSL(pts)
	if err != nil {
		_ = writeJSON(filepath.Join(dir, "points.json"), pts)
		return nil, err
	}
	p := recommend(fit, pts, o.PredictN)
	p.Dir = dir
	if err := writeJSON(filepath.Join(dir, "plan.json"), p); err != nil {
		return p, err
	}
	if err := plotUSL(filepath.Join(dir, PlotUSL), p); err != nil {
		return p, err
	}
	return p, os.WriteFile(filepath.Join(dir, "plan.md"), []byte(p.Markdown()), 0o644)
}

// measurePoints runs the template closed-loop at every pair; each round is a point
// at N = validators × GOMAXPROCS (one of the two is 1 in a sensible plan).
func measurePoints(ctx context.Context, o PlanOptions, dir string, logf func(string, ...any)) ([]Point, error) {
	k, d := o.ClosedK, o.RoundDur
	if k <= 0 {
		k = 1024
	}
	if d <= 0 {
		d = 10 * time.Second
	}
	var pts []Point
	for _, v := range o.Validators {
		for _, c := range o.Cores {
			sc := *o.Run.Scenario
			sc.Name = fmt.Sprintf("%s-v%d-c%d", o.Run.Scenario.Name, v, c)
			sc.Validators, sc.GoMaxProcs = v, c
			sc.Schedule, sc.ClosedK, sc.Duration = "", k, d.String()
			run := *o.Run
			run.Scenario, run.OutDir = &sc, filepath.Join(dir, sc.Name)
			logf("plan: %d validator(s), GOMAXPROCS %d, %d round(s) of %v closed-loop with %d in flight", v, c, sc.Repeats, d, k)
			res, err := Run(ctx, run)
			if res != nil {
				for _, r := range res.Rounds {
					if r.Committed > 0 {
						pts = append(pts, Point{N: float64(v * c), X: r.CommittedPerS, Label: fmt.Sprintf("v%d c%d %s", v, c, r.Label)})
					}
				}
			}
			if err != nil {
				return pts, err
			}
		}
	}
	return pts, nil
}

func recommend(fit USL, pts []Point, predictN int) *PlanResult {
	p := &PlanResult{Points: pts, Fit: fit, PredictN: predictN, PeakN: fit.PeakN(), FittedAt: time.Now().UTC()}
	for n := 1; n <= predictN; n++ {
		p.Predicted = append(p.Predicted, Point{N: float64(n), X: fit.X(float64(n))})
	}
	// Operate at the largest N up to predictN, unless the law peaks earlier:
	// adding units beyond the peak lowers throughput.
	p.OperatingN = float64(predictN)
	// N counts units (validators × cores): a peak below one unit means
	// throughput only falls from N = 1, which is then the peak.
	p.PeakN = math.Max(1, p.PeakN)
	if !math.IsInf(p.PeakN, 1) && p.PeakN < p.OperatingN {
		p.OperatingN = math.Max(1, math.Round(p.PeakN))
	}
	p.PeakX = fit.X(p.PeakN)
	if math.IsInf(p.PeakN, 1) {
		p.PeakX = fit.Lambda / fit.Sigma
		if fit.Sigma == 0 {
			p.PeakX = math.Inf(1)
		}
	}
	capX := fit.X(p.OperatingN)
	p.OperatingLowX, p.OperatingHighX = 0.7*capX, 0.8*capX
	maxN := 0.0
	for _, pt := range pts {
		maxN = math.Max(maxN, pt.N)
	}
	p.Assumptions = []string{
		"Throughput follows the Universal Scalability Law in N; σ (contention) and κ (coherency) stay what they were at the measured scales.",
		fmt.Sprintf("Points were measured up to N = %.0f; predictions beyond it are extrapolation and widen in error with distance.", maxN),
		"Each unit added is like the measured ones (same core speed, memory bandwidth, disk fsync latency and network); Ed25519 verification stays the bottleneck that scales with cores.",
		"The workload (transaction mix, account distribution, block limits) is the one measured.",
		"Measured throughput is saturation throughput (closed loop, many in flight); latency at the operating point must still be checked against the SLO with an open-loop run at that rate (`bench run -rate R`).",
		"The 70–80% band leaves headroom for bursts and for latency, which climbs steeply as utilisation approaches 1.",
	}
	if fit.R2 < 0.9 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the fit is poor (R² %.2f): treat the prediction with suspicion and measure more points", fit.R2))
	}
	if maxN < 4 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the largest measured N is %.0f: κ is barely constrained, so the predicted peak is uncertain", maxN))
	}
	return p
}

// Text is the plan's plain-text summary.
func (p *PlanResult) Text() string {
	var b strings.Builder
	f := p.Fit
	fmt.Fprintf(&b, "USL fit over %d points: λ = %.1f tx/s per unit, σ = %.4f, κ = %.6f (R² %.3f, rms relative error %.1f%%)\n",
		f.Points, f.Lambda, f.Sigma, f.Kappa, f.R2, 100*f.RMSRel)
	if math.IsInf(p.PeakN, 1) {
		fmt.Fprintf(&b, "  no retrograde region (κ = 0): throughput approaches λ/σ = %.0f tx/s\n", p.PeakX)
	} else if p.PeakN <= 1 {
		fmt.Fprintf(&b, "  no peak above N = 1: the fit falls from %.0f tx/s at N = 1 (more units lower throughput)\n", p.PeakX)
	} else {
		fmt.Fprintf(&b, "  peak at N ≈ %.1f: %.0f tx/s\n", p.PeakN, p.PeakX)
	}
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		if n <= p.PredictN {
			fmt.Fprintf(&b, "  predicted N = %2d: %8.0f tx/s\n", n, p.Predicted[n-1].X)
		}
	}
	fmt.Fprintf(&b, "  recommended operating point: N = %.0f at %.0f–%.0f tx/s (70–80%% of the predicted %.0f tx/s there)\n",
		p.OperatingN, p.OperatingLowX, p.OperatingHighX, p.Fit.X(p.OperatingN))
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	if p.Dir != "" {
		fmt.Fprintf(&b, "  plan: %s\n", filepath.Join(p.Dir, "plan.md"))
	}
	return b.String()
}

// Markdown is plan.md.
func (p *PlanResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Capacity plan (Universal Scalability Law)\n\nX(N) = λN / (1 + σ(N−1) + κN(N−1))\n\n```\n%s```\n\n", p.Text())
	fmt.Fprintf(&b, "![USL fit](%s)\n\n## Measured points\n\n| N | tx/s | fitted | label |\n| ---: | ---: | ---: | --- |\n", PlotUSL)
	for _, pt := range p.Points {
		fmt.Fprintf(&b, "| %.0f | %.0f | %.0f | %s |\n", pt.N, pt.X, p.Fit.X(pt.N), pt.Label)
	}
	fmt.Fprintf(&b, "\n## Assumptions\n\n")
	for _, a := range p.Assumptions {
		fmt.Fprintf(&b, "- %s\n", a)
	}
	return b.String()
}

func plotUSL(path string, p *PlanResult) error {
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("USL: λ=%.0f σ=%.3f κ=%.5f", p.Fit.Lambda, p.Fit.Sigma, p.Fit.Kappa)
	pl.X.Label.Text = "N"
	pl.Y.Label.Text = "committed tx/s"
	meas := make(plotter.XYs, len(p.Points))
	for i, pt := range p.Points {
		meas[i] = plotter.XY{X: pt.N, Y: pt.X}
	}
	sc, err := plotter.NewScatter(meas)
	if err != nil {
		return err
	}
	sc.Color = plotutil.Color(0)
	fn := plotter.NewFunction(p.Fit.X)
	fn.XMin, fn.XMax = 1, float64(p.PredictN) // the law is defined from one unit up
	fn.Color = plotutil.Color(1)
	pl.Add(sc, fn, plotter.NewGrid())
	pl.Legend.Add("measured", sc)
	pl.Legend.Add("fitted / predicted", fn)
	pl.X.Min, pl.X.Max, pl.Y.Min = 1, float64(p.PredictN), 0
	return pl.Save(plotW, plotH, path)
}

// ReadPoints reads "n,throughput[,label]" lines (# comments, blank lines ignored).
func ReadPoints(path string) ([]Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("points: %w", err)
	}
	defer f.Close()
	var out []Point
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		parts := strings.SplitN(t, ",", 3)
		if len(parts) < 2 {
			return nil, fmt.Errorf("%s line %d: expected n,throughput[,label]", path, line)
		}
		n, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		x, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if err1 != nil || err2 != nil {
			if len(out) == 0 && line == 1 {
				continue // a header line
			}
			return nil, fmt.Errorf("%s line %d: %q is not n,throughput", path, line, t)
		}
		p := Point{N: n, X: x}
		if len(parts) == 3 {
			p.Label = strings.TrimSpace(parts[2])
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// PointsFromResults takes one point per round of each result directory, at
// N = validators × GOMAXPROCS (GOMAXPROCS unset: the machine's cores).
func PointsFromResults(dirs []string) ([]Point, error) {
	var out []Point
	for _, d := range dirs {
		r, err := ReadResult(strings.TrimSpace(d))
		if err != nil {
			return nil, err
		}
		c := r.GoMaxProcs
		if c == 0 {
			c = r.Machine.Cores
		}
		for _, rd := range r.Rounds {
			out = append(out, Point{N: float64(max(1, r.Validators) * c), X: rd.CommittedPerS, Label: d + " " + rd.Label})
		}
	}
	return out, nil
}
