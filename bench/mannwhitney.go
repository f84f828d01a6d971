package bench

import (
	"math"
	"sort"
)

// mannWhitneyP is the two-sided p-value of the Mann–Whitney U test (the
// Wilcoxon rank-sum test, as benchstat uses) that samples a and b come from
// one distribution. Without ties and for up to 20 values in all it is exact
// (the U distribution by counting); otherwise the normal approximation with
// the tie and continuity corrections. It needs no assumption of normality,
// which latencies and throughputs under noise do not satisfy.
func mannWhitneyP(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	type obs struct {
		v    float64
		inA  bool
		rank float64
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v: v, inA: true})
	}
	for _, v := range b {
		all = append(all, obs{v: v})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	ties := false
	tieTerm := 0.0 // Σ (t³ − t) over groups of tied values
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			all[k].rank = mid
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	r1 := 0.0
	for _, o := range all {
		if o.inA {
			r1 += o.rank
		}
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u := math.Min(u1, float64(n1*n2)-u1)
	if !ties && n1+n2 <= 20 {
		return math.Min(1, 2*exactUCDF(n1, n2, int(math.Round(u))))
	}
	n := float64(n1 + n2)
	mean := float64(n1*n2) / 2
	sd := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sd == 0 {
		return 1
	}
	z := (math.Abs(u1-mean) - 0.5) / sd
	return math.Min(1, math.Erfc(math.Max(z, 0)/math.Sqrt2))
}

// exactUCDF is P(U ≤ u) for samples of n1 and n2 without ties: the share of
// the C(n1+n2, n1) orderings with at most u (a, b) pairs where b comes first.
func exactUCDF(n1, n2, u int) float64 {
	// ways[i][j][k]: orderings of i a's and j b's with U = k.
	ways := make([][][]float64, n1+1)
	for i := range ways {
		ways[i] = make([][]float64, n2+1)
		for j := range ways[i] {
			ways[i][j] = make([]float64, i*j+1)
		}
	}
	for i := 0; i <= n1; i++ {
		for j := 0; j <= n2; j++ {
			if i == 0 || j == 0 {
				ways[i][j][0] = 1
				continue
			}
			for k := 0; k <= i*j; k++ {
				// The largest value is an a (it beats j b's) or a b.
				w := 0.0
				if k-j >= 0 && k-j <= (i-1)*j {
					w += ways[i-1][j][k-j]
				}
				if k <= i*(j-1) {
					w += ways[i][j-1][k]
				}
				ways[i][j][k] = w
			}
		}
	}
	total, le := 0.0, 0.0
	for k, w := range ways[n1][n2] {
		total += w
		if k <= u {
			le += w
		}
	}
	return le / total
}

// minAttainableP is the least p-value samples of n1 and n2 can give: 2 over
// the number of orderings. Below the significance level nothing can be shown.
func minAttainableP(n1, n2 int) float64 {
	c := 1.0
	for k := 1; k <= n1; k++ {
		c = c * float64(n2+k) / float64(k)
	}
	return math.Min(1, 2/c)
}
