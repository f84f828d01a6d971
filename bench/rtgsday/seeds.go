package rtgsday

import (
	"fmt"
	"sort"
)

// One day is one draw: a single large payment caught in a two-bank
// gridlock can move plain RTGS's minimum from the lower bound to near the
// upper bound. The seed table repeats the day's headline figures over
// further seeds, same parameters otherwise, so the report shows the spread.

// seedLevels are the levels swept per seed: the bracket for the bisection,
// and SeedRefLevel for the delays.
var seedLevels = []float64{0, 0.25, 0.5, 0.75, 1}

// SeedRefLevel is the level at which the seed table compares delays: low
// enough that queues form, high enough that plain RTGS settles most days.
const SeedRefLevel = 0.25

// SeedResult is one seed's headline figures.
type SeedResult struct {
	Seed            uint64       `json:"seed"`
	Payments        int          `json:"payments"`
	ValueMinor      uint64       `json:"value_minor"`
	UpperTotalMinor uint64       `json:"upper_total_minor"`
	LowerTotalMinor uint64       `json:"lower_total_minor"`
	Modes           []SeedFigure `json:"modes"`
	Savings         []Saving     `json:"savings"`
}

// SeedFigure is one mode's figures on one seed's day.
type SeedFigure struct {
	Mode             string  `json:"mode"`
	MinimumLevel     float64 `json:"minimum_level"` // −1: not found
	MinimumShareOfUB float64 `json:"minimum_share_of_upper"`
	SettledShareAtF0 float64 `json:"settled_value_share_at_f0"`
	DelayMeanAtRef   float64 `json:"delay_mean_blocks_at_ref"` // at SeedRefLevel
	DelayP99AtRef    float64 `json:"delay_p99_blocks_at_ref"`
	UnsettledAtRef   int     `json:"unsettled_at_ref"`
}

// SavingSpread summarises one LSM mode's saving over the seeds.
type SavingSpread struct {
	Mode   string  `json:"mode"`
	Seeds  int     `json:"seeds"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Zero counts the seeds where plain RTGS already settled at the lower
	// bound, so the LSM could save nothing.
	Zero int `json:"zero"`
	// The saving against immediate gross settlement (Saving.VsImmediate).
	MedianVsImmediate float64 `json:"median_vs_immediate"`
	MinVsImmediate    float64 `json:"min_vs_immediate"`
	MaxVsImmediate    float64 `json:"max_vs_immediate"`
}

// runSeeds computes the seed table for seeds first, first+1, … (n of them).
func runSeeds(o Options, modes []Mode, first uint64, n int, logf func(string, ...any)) ([]SeedResult, error) {
	var out []SeedResult
	for i := range n {
		p := o.Params
		p.Seed = first + uint64(i)
		day, err := Generate(p)
		if err != nil {
			return nil, err
		}
		sim, err := NewSimulator(day, o.EndBlocks, o.Run)
		if err != nil {
			return nil, err
		}
		sr := SeedResult{Seed: p.Seed, Payments: len(day.Payments), ValueMinor: Summarize(day).ValueMinor,
			UpperTotalMinor: sim.Bounds.UpperTotal(), LowerTotalMinor: sim.Bounds.LowerTotal()}
		var mins []Minimum
		for _, m := range modes {
			fig := SeedFigure{Mode: m.Name, MinimumLevel: -1}
			var sweep []RunSummary
			for _, f := range seedLevels {
				s, err := sim.Run(m, f)
				if err != nil {
					return nil, fmt.Errorf("seed %d: %w", p.Seed, err)
				}
				sweep = append(sweep, s)
				switch f {
				case 0:
					fig.SettledShareAtF0 = s.SettledShare
				case SeedRefLevel:
					fig.DelayMeanAtRef, fig.DelayP99AtRef, fig.UnsettledAtRef = s.DelayMeanBlocks, s.DelayP99Blocks, s.Unsettled
				}
			}
			min, err := sim.Minimum(m, sweep, o.SearchTolerance)
			if err != nil {
				return nil, fmt.Errorf("seed %d: %w", p.Seed, err)
			}
			if min.Found {
				fig.MinimumLevel, fig.MinimumShareOfUB = min.Level, min.ShareOfUB
			}
			mins = append(mins, min)
			sr.Modes = append(sr.Modes, fig)
		}
		sr.Savings = savings(mins, sr.UpperTotalMinor)
		logf("seed %d: lower/upper %.3f, minimum f %s, savings %s", p.Seed, float64(sr.LowerTotalMinor)/float64(max(1, sr.UpperTotalMinor)),
			seedMinima(sr), seedSavings(sr))
		out = append(out, sr)
	}
	return out, nil
}

func seedMinima(sr SeedResult) string {
	s := ""
	for i, f := range sr.Modes {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.4f", f.Mode, f.MinimumLevel)
	}
	return s
}

func seedSavings(sr SeedResult) string {
	s := ""
	for i, v := range sr.Savings {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.1f%%", v.Mode, 100*v.Saving)
	}
	return s
}

// spreads summarises each LSM mode's saving over the seeds.
func spreads(seeds []SeedResult) []SavingSpread {
	by, byImm := map[string][]float64{}, map[string][]float64{}
	var order []string
	for _, sr := range seeds {
		for _, s := range sr.Savings {
			if by[s.Mode] == nil {
				order = append(order, s.Mode)
			}
			by[s.Mode] = append(by[s.Mode], s.Saving)
			byImm[s.Mode] = append(byImm[s.Mode], s.VsImmediate)
		}
	}
	median := func(v []float64) float64 {
		if n := len(v); n%2 == 1 {
			return v[n/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	var out []SavingSpread
	for _, mode := range order {
		v, vi := by[mode], byImm[mode]
		sort.Float64s(v)
		sort.Float64s(vi)
		sp := SavingSpread{Mode: mode, Seeds: len(v), Min: v[0], Max: v[len(v)-1], Median: median(v),
			MinVsImmediate: vi[0], MaxVsImmediate: vi[len(vi)-1], MedianVsImmediate: median(vi)}
		for _, x := range v {
			if x == 0 {
				sp.Zero++
			}
		}
		out = append(out, sp)
	}
	return out
}
