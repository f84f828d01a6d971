package bench

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Point is one measured throughput at a scale N (cores or validators).
type Point struct {
	N     float64 `json:"n"`
	X     float64 `json:"x_per_s"`
	Label string  `json:"label,omitempty"`
}

// USL is a fitted Universal Scalability Law
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// λ is the throughput of one unit without overheads, σ the contention
// (serialised share of the work), κ the coherency cost (pairwise crosstalk).
type USL struct {
	Lambda float64 `json:"lambda"`
	Sigma  float64 `json:"sigma"`
	Kappa  float64 `json:"kappa"`
	R2     float64 `json:"r2"`      // on X, over the points fitted
	RMSRel float64 `json:"rms_rel"` // root mean square relative residual
	Points int     `json:"points"`
}

// Fit requirements: three parameters need at least three distinct scales, and
// Confidence wants repeats, hence six points.
const (
	uslPointsMin   = 6
	uslDistinctMin = 3
)

// ErrTooFewPoints is returned when a fit is asked of too little data.
var ErrTooFewPoints = errors.New("too few points for a USL fit")

// X evaluates the law at N.
func (u USL) X(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// PeakN is where throughput peaks: sqrt((1−σ)/κ); +Inf when κ = 0.
func (u USL) PeakN() float64 {
	if u.Kappa <= 0 {
		return math.Inf(1)
	}
	return math.Sqrt(math.Max(0, 1-u.Sigma) / u.Kappa)
}

// FitUSL fits λ, σ and κ to the points by least squares on relative residuals
// (every point weighs the same whatever its magnitude). For fixed σ and κ the
// best λ has a closed form, so Nelder–Mead searches only (σ, κ), from several
// starts.
func FitUSL(pts []Point) (USL, error) {
	distinct := map[float64]bool{}
	for _, p := range pts {
		if p.N < 1 || p.X <= 0 || math.IsNaN(p.X) || math.IsInf(p.X, 0) {
			return USL{}, fmt.Errorf("point %q has N %g and throughput %g: N must be ≥ 1 and throughput positive", p.Label, p.N, p.X)
		}
		distinct[p.N] = true
	}
	if len(pts) < uslPointsMin || len(distinct) < uslDistinctMin {
		return USL{}, fmt.Errorf("%w: got %d points at %d distinct scales; the law has three parameters, so it needs at least %d points at %d or more distinct scales (add repeats, core counts via GOMAXPROCS, validator counts, or measured points from a larger machine with -points)",
			ErrTooFewPoints, len(pts), len(distinct), uslPointsMin, uslDistinctMin)
	}
	cost := func(v []float64) float64 {
		sigma, kappa := v[0], v[1]
		if sigma < 0 || sigma > 1 || kappa < 0 {
			return math.Inf(1)
		}
		_, c := bestLambda(pts, sigma, kappa)
		return c
	}
	best, bestCost := []float64{0, 0}, math.Inf(1)
	for _, s0 := range []float64{0.01, 0.1, 0.3, 0.6} {
		for _, k0 := range []float64{1e-5, 1e-3, 1e-2, 0.1} {
			v, c := nelderMead(cost, []float64{s0, k0}, []float64{0.05, k0}, 400)
			if c < bestCost {
				best, bestCost = v, c
			}
		}
	}
	u := USL{Sigma: best[0], Kappa: best[1], Points: len(pts)}
	u.Lambda, _ = bestLambda(pts, u.Sigma, u.Kappa)
	u.R2, u.RMSRel = fitQuality(u, pts)
	return u, nil
}

// bestLambda returns λ minimising Σ(λ g_i / X_i − 1)² and that sum.
func bestLambda(pts []Point, sigma, kappa float64) (lambda, cost float64) {
	var num, den float64
	r := make([]float64, len(pts))
	for i, p := range pts {
		g := p.N / (1 + sigma*(p.N-1) + kappa*p.N*(p.N-1))
		r[i] = g / p.X
		num += r[i]
		den += r[i] * r[i]
	}
	lambda = num / den
	for _, ri := range r {
		d := lambda*ri - 1
		cost += d * d
	}
	return lambda, cost
}

func fitQuality(u USL, pts []Point) (r2, rmsRel float64) {
	var mean float64
	for _, p := range pts {
		mean += p.X
	}
	mean /= float64(len(pts))
	var ssRes, ssTot, rel float64
	for _, p := range pts {
		d := u.X(p.N) - p.X
		ssRes += d * d
		ssTot += (p.X - mean) * (p.X - mean)
		rel += (d / p.X) * (d / p.X)
	}
	r2 = 1.0
	if ssTot > 0 {
		r2 = 1 - ssRes/ssTot
	}
	return r2, math.Sqrt(rel / float64(len(pts)))
}

// nelderMead minimises f from x0 with initial simplex steps, for at most iters
// iterations, with the standard coefficients (reflection 1, expansion 2,
// contraction ½, shrink ½).
func nelderMead(f func([]float64) float64, x0, step []float64, iters int) ([]float64, float64) {
	n := len(x0)
	type vertex struct {
		x []float64
		f float64
	}
	simplex := make([]vertex, n+1)
	for i := range simplex {
		x := append([]float64(nil), x0...)
		if i > 0 {
			x[i-1] += step[i-1]
		}
		simplex[i] = vertex{x, f(x)}
	}
	at := func(c []float64, d []float64, t float64) []float64 {
		out := make([]float64, n)
		for j := range out {
			out[j] = c[j] + t*(d[j]-c[j])
		}
		return out
	}
	for it := 0; it < iters; it++ {
		sort.Slice(simplex, func(a, b int) bool { return simplex[a].f < simplex[b].f })
		if math.Abs(simplex[n].f-simplex[0].f) <= 1e-15*(math.Abs(simplex[0].f)+1e-300) && it > 20 {
			break
		}
		centroid := make([]float64, n)
		for _, v := range simplex[:n] {
			for j := range centroid {
				centroid[j] += v.x[j] / float64(n)
			}
		}
		worst := simplex[n]
		xr := at(centroid, worst.x, -1)
		fr := f(xr)
		switch {
		case fr < simplex[0].f:
			xe := at(centroid, worst.x, -2)
			if fe := f(xe); fe < fr {
				simplex[n] = vertex{xe, fe}
			} else {
				simplex[n] = vertex{xr, fr}
			}
		case fr < simplex[n-1].f:
			simplex[n] = vertex{xr, fr}
		default:
			xc := at(centroid, worst.x, 0.5)
			if fr < worst.f {
				xc = at(centroid, xr, 0.5)
			}
			if fc := f(xc); fc < math.Min(fr, worst.f) {
				simplex[n] = vertex{xc, fc}
				continue
			}
			for i := 1; i <= n; i++ {
				x := at(simplex[0].x, simplex[i].x, 0.5)
				simplex[i] = vertex{x, f(x)}
			}
		}
	}
	sort.Slice(simplex, func(a, b int) bool { return simplex[a].f < simplex[b].f })
	return simplex[0].x, simplex[0].f
}
