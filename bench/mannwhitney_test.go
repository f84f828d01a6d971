package bench

import (
	"math"
	"testing"
)

// TestMannWhitneyP against p-values computed independently, by enumerating
// every ordering of the two samples (the exact two-sided test).
func TestMannWhitneyP(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		want float64
	}{
		{"fully separated 4 vs 4", []float64{1, 2, 3, 4}, []float64{5, 6, 7, 8}, 2.0 / 70},
		{"fully separated 3 vs 3", []float64{1, 2, 3}, []float64{4, 5, 6}, 0.1},
		{"interleaved 4 vs 4", []float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}, 0.6857142857},
		{"one each", []float64{1}, []float64{2}, 1},
		{"identical samples (ties)", []float64{5, 5, 5}, []float64{5, 5, 5}, 1},
	} {
		if got := mannWhitneyP(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: p = %.7f, want %.7f", tc.name, got, tc.want)
		}
	}
	if got := minAttainableP(4, 4); math.Abs(got-2.0/70) > 1e-12 {
		t.Errorf("min p for 4 vs 4 = %g", got)
	}
	if minAttainableP(3, 3) < 0.05 || minAttainableP(4, 4) >= 0.05 {
		t.Error("3 repeats a side cannot reach p < 0.05; 4 can")
	}
}
