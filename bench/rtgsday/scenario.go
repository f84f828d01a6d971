package rtgsday

import (
	"errors"
	"fmt"
	"time"
)

// Options of a scenario: the day, the liquidity levels swept, the modes.
type Options struct {
	Params Params
	// Levels are the liquidity levels f swept in every mode (DefaultLevels).
	Levels []float64
	// LSMEveryBlocks are the LSM modes' gridlock periods k; plain RTGS
	// (k = 0) always runs too. Default: DefaultLSMEveryBlocks.
	LSMEveryBlocks []uint64
	// EndBlocks are the blocks after the day with no new payments, in which
	// queued payments may still settle (DefaultEndBlocks).
	EndBlocks int
	// SearchTolerance is the width in f at which the bisection for the
	// minimum liquidity stops (DefaultSearchTolerance).
	SearchTolerance float64
	// Seeds is the number of days (seeds Params.Seed, Params.Seed+1, …) of
	// the seed table (seeds.go); 0: none.
	Seeds int
	Run   RunOptions
	// Logf, if set, gets a line per run.
	Logf func(format string, a ...any)
}

// Scenario defaults.
const (
	DefaultEndBlocks       = 20
	DefaultSearchTolerance = 1.0 / 512
)

// DefaultLevels are f = 0, 0.05, …, 1.
func DefaultLevels() []float64 {
	v := make([]float64, 21)
	for i := range v {
		v[i] = float64(i) / 20
	}
	return v
}

// DefaultLSMEveryBlocks runs gridlock resolution after every block: the
// LSM at its strongest, and at its most expensive in Execute.
func DefaultLSMEveryBlocks() []uint64 { return []uint64{1} }

func (o Options) withDefaults() Options {
	o.Params = o.Params.WithDefaults()
	if len(o.Levels) == 0 {
		o.Levels = DefaultLevels()
	}
	if o.LSMEveryBlocks == nil {
		o.LSMEveryBlocks = DefaultLSMEveryBlocks()
	}
	if o.EndBlocks == 0 {
		o.EndBlocks = DefaultEndBlocks
	}
	if o.SearchTolerance == 0 {
		o.SearchTolerance = DefaultSearchTolerance
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	for _, f := range o.Levels {
		if !(f >= 0 && f <= 1) {
			errs = append(errs, fmt.Errorf("liquidity level %g outside [0, 1]", f))
		}
	}
	for _, k := range o.LSMEveryBlocks {
		if k == 0 {
			errs = append(errs, errors.New("an LSM period of 0 blocks is plain RTGS, which always runs: give k ≥ 1"))
		}
	}
	if o.EndBlocks < 0 {
		errs = append(errs, fmt.Errorf("end-of-day blocks %d must not be negative", o.EndBlocks))
	}
	if o.Seeds < 0 {
		errs = append(errs, fmt.Errorf("seeds %d must not be negative", o.Seeds))
	}
	if !(o.SearchTolerance > 0 && o.SearchTolerance < 1) {
		errs = append(errs, fmt.Errorf("search tolerance %g must be in (0, 1)", o.SearchTolerance))
	}
	return errors.Join(errs...)
}

// Run runs a scenario: generates the day, sweeps every mode over the
// levels, then bisects each mode for its minimum liquidity.
func Run(o Options) (*Result, error) {
	start := time.Now()
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("rtgs day options: %w", err)
	}
	day, err := Generate(o.Params)
	if err != nil {
		return nil, err
	}
	sim, err := NewSimulator(day, o.EndBlocks, o.Run)
	if err != nil {
		return nil, err
	}
	res := &Result{Params: day.Params, Levels: o.Levels, EndBlocks: o.EndBlocks, SearchTolerance: o.SearchTolerance,
		StateRoot: o.Run.StateRoot, GridlockRoundsMax: o.Run.GridlockRoundsMax, ReleaseAttemptsMax: o.Run.ReleaseAttemptsMax, Day: Summarize(day), UpperTotalMinor: sim.Bounds.UpperTotal(),
		LowerTotalMinor: sim.Bounds.LowerTotal(), Banks: BankFiguresOf(day, sim.Bounds)}
	res.Modes = append(res.Modes, ModePlain())
	for _, k := range o.LSMEveryBlocks {
		res.Modes = append(res.Modes, ModeLSM(k))
	}
	res.Modes = append(res.Modes, ModeImmediate())
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	logf("day: %d payments, %d banks, %d blocks; upper bound %d, lower bound %d", len(day.Payments), day.Banks(),
		day.Blocks(), res.UpperTotalMinor, res.LowerTotalMinor)
	for _, m := range res.Modes {
		var sweep []RunSummary
		for _, f := range o.Levels {
			s, err := sim.Run(m, f)
			if err != nil {
				return nil, err
			}
			logf("%s f=%.3f: settled %.4f of value, %d unsettled, mean delay %.2f blocks, p99 %.0f, Execute median %.0f µs",
				m.Name, f, s.SettledShare, s.Unsettled, s.DelayMeanBlocks, s.DelayP99Blocks, s.ExecuteMedianUs)
			sweep = append(sweep, s)
		}
		res.Runs = append(res.Runs, sweep...)
		min, err := sim.Minimum(m, sweep, o.SearchTolerance)
		if err != nil {
			return nil, err
		}
		logf("%s: minimum f %.4f (%d runs), liquidity %d = %.3f of the upper bound", m.Name, min.Level, min.SearchRuns,
			min.LiquidityMinor, min.ShareOfUB)
		res.Minimum = append(res.Minimum, min)
	}
	res.Savings = savings(res.Minimum, res.UpperTotalMinor)
	res.Anomalies = anomalies(res)
	if o.Seeds > 0 {
		if res.Seeds, err = runSeeds(o, res.Modes, day.Params.Seed, o.Seeds, logf); err != nil {
			return nil, err
		}
		res.SavingSpreads = spreads(res.Seeds)
	}
	res.ElapsedS = time.Since(start).Seconds()
	return res, nil
}
