package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrRegression is returned (by the command) when a comparison flags one.
var ErrRegression = errors.New("regression beyond the run-to-run noise")

// Compare defaults.
const (
	NoiseKDefault     = 3.0
	NoiseFloorDefault = 0.03
)

// CompareOptions set the regression rule: a metric regresses when it moves in
// the bad direction by more than K × noise, where noise is the pooled standard
// deviation of the two sets' repeated rounds, but at least NoiseFloor × |mean A|
// (a set without repeats has no spread of its own to measure).
type CompareOptions struct {
	K          float64
	NoiseFloor float64
}

// MetricDelta is one compared figure.
type MetricDelta struct {
	Name         string  `json:"name"`
	HigherBetter bool    `json:"higher_better"`
	A            Stat    `json:"a"`
	B            Stat    `json:"b"`
	Diff         float64 `json:"diff"`  // mean B − mean A
	Noise        float64 `json:"noise"` // the noise the diff is judged against
	Sigmas       float64 `json:"sigmas"`
	Verdict      string  `json:"verdict"` // "regression", "improvement", "within noise"
}

// Comparison is `bench compare A B`.
type Comparison struct {
	A, B    string
	K       float64
	Metrics []MetricDelta
}

// Regressed reports whether any metric regressed.
func (c *Comparison) Regressed() bool {
	for _, m := range c.Metrics {
		if m.Verdict == "regression" {
			return true
		}
	}
	return false
}

// Compare loads two result sets (a result directory, or a directory of them)
// and compares their rounds.
func Compare(a, b string, o CompareOptions) (*Comparison, error) {
	if o.K <= 0 {
		o.K = NoiseKDefault
	}
	ra, err := loadSet(a)
	if err != nil {
		return nil, err
	}
	rb, err := loadSet(b)
	if err != nil {
		return nil, err
	}
	return CompareSets(a, b, ra, rb, o), nil
}

// loadSet reads dir as one result, or every result directly inside it.
func loadSet(dir string) ([]*Result, error) {
	if r, err := ReadResult(dir); err == nil {
		return []*Result{r}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("result set %s: %w", dir, err)
	}
	var out []*Result
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if r, err := ReadResult(filepath.Join(dir, e.Name())); err == nil {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no bench results (no summary.json in it or its subdirectories)", dir)
	}
	return out, nil
}

// CompareSets compares the rounds of two sets of results.
func CompareSets(nameA, nameB string, a, b []*Result, o CompareOptions) *Comparison {
	c := &Comparison{A: nameA, B: nameB, K: o.K}
	metrics := []struct {
		name   string
		higher bool
		get    func(Round) float64
	}{
		{"committed tx/s", true, func(r Round) float64 { return r.CommittedPerS }},
		{"goodput tx/s", true, func(r Round) float64 { return r.GoodputPerS }},
		{"p50 ms", false, func(r Round) float64 { return r.Latency.P50Ms }},
		{"p99 ms", false, func(r Round) float64 { return r.Latency.P99Ms }},
		{"p99.9 ms", false, func(r Round) float64 { return r.Latency.P999Ms }},
	}
	for _, m := range metrics {
		c.Metrics = append(c.Metrics, judge(m.name, m.higher, statOf(roundValues(a, m.get)), statOf(roundValues(b, m.get)), o))
	}
	if sa, sb := sweepValues(a), sweepValues(b); len(sa) > 0 && len(sb) > 0 {
		c.Metrics = append(c.Metrics, judge("max sustainable tx/s", true, statOf(sa), statOf(sb), o))
	}
	return c
}

// roundValues takes the compared rounds: every round of a run, and for a sweep
// only its max sustainable round (the others are deliberately off the limit).
func roundValues(rs []*Result, get func(Round) float64) []float64 {
	var out []float64
	for _, r := range rs {
		for _, rd := range r.Rounds {
			if r.Sweep != nil && rd.Index != r.Sweep.MaxSustainableRound {
				continue
			}
			out = append(out, get(rd))
		}
	}
	return out
}

func sweepValues(rs []*Result) []float64 {
	var out []float64
	for _, r := range rs {
		if r.Sweep != nil {
			out = append(out, r.Sweep.MaxSustainablePerS)
		}
	}
	return out
}

func judge(name string, higherBetter bool, a, b Stat, o CompareOptions) MetricDelta {
	d := MetricDelta{Name: name, HigherBetter: higherBetter, A: a, B: b, Diff: b.Mean - a.Mean, Verdict: "within noise"}
	d.Noise = math.Sqrt((a.StdDev*a.StdDev + b.StdDev*b.StdDev) / 2)
	d.Noise = math.Max(d.Noise, o.NoiseFloor*math.Abs(a.Mean))
	if a.N == 0 || b.N == 0 {
		d.Verdict = "no data"
		return d
	}
	if d.Noise > 0 {
		d.Sigmas = d.Diff / d.Noise
	}
	if math.Abs(d.Diff) > o.K*d.Noise && d.Noise > 0 {
		worse := (d.Diff < 0) == higherBetter
		d.Verdict = "improvement"
		if worse {
			d.Verdict = "regression"
		}
	}
	return d
}

// Text renders the comparison as a table.
func (c *Comparison) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "compare A=%s  B=%s  (flag beyond %.1f × noise)\n", c.A, c.B, c.K)
	fmt.Fprintf(&b, "  %-22s %18s %18s %10s %10s %8s  %s\n", "metric", "A mean±sd (n)", "B mean±sd (n)", "B−A", "noise", "×noise", "verdict")
	ms := append([]MetricDelta(nil), c.Metrics...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Verdict == "regression" && ms[j].Verdict != "regression" })
	for _, m := range ms {
		fmt.Fprintf(&b, "  %-22s %18s %18s %+10.1f %10.1f %+8.1f  %s\n", m.Name, statText(m.A), statText(m.B), m.Diff, m.Noise, m.Sigmas, m.Verdict)
	}
	if c.Regressed() {
		fmt.Fprintf(&b, "REGRESSION: at least one metric moved the wrong way by more than %.1f × the noise\n", c.K)
	}
	return b.String()
}

func statText(s Stat) string {
	return fmt.Sprintf("%.1f±%.1f (%d)", s.Mean, s.StdDev, s.N)
}
