package rtgsday

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioWrites runs a small scenario end to end and checks the files
// and that result.json reads back.
func TestScenarioWrites(t *testing.T) {
	res, err := Run(Options{Params: smallParams(3), Levels: []float64{0, 0.5, 1}, LSMEveryBlocks: []uint64{1, 4},
		EndBlocks: 5, Seeds: 2, Run: testRun})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Modes) != 4 || len(res.Runs) != 12 || len(res.Minimum) != 4 || len(res.Savings) != 2 || len(res.Seeds) != 2 {
		t.Fatalf("modes %d, runs %d, minima %d, savings %d, seeds %d", len(res.Modes), len(res.Runs), len(res.Minimum), len(res.Savings), len(res.Seeds))
	}
	// Immediate gross settlement needs the upper bound exactly, and the LSM
	// needs no more than plain RTGS, which needs no more than immediate.
	imm := res.Minimum[len(res.Minimum)-1]
	if imm.Mode != ModeImmediate().Name || imm.LiquidityMinor != res.UpperTotalMinor {
		t.Errorf("immediate settlement's minimum %+v, upper bound %d", imm, res.UpperTotalMinor)
	}
	for _, s := range res.Savings {
		if s.VsImmediate < s.Saving || s.VsImmediate < 0 {
			t.Errorf("saving %+v: less against immediate settlement than against plain RTGS", s)
		}
	}
	dir := t.TempDir()
	if err := Write(dir, "rtgs-day test", res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileReport, FileResult, PlotDelay, PlotSettled, PlotExecute} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, FileResult))
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.UpperTotalMinor != res.UpperTotalMinor {
		t.Fatalf("result.json: %v", err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileReport))
	for _, want := range []string{"## Liquidity bounds", "### lsm-k4", "## The same model, 2 seeds", "| 0.50 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestMinorFormat(t *testing.T) {
	for v, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := minor(v); got != want {
			t.Errorf("minor(%d) = %q, want %q", v, got, want)
		}
	}
}
