package bench

import "testing"

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
			c := CompareSets("a", "b", []*Result{base}, []*Result{tc.b}, CompareOptions{K: NoiseKDefault, NoiseFloor: NoiseFloorDefault})
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
