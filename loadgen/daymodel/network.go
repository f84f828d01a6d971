package daymodel

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Link is a directed payment relationship: From pays To, chosen for a payment
// with probability Weight / (sum of all weights).
type Link struct {
	From   int     `json:"from"`
	To     int     `json:"to"`
	Weight float64 `json:"weight"`
}

// Network is the payment network of a day.
type Network struct {
	Degree []int  `json:"degree"` // undirected degree of each bank
	Links  []Link `json:"links"`  // both directions of every edge, sorted by (From, To)
}

// barabasiAlbert grows an undirected scale-free graph: a clique of m+1
// banks, then each further bank links to m distinct existing banks chosen
// with probability proportional to their degree (preferential attachment),
// so that a few early banks become hubs and the degree distribution has the
// power-law tail P(k) ~ k^-3 that Soramäki et al. found in Fedwire.
func barabasiAlbert(rng *rand.Rand, n, m int) (edges [][2]int, degree []int) {
	degree = make([]int, n)
	// ends holds each edge's two endpoints: a uniform draw from it is a
	// draw proportional to degree.
	var ends []int
	add := func(a, b int) {
		edges = append(edges, [2]int{a, b})
		ends = append(ends, a, b)
		degree[a]++
		degree[b]++
	}
	for a := 0; a <= m; a++ {
		for b := a + 1; b <= m; b++ {
			add(a, b)
		}
	}
	for v := m + 1; v < n; v++ {
		chosen := make([]int, 0, m)
		for len(chosen) < m {
			u := ends[rng.IntN(len(ends))]
			dup := false
			for _, c := range chosen {
				dup = dup || c == u
			}
			if !dup {
				chosen = append(chosen, u)
			}
		}
		sort.Ints(chosen) // the order of additions is part of the determinism
		for _, u := range chosen {
			add(v, u)
		}
	}
	return edges, degree
}

// newNetwork builds the day's network: every undirected edge becomes two
// directed links (interbank relationships are two-way: Soramäki et al.
// report high reciprocity by value), weighted degree_from × degree_to so that
// links between large banks carry most payments, times lognormal noise of σ
// sigma per direction so that pairs' flows are not balanced exactly.
func newNetwork(rng *rand.Rand, p Params) Network {
	edges, degree := barabasiAlbert(rng, p.Banks, p.LinksPerBank)
	links := make([]Link, 0, 2*len(edges))
	for _, e := range edges {
		for _, d := range [2][2]int{{e[0], e[1]}, {e[1], e[0]}} {
			w := float64(degree[d[0]] * degree[d[1]])
			if p.LinkWeightSigma > 0 {
				w *= math.Exp(p.LinkWeightSigma * rng.NormFloat64())
			}
			links = append(links, Link{From: d[0], To: d[1], Weight: w})
		}
	}
	sort.Slice(links, func(i, j int) bool {
		a, b := links[i], links[j]
		return a.From < b.From || a.From == b.From && a.To < b.To
	})
	return Network{Degree: degree, Links: links}
}

// linkSampler draws links in proportion to their weight by binary search on
// the cumulative weights: O(log links) per draw.
type linkSampler struct {
	cum   []float64
	total float64
}

func newLinkSampler(links []Link) linkSampler {
	s := linkSampler{cum: make([]float64, len(links))}
	for i, l := range links {
		s.total += l.Weight
		s.cum[i] = s.total
	}
	return s
}

func (s linkSampler) draw(rng *rand.Rand) int {
	x := rng.Float64() * s.total
	i := sort.SearchFloat64s(s.cum, x)
	if i == len(s.cum) { // x == total after rounding
		i--
	}
	return i
}
