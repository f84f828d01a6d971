package bench

import (
	"strings"
	"testing"
)

// resultWith builds a result whose rounds have the given throughputs and p99s.
func resultWith(thr, p99 []float64) *Result {
	r := &Result{Kind: "run"}
	for i := range thr {
		r.Rounds = append(r.Rounds, Round{Index: i + 1, CommittedPerS: thr[i], GoodputPerS: thr[i],
			Latency: latency(p99[i])})
	}
	return r
}

func TestCompareFlagsRegressionNotNoise(t *testing.T) {
	base := resultWith([]float64{1000, 1020, 985, 1010}, []float64{40, 43, 38, 41})
	cases := []struct {
		name      string
		b         *Result
		regressed bool
		metric    string
	}{
		{"same distribution, other draws", resultWith([]float64{995, 1015, 1002, 990}, []float64{42, 39, 41, 40}), false, ""},
		{"throughput down 15%", resultWith([]float64{850, 860, 845, 855}, []float64{40, 42, 41, 39}), true, "committed tx/s"},
		{"p99 doubled", resultWith([]float64{1000, 1010, 990, 1005}, []float64{80, 85, 82, 79}), true, "p99 ms"},
		{"throughput up 15% is no regression", resultWith([]float64{1150, 1160, 1155, 1148}, []float64{40, 41, 39, 40}), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := CompareSets("a", "b", []*Result{base}, []*Result{tc.b}, CompareOptions{})
			if c.Regressed() != tc.regressed {
				t.Fatalf("regressed = %v, want %v\n%s", c.Regressed(), tc.regressed, c.Text())
			}
			if tc.metric == "" {
				return
			}
			for _, m := range c.Metrics {
				if m.Name == tc.metric && m.Verdict != "regression" {
					t.Errorf("%s: verdict %q, want regression\n%s", m.Name, m.Verdict, c.Text())
				}
			}
		})
	}
}

func TestCompareReadsResultDirs(t *testing.T) {
	dir := t.TempDir()
	if _, err := Compare(dir, dir, CompareOptions{}); err == nil {
		t.Fatal("an empty directory compared without error")
	}
	c, err := Compare("testdata/run-fixture", "testdata/run-fixture", CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Regressed() {
		t.Errorf("a result regressed against itself:\n%s", c.Text())
	}
}

// TestCompareNeedsRepeatsAndSignificance: one round a side shows nothing
// (no ordering of two values is significant), however large the change; a
// consistent shift over five rounds is; a 1% shift, significant or not, is
// below the minimum effect.
func TestCompareNeedsRepeatsAndSignificance(t *testing.T) {
	one := CompareSets("a", "b", []*Result{resultWith([]float64{1000}, []float64{40})},
		[]*Result{resultWith([]float64{500}, []float64{400})}, CompareOptions{})
	for _, m := range one.Metrics {
		if m.Verdict != "too few repeats" {
			t.Errorf("1 vs 1 %s: %s", m.Name, m.Verdict)
		}
	}
	if one.Regressed() || !strings.Contains(one.Text(), "too few repeats") {
		t.Errorf("1 vs 1:\n%s", one.Text())
	}
	a := resultWith([]float64{1000, 1004, 998, 1002, 1001}, []float64{40, 41, 40, 39, 40})
	small := resultWith([]float64{990, 994, 988, 992, 991}, []float64{40, 41, 40, 39, 40})
	if c := CompareSets("a", "b", []*Result{a}, []*Result{small}, CompareOptions{}); c.Regressed() {
		t.Errorf("a 1%% shift flagged:\n%s", c.Text())
	}
}

// TestCompareRefusesDifferentRuns: other scenario, validators, machine or
// offered load is refused unless forced, and a forced comparison says what
// differs.
func TestCompareRefusesDifferentRuns(t *testing.T) {
	mk := func(name string, validators int, cpu string, offered float64) []*Result {
		r := resultWith([]float64{1000, 1001, 999, 1000}, []float64{40, 40, 40, 40})
		r.Scenario, r.Validators, r.Machine = &Scenario{Name: name}, validators, Machine{CPUModel: cpu, Cores: 2}
		for i := range r.Rounds {
			r.Rounds[i].OfferedPerS = offered
		}
		return []*Result{r}
	}
	base := mk("single", 1, "AMD EPYC", 20000)
	for _, tc := range []struct {
		name string
		b    []*Result
		want string
	}{
		{"scenario", mk("four", 1, "AMD EPYC", 20000), "scenario"},
		{"validators", mk("single", 4, "AMD EPYC", 20000), "validators"},
		{"machine", mk("single", 1, "Intel Xeon", 20000), "machine"},
		{"offered load", mk("single", 1, "AMD EPYC", 30000), "offered load"},
	} {
		diffs := differences(base, tc.b)
		if len(diffs) != 1 || !strings.Contains(diffs[0], tc.want) {
			t.Errorf("%s: differences %q", tc.name, diffs)
		}
	}
	if d := differences(base, mk("single", 1, "AMD EPYC", 20400)); len(d) != 0 {
		t.Errorf("a 2%% difference in achieved offered rate refused: %q", d)
	}
}
