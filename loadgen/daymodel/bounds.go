package daymodel

import (
	"fmt"
	"math"
)

// Bounds are each bank's liquidity bounds for a day, in minor units of the
// settlement asset, computed from the payments alone.
type Bounds struct {
	// Upper[i] is what bank i needs to settle every payment the moment it
	// is submitted, in submission order: the largest cumulative net outflow
	// (sent − received) over every prefix of the day, at least 0. With it no
	// payment of i ever waits, whatever the queueing rules.
	Upper []uint64 `json:"upper_minor"`
	// Lower[i] is what bank i needs at the end of the day after multilateral
	// netting of everything: its net debit max(0, sent − received). No
	// mechanism settles the whole day with less.
	Lower []uint64 `json:"lower_minor"`
}

// ComputeBounds returns the day's bounds. Prefixes are taken payment by
// payment, not block by block, because the ledger executes a block's
// payments one after the other: a bank whose outflows come before its
// inflows in a block needs the liquidity in between.
func ComputeBounds(d *Day) Bounds {
	n := d.Banks()
	net := make([]int64, n) // received − sent so far
	b := Bounds{Upper: make([]uint64, n), Lower: make([]uint64, n)}
	for _, p := range d.Payments {
		net[p.From] -= int64(p.Amount)
		net[p.To] += int64(p.Amount)
		if net[p.From] < 0 && uint64(-net[p.From]) > b.Upper[p.From] {
			b.Upper[p.From] = uint64(-net[p.From])
		}
	}
	for i, v := range net {
		if v < 0 {
			b.Lower[i] = uint64(-v)
		}
	}
	return b
}

// UpperTotal and LowerTotal are the bounds summed over banks.
func (b Bounds) UpperTotal() uint64 { return sum(b.Upper) }
func (b Bounds) LowerTotal() uint64 { return sum(b.Lower) }

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s
}

// Liquidity returns each bank's opening balance at level f ∈ [0, 1]:
// Lower + f × (Upper − Lower), rounded up. This is the interpolation of the
// simulation literature (Leinonen & Soramäki's BoF-PSS2 studies, Bech &
// Soramäki 2001): f = 0 is the least any mechanism can settle the day with,
// so the whole range of interesting liquidity is [0, 1] for plain RTGS and
// for the LSM alike, and a bank with no net debit at the end of the day (its
// Lower is 0) still gets its share of intraday liquidity. f × Upper alone
// would put the LSM's minimum at an f that mixes the two bounds' sizes.
// Rounding up keeps f = 1 exactly at Upper.
func (b Bounds) Liquidity(f float64) ([]uint64, error) {
	if !(f >= 0 && f <= 1) {
		return nil, fmt.Errorf("liquidity level %g outside [0, 1]", f)
	}
	out := make([]uint64, len(b.Upper))
	for i := range out {
		lo, hi := b.Lower[i], b.Upper[i]
		if hi < lo { // cannot happen: the last prefix's outflow is Lower
			return nil, fmt.Errorf("bank %d: upper bound %d below lower bound %d", i, hi, lo)
		}
		out[i] = lo + uint64(math.Ceil(f*float64(hi-lo)))
		if out[i] > hi {
			out[i] = hi
		}
	}
	return out, nil
}
