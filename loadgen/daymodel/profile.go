package daymodel

import (
	"math"
	"math/rand/v2"
)

// The two-peak profile's shape over the day's fraction t ∈ [0, 1): a flat
// base of 1 plus Gaussian bumps. Large-value systems see a morning peak when
// banks send the previous day's customer payments and CLS pay-ins, and a
// larger afternoon peak ahead of the cut-off (BoE CHAPS and ECB TARGET2
// intraday profiles). The bumps' areas (height × width × √(2π)) put 19% of
// the day's payments in the morning bump and 27% in the afternoon one, above
// the base; the busiest block sees about 1.9 times the day's mean rate.
var twoPeak = []struct{ centre, width, height float64 }{
	{centre: 0.22, width: 0.07, height: 2.0},
	{centre: 0.72, width: 0.08, height: 2.5},
}

// intensity returns the expected arrivals in each block: the profile's
// shape, scaled so that they add up to p.PaymentsPerDay.
func intensity(p Params) []float64 {
	lam := make([]float64, p.Blocks)
	var sum float64
	for b := range lam {
		t := (float64(b) + 0.5) / float64(p.Blocks)
		s := 1.0
		if p.Profile == ProfileTwoPeak {
			for _, pk := range twoPeak {
				z := (t - pk.centre) / pk.width
				s += pk.height * math.Exp(-z*z/2)
			}
		}
		lam[b], sum = s, sum+s
	}
	for b := range lam {
		lam[b] *= float64(p.PaymentsPerDay) / sum
	}
	return lam
}

// poissonChunk bounds the mean of one product-method draw: e^-30 is far
// from float64's underflow, so the method stays exact.
const poissonChunk = 30.0

// poisson draws a Poisson(lambda) count by Knuth's product method, splitting
// a large mean into chunks (a sum of independent Poissons is Poisson).
func poisson(rng *rand.Rand, lambda float64) int {
	n := 0
	for lambda > 0 {
		l := math.Min(lambda, poissonChunk)
		lambda -= l
		limit, prod := math.Exp(-l), rng.Float64()
		for prod > limit {
			n++
			prod *= rng.Float64()
		}
	}
	return n
}
