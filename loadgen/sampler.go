package loadgen

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler draws account indexes in [0, n).
type Sampler interface {
	Sample(r *rand.Rand) int
}

// uniformSampler draws every index with the same probability.
type uniformSampler struct{ n int }

func (u uniformSampler) Sample(r *rand.Rand) int { return r.IntN(u.n) }

// cdfSampler draws index i with probability proportional to a weight, by inverse
// transform over the cumulative distribution. Unlike math/rand/v2's Zipf (which
// needs s > 1) it takes any non-negative weights, so Zipf exponents below one (the
// usual 0.99 of key-value benchmarks) work too.
type cdfSampler struct {
	cdf []float64 // INVARIANT: non-decreasing, last element 1
}

func newCDFSampler(weights []float64) cdfSampler {
	cdf := make([]float64, len(weights))
	sum := 0.0
	for i, w := range weights {
		sum += w
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	cdf[len(cdf)-1] = 1
	return cdfSampler{cdf: cdf}
}

func (c cdfSampler) Sample(r *rand.Rand) int {
	u := r.Float64()
	i := sort.Search(len(c.cdf), func(i int) bool { return c.cdf[i] > u })
	return min(i, len(c.cdf)-1)
}

// zipfWeights returns 1/(i+1)^s: index 0 is the hottest account.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Pow(float64(i+1), -s)
	}
	return w
}

// interbankWeights gives the first large accounts share of the weight in equal parts
// and the others the rest in equal parts: a few big banks and many small
// participants.
func interbankWeights(n, large int, share float64) []float64 {
	w := make([]float64, n)
	large = min(large, n)
	for i := range w {
		switch {
		case i < large:
			w[i] = share / float64(large)
		default:
			w[i] = (1 - share) / float64(n-large)
		}
	}
	return w
}
