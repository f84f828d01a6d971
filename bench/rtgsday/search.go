package rtgsday

// Minimum is the least liquidity level at which a mode settles the whole
// day by the end of the run.
type Minimum struct {
	Mode  string  `json:"mode"`
	Found bool    `json:"found"` // false: even f = 1 left something unsettled (a ledger bug: Upper settles all)
	Level float64 `json:"level"` // the smallest f found to settle everything
	// Below is the largest f found not to settle everything (−1: none, Level is 0).
	Below          float64 `json:"below"`
	LiquidityMinor uint64  `json:"liquidity_total_minor"`
	ShareOfUB      float64 `json:"liquidity_share_of_upper"`
	SearchRuns     int     `json:"search_runs"` // runs beyond the sweep
	// NonMonotone lists swept levels above Level that did not settle
	// everything: the bisection assumes more liquidity never settles less,
	// which FIFO queues and offsetting need not honour.
	NonMonotone []float64  `json:"non_monotone,omitempty"`
	At          RunSummary `json:"at"` // the run at Level
}

// Minimum bisects for mode's least settling level. The sweep (runs of this
// mode at some levels) gives the starting bracket: the smallest swept level
// that settled everything and the largest below it that did not; the
// bisection halves it until it is narrower than tol.
func (s *Simulator) Minimum(mode Mode, sweep []RunSummary, tol float64) (Minimum, error) {
	m := Minimum{Mode: mode.Name, Below: -1}
	hi, lo := -1.0, -1.0
	var atHi RunSummary
	for _, r := range sweep {
		if r.SettledAll && (hi < 0 || r.Level < hi) {
			hi, atHi = r.Level, r
		}
	}
	if hi < 0 { // nothing swept settled: try the upper bound itself
		r, err := s.Run(mode, 1)
		if err != nil {
			return m, err
		}
		m.SearchRuns++
		if !r.SettledAll {
			m.At = r
			return m, nil
		}
		hi, atHi = 1, r
	}
	for _, r := range sweep {
		switch {
		case r.SettledAll:
		case r.Level < hi && r.Level > lo:
			lo = r.Level
		case r.Level > hi:
			m.NonMonotone = append(m.NonMonotone, r.Level)
		}
	}
	if lo < 0 && hi > 0 { // no failing level swept below hi: does f = 0 settle?
		r, err := s.Run(mode, 0)
		if err != nil {
			return m, err
		}
		m.SearchRuns++
		if r.SettledAll {
			hi, atHi = 0, r
		} else {
			lo = 0
		}
	}
	for lo >= 0 && hi-lo > tol {
		mid := (lo + hi) / 2
		r, err := s.Run(mode, mid)
		if err != nil {
			return m, err
		}
		m.SearchRuns++
		if r.SettledAll {
			hi, atHi = mid, r
		} else {
			lo = mid
		}
	}
	m.Found, m.Level, m.Below, m.At = true, hi, lo, atHi
	m.LiquidityMinor, m.ShareOfUB = atHi.LiquidityMinor, atHi.LiquidityShareOfUB
	return m, nil
}
