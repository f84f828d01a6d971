package rtgsday

import (
	"fmt"
	"runtime"
)

// Simulator replays one day at any liquidity in any mode. The transactions
// are built once (NewSimulator); each run starts a fresh ledger.
type Simulator struct {
	Day    *Day
	Bounds Bounds
	opts   RunOptions
	c      *chain
}

// NewSimulator prepares day for replays with endBlocks empty blocks after it.
func NewSimulator(day *Day, endBlocks int, o RunOptions) (*Simulator, error) {
	if err := day.Validate(); err != nil {
		return nil, fmt.Errorf("rtgs day: %w", err)
	}
	c, err := newChain(day, endBlocks)
	if err != nil {
		return nil, fmt.Errorf("rtgs day: %w", err)
	}
	return &Simulator{Day: day, Bounds: ComputeBounds(day), opts: o, c: c}, nil
}

// Run replays the day in mode with every bank at liquidity level f.
func (s *Simulator) Run(mode Mode, f float64) (RunSummary, error) {
	liq, err := s.Bounds.Liquidity(f)
	if err != nil {
		return RunSummary{}, err
	}
	sum, err := s.RunLiquidity(mode, liq)
	sum.Level = f
	return sum, err
}

// RunLiquidity replays the day in mode with the given opening balances
// (minor units, one per bank); the summary's Level is 0.
func (s *Simulator) RunLiquidity(mode Mode, liq []uint64) (RunSummary, error) {
	if len(liq) != s.Day.Banks() {
		return RunSummary{}, fmt.Errorf("%d opening balances for %d banks", len(liq), s.Day.Banks())
	}
	// The previous run's garbage would otherwise be collected during this
	// one's Execute calls and count as this mode's cost.
	runtime.GC()
	r, err := s.c.run(mode, liq, s.opts)
	if err != nil {
		return RunSummary{}, fmt.Errorf("rtgs day run: %w", err)
	}
	return s.c.summarize(mode, 0, s.Bounds, r), nil
}
