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
var ErrRegression = errors.New("a significant regression")

// ErrNotComparable is returned when two result sets differ in what they
// measured (scenario, validators, offered load or machine).
var ErrNotComparable = errors.New("the result sets are not comparable")

// Compare defaults.
const (
	AlphaDefault     = 0.05
	MinEffectDefault = 0.03
	// offeredTolerance is how far two sets' offered loads may differ and
	// still count as the same load (a schedule's rate is met within it).
	offeredTolerance = 0.05
)

// CompareOptions set the rule, benchstat's: a metric changed when the
// Mann–Whitney U test over the two sets' repeated rounds gives p < Alpha and
// the means differ by at least MinEffect × |mean A|. Force compares sets that
// measured different things (with a warning) instead of refusing.
type CompareOptions struct {
	Alpha     float64
	MinEffect float64
	Force     bool
}

// MetricDelta is one compared figure.
type MetricDelta struct {
	Name         string  `json:"name"`
	HigherBetter bool    `json:"higher_better"`
	A            Stat    `json:"a"`
	B            Stat    `json:"b"`
	Diff         float64 `json:"diff"`     // mean B − mean A
	DiffPct      float64 `json:"diff_pct"` // Diff over |mean A|, percent
	P            float64 `json:"p"`        // Mann–Whitney U, two-sided
	// Verdict: "regression", "improvement", "within noise" (p ≥ alpha or a
	// change below the minimum effect), "too few repeats" (no ordering of so
	// few values reaches p < alpha: nothing can be shown) or "no data".
	Verdict string `json:"verdict"`
}

// Comparison is `bench compare A B`.
type Comparison struct {
	A, B     string
	Alpha    float64
	Warnings []string // what differs between the sets (only with Force)
	Metrics  []MetricDelta
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
	ra, err := loadSet(a)
	if err != nil {
		return nil, err
	}
	rb, err := loadSet(b)
	if err != nil {
		return nil, err
	}
	diffs := differences(ra, rb)
	if len(diffs) > 0 && !o.Force {
		return nil, fmt.Errorf("%w: %s (-force compares them anyway)", ErrNotComparable, strings.Join(diffs, "; "))
	}
	c := CompareSets(a, b, ra, rb, o)
	c.Warnings = diffs
	return c, nil
}

// differences lists what the two sets measured differently: the scenario,
// the validators, the machine (CPU model and count) and the offered load of
// their rounds.
func differences(a, b []*Result) []string {
	var out []string
	desc := func(rs []*Result, f func(*Result) string) string {
		seen := map[string]bool{}
		var vs []string
		for _, r := range rs {
			if v := f(r); !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
		sort.Strings(vs)
		return strings.Join(vs, ", ")
	}
	for _, d := range []struct {
		what string
		f    func(*Result) string
	}{
		{"scenario", func(r *Result) string {
			if r.Scenario == nil {
				return "?"
			}
			return r.Scenario.Name
		}},
		{"validators", func(r *Result) string { return fmt.Sprint(r.Validators) }},
		{"machine", func(r *Result) string { return fmt.Sprintf("%s × %d", r.Machine.CPUModel, r.Machine.Cores) }},
		{"kind", func(r *Result) string { return r.Kind }},
	} {
		if da, db := desc(a, d.f), desc(b, d.f); da != db {
			out = append(out, fmt.Sprintf("%s %s vs %s", d.what, da, db))
		}
	}
	oa, ob := offeredLoads(a), offeredLoads(b)
	same := len(oa) == len(ob)
	for i := 0; same && i < len(oa); i++ {
		same = math.Abs(oa[i]-ob[i]) <= offeredTolerance*math.Max(oa[i], ob[i])
	}
	if !same {
		out = append(out, fmt.Sprintf("offered load %s vs %s tx/s", loadText(oa), loadText(ob)))
	}
	return out
}

// offeredLoads is the distinct offered rates of a set's runs (a sweep's load
// is its scenario's schedule of steps, compared with the scenario).
func offeredLoads(rs []*Result) []float64 {
	var vs []float64
	for _, r := range rs {
		if r.Sweep != nil {
			continue
		}
		for _, rd := range r.Rounds {
			vs = append(vs, rd.OfferedPerS)
		}
	}
	sort.Float64s(vs)
	var out []float64
	for _, v := range vs {
		if len(out) == 0 || v-out[len(out)-1] > offeredTolerance*v {
			out = append(out, v)
		}
	}
	return out
}

func loadText(vs []float64) string {
	var s []string
	for _, v := range vs {
		s = append(s, fmt.Sprintf("%.0f", v))
	}
	return strings.Join(s, ", ")
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
	if o.Alpha <= 0 {
		o.Alpha = AlphaDefault
	}
	if o.MinEffect <= 0 {
		o.MinEffect = MinEffectDefault
	}
	c := &Comparison{A: nameA, B: nameB, Alpha: o.Alpha}
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
		c.Metrics = append(c.Metrics, judge(m.name, m.higher, roundValues(a, m.get), roundValues(b, m.get), o))
	}
	if sa, sb := sweepValues(a), sweepValues(b); len(sa) > 0 && len(sb) > 0 {
		c.Metrics = append(c.Metrics, judge("max sustainable tx/s", true, sa, sb, o))
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

func judge(name string, higherBetter bool, va, vb []float64, o CompareOptions) MetricDelta {
	a, b := statOf(va), statOf(vb)
	d := MetricDelta{Name: name, HigherBetter: higherBetter, A: a, B: b, Diff: b.Mean - a.Mean, P: 1}
	switch {
	case a.N == 0 || b.N == 0:
		d.Verdict = "no data"
		return d
	case minAttainableP(a.N, b.N) >= o.Alpha:
		d.Verdict = "too few repeats"
		return d
	}
	if a.Mean != 0 {
		d.DiffPct = 100 * d.Diff / math.Abs(a.Mean)
	}
	d.P = mannWhitneyP(va, vb)
	d.Verdict = "within noise"
	if d.P < o.Alpha && math.Abs(d.Diff) >= o.MinEffect*math.Abs(a.Mean) {
		d.Verdict = "improvement"
		if worse := (d.Diff < 0) == higherBetter; worse {
			d.Verdict = "regression"
		}
	}
	return d
}

// Text renders the comparison as a table.
func (c *Comparison) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "compare A=%s  B=%s  (Mann–Whitney U, flag p < %.2f)\n", c.A, c.B, c.Alpha)
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "WARNING: compared despite different %s\n", w)
	}
	fmt.Fprintf(&b, "  %-22s %18s %18s %9s %7s  %s\n", "metric", "A mean±sd (n)", "B mean±sd (n)", "B−A", "p", "verdict")
	ms := append([]MetricDelta(nil), c.Metrics...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Verdict == "regression" && ms[j].Verdict != "regression" })
	tooFew := false
	for _, m := range ms {
		p := fmt.Sprintf("%.3f", m.P)
		if m.Verdict == "too few repeats" || m.Verdict == "no data" {
			p, tooFew = "—", tooFew || m.Verdict == "too few repeats"
		}
		fmt.Fprintf(&b, "  %-22s %18s %18s %+8.1f%% %7s  %s\n", m.Name, statText(m.A), statText(m.B), m.DiffPct, p, m.Verdict)
	}
	if tooFew {
		fmt.Fprintf(&b, "too few repeats: so few rounds a side can never reach p < %.2f, whatever they measured (at 0.05: 4 a side; run with repeats ≥ 4)\n", c.Alpha)
	}
	if c.Regressed() {
		fmt.Fprintf(&b, "REGRESSION: at least one metric moved the wrong way, significantly (p < %.2f) and by at least the minimum effect\n", c.Alpha)
	}
	return b.String()
}

func statText(s Stat) string {
	return fmt.Sprintf("%.1f±%.1f (%d)", s.Mean, s.StdDev, s.N)
}
