package bench

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFitUSLRecoversParameters(t *testing.T) {
	cases := []struct {
		name                 string
		lambda, sigma, kappa float64
		ns                   []float64
		noise                float64
	}{
		{"contention and coherency", 1000, 0.05, 0.002, []float64{1, 2, 4, 8, 16, 32}, 0},
		{"linear-ish", 500, 0.01, 0.0001, []float64{1, 2, 3, 4, 6, 8, 12}, 0},
		{"retrograde", 20000, 0.2, 0.05, []float64{1, 2, 3, 4, 5, 6, 8}, 0},
		{"with 1% noise", 1000, 0.05, 0.002, []float64{1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 32}, 0.01},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := USL{Lambda: tc.lambda, Sigma: tc.sigma, Kappa: tc.kappa}
			rng := rand.New(rand.NewPCG(1, 2))
			var pts []Point
			for _, n := range tc.ns {
				pts = append(pts, Point{N: n, X: want.X(n) * (1 + tc.noise*rng.NormFloat64())})
			}
			got, err := FitUSL(pts)
			if err != nil {
				t.Fatal(err)
			}
			tol := 0.02 + 10*tc.noise
			if rel(got.Lambda, tc.lambda) > tol {
				t.Errorf("λ = %g, want %g", got.Lambda, tc.lambda)
			}
			if math.Abs(got.Sigma-tc.sigma) > tol*math.Max(tc.sigma, 0.01) {
				t.Errorf("σ = %g, want %g", got.Sigma, tc.sigma)
			}
			if math.Abs(got.Kappa-tc.kappa) > 2*tol*tc.kappa+1e-6 {
				t.Errorf("κ = %g, want %g", got.Kappa, tc.kappa)
			}
			if tc.noise == 0 && got.R2 < 0.9999 {
				t.Errorf("R² %g on exact data", got.R2)
			}
		})
	}
}

func rel(a, b float64) float64 { return math.Abs(a-b) / math.Abs(b) }

func TestFitUSLRefusesTooFewPoints(t *testing.T) {
	cases := []struct {
		name string
		ns   []float64
	}{
		{"five points", []float64{1, 2, 3, 4, 5}},
		{"two distinct scales", []float64{1, 1, 1, 2, 2, 2}},
	}
	for _, tc := range cases {
		var pts []Point
		for _, n := range tc.ns {
			pts = append(pts, Point{N: n, X: 100 * n})
		}
		if _, err := FitUSL(pts); !errors.Is(err, ErrTooFewPoints) {
			t.Errorf("%s: error %v, want ErrTooFewPoints", tc.name, err)
		}
	}
	if _, err := FitUSL([]Point{{N: 0, X: 1}, {N: 1, X: 1}, {N: 2, X: 1}, {N: 3, X: 1}, {N: 4, X: 1}, {N: 5, X: 1}}); err == nil {
		t.Error("N = 0 accepted")
	}
}

func TestRecommendStaysBelowPeak(t *testing.T) {
	u := USL{Lambda: 1000, Sigma: 0.1, Kappa: 0.01}
	p := recommend(u, nil, 32)
	if p.OperatingN != math.Round(u.PeakN()) {
		t.Errorf("operating N %g, want the peak %g", p.OperatingN, math.Round(u.PeakN()))
	}
	if want := 0.8 * u.X(p.OperatingN); math.Abs(p.OperatingHighX-want) > 1e-9 {
		t.Errorf("operating high %g, want %g", p.OperatingHighX, want)
	}
}

// TestRecommendNoPeakBelowOneUnit: a fit whose σ is pinned at 1 "peaks" at
// N = 0 by the formula; the plan must say that throughput only falls from
// N = 1 instead of printing a peak at N ≈ 0.0.
func TestRecommendNoPeakBelowOneUnit(t *testing.T) {
	u := USL{Lambda: 53830, Sigma: 1, Kappa: 0.05}
	p := recommend(u, nil, 8)
	if p.PeakN != 1 || p.OperatingN != 1 || p.PeakX != u.X(1) {
		t.Fatalf("peak N %g (X %g), operating N %g; want 1, X(1) = %g, 1", p.PeakN, p.PeakX, p.OperatingN, u.X(1))
	}
	if txt := p.Text(); strings.Contains(txt, "N ≈ 0") || !strings.Contains(txt, "no peak above N = 1") {
		t.Errorf("plan text:\n%s", txt)
	}
}

// TestTimelineSkipsPartialIntervals: a round's last interval, a sliver of the
// usual length, is not drawn (its rate would be a spike).
func TestTimelineSkipsPartialIntervals(t *testing.T) {
	iv := []IntervalPoint{{LengthS: 1, PerS: 100}, {LengthS: 1, PerS: 110}, {LengthS: 0.05, PerS: 2000}}
	if got := fullIntervals(iv); len(got) != 2 || got[1].PerS != 110 {
		t.Errorf("drawn %+v, want the two full intervals", got)
	}
}
