package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies a fixture tree so the test can write into it.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReportFromFixture(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/run-fixture", dir)
	if err := WriteReport(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, FileReport))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Bench run: quick", "## Calibration", "## Rounds", "| offered | sent | accepted | rejected | committed | failed | timed out",
		"p99.9 ms", "goodput", "## Validators", "efficiency", "![Latency percentile spectrum](latency-spectrum.png)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(string(md), "could not be drawn") {
		t.Errorf("a plot failed:\n%s", md)
	}
	for _, f := range []string{PlotThroughputLatency, PlotSpectrum, PlotTimelineRate, PlotTimelineP99} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Size() < 1000 {
			t.Errorf("plot %s missing or empty: %v", f, err)
		}
	}
	r, err := ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := TextSummary(r, dir); !strings.Contains(s, "committed") {
		t.Errorf("text summary: %s", s)
	}
}

func TestReadIntervalsMatchesSummary(t *testing.T) {
	iv, err := ReadIntervals("testdata/run-fixture/round-01/intervals.hlog", "committed")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReadResult("testdata/run-fixture")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range iv {
		n += p.Count
	}
	if n != r.Rounds[0].Committed {
		t.Errorf("interval log holds %d commits, the summary %d", n, r.Rounds[0].Committed)
	}
	sp, err := ReadHgrm("testdata/run-fixture/round-01/latency.hgrm")
	if err != nil || len(sp) < 10 {
		t.Fatalf("hgrm: %d points, %v", len(sp), err)
	}
}

func TestPlanWritesPlot(t *testing.T) {
	u := USL{Lambda: 1000, Sigma: 0.05, Kappa: 0.002}
	var pts []Point
	for _, n := range []float64{1, 2, 3, 4, 6, 8} {
		pts = append(pts, Point{N: n, X: u.X(n)})
	}
	dir := t.TempDir()
	p, err := Plan(t.Context(), PlanOptions{Points: pts, PredictN: 16, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"plan.md", "plan.json", PlotUSL} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(p.Text(), "recommended operating point") {
		t.Errorf("plan text: %s", p.Text())
	}
}

// TestVerdictNamesMissedTargets: a run that passed its checks but falls short
// of the efficiency targets says which, beside PASSED.
func TestVerdictNamesMissedTargets(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Passed: true, Validators: 1, Efficiency: 0.6, CPUEfficiency: 0.8}, "PASSED"},
		{Result{Passed: true, Validators: 1, Efficiency: 0.303, CPUEfficiency: 0.35},
			"PASSED; TARGETS MISSED: efficiency 30.3% (target ≥ 50%), CPU efficiency 35.0% (target ≥ 70%)"},
		{Result{Passed: false, Validators: 4, Efficiency: 0.235, CPUEfficiency: 0.23},
			"FAILED; TARGETS MISSED: efficiency 23.5% (target ≥ 50%)"},
		{Result{Passed: true, Validators: 4}, "PASSED"}, // remote: no efficiency stated
	} {
		if got := verdictWords(&tc.r); got != tc.want {
			t.Errorf("verdict %q, want %q", got, tc.want)
		}
	}
}
