package bench

import (
	"context"
	"fmt"
	"math"
	"time"
)

// SweepResult is the outcome of stepping the offered load to saturation.
type SweepResult struct {
	Steps []float64 `json:"steps_per_s"` // offered rates tried, in order
	// MaxSustainable is the highest committed rate of a sustained round
	// (committed ≥ 99% of offered, p99 ≤ SLO, generator valid); 0 if none was.
	MaxSustainablePerS  float64 `json:"max_sustainable_per_s"`
	MaxSustainableRound int     `json:"max_sustainable_round"`
	// Knee is the round after which latency stops being flat: the last round
	// before p99 more than doubles or the commit ratio falls below 99%.
	KneePerS  float64 `json:"knee_per_s"`
	KneeRound int     `json:"knee_round"`
	Saturated bool    `json:"saturated"` // a round saturated (see saturatedRound)
}

// saturatedRound: the node no longer commits what is offered, the generator
// could not keep up, or latency is far beyond the SLO.
func saturatedRound(r Round, sc *Scenario) bool {
	return r.CommitRatio < sustainedRatioMin || !r.GeneratorValid || r.Latency.P99Ms > 10*float64(sc.SLOP99Ms)
}

// sweepFailuresMax ends a sweep after this many saturated rounds in a row.
const sweepFailuresMax = 2

// Sweep steps the offered load geometrically (the scenario's sweep ladder) on
// one cluster, a short constant-rate round per step, until saturation.
func Sweep(ctx context.Context, o Options) (*Result, error) {
	e, err := setup(ctx, &o, "sweep")
	if err != nil {
		return nil, err
	}
	defer e.teardown()
	spec := o.Scenario.SweepOrDefault()
	stepDur, _ := time.ParseDuration(spec.StepDuration) // INVARIANT: validated
	sw := &SweepResult{}
	e.res.Sweep = sw
	failures := 0
	rate := spec.StartPerS
	for k := 1; k <= spec.Steps && failures < sweepFailuresMax; k++ {
		sw.Steps = append(sw.Steps, rate)
		sc := o.Scenario.WithRate(math.Round(rate), stepDur)
		r, err := e.round(ctx, k, fmt.Sprintf("step %d/%d at %.0f tx/s", k, spec.Steps, math.Round(rate)), sc, math.Round(rate))
		if err != nil {
			analyseSweep(sw, e.res.Rounds, o.Scenario)
			return e.finishSweep(err)
		}
		// Keep climbing past SLO misses while the node still commits what is
		// offered: the curve beyond the SLO shows where saturation is.
		if saturatedRound(*r, o.Scenario) {
			failures++
		} else {
			failures = 0
		}
		rate *= spec.Factor
	}
	analyseSweep(sw, e.res.Rounds, o.Scenario)
	return e.finishSweep(nil)
}

func (e *env) finishSweep(runErr error) (*Result, error) {
	sw := e.res.Sweep
	var chosen []Round
	if sw.MaxSustainableRound > 0 {
		chosen = []Round{e.res.Rounds[sw.MaxSustainableRound-1]}
	}
	res, err := e.finish(runErr)
	e.res.headline(chosen)
	e.res.Checks = append(e.res.Checks, Check{Name: "a sustained step", Passed: sw.MaxSustainablePerS > 0,
		Detail: fmt.Sprintf("max sustainable %.0f tx/s", sw.MaxSustainablePerS)})
	e.res.Passed = e.res.Passed && sw.MaxSustainablePerS > 0 && runErr == nil
	if werr := WriteResult(e.out, e.res); werr != nil {
		return res, werr
	}
	if werr := WriteReport(e.out); werr != nil {
		return res, werr
	}
	return res, err
}

// analyseSweep finds the max sustainable round and the knee.
func analyseSweep(sw *SweepResult, rounds []Round, sc *Scenario) {
	for _, r := range rounds {
		if r.Sustained && r.CommittedPerS > sw.MaxSustainablePerS {
			sw.MaxSustainablePerS, sw.MaxSustainableRound = r.CommittedPerS, r.Index
		}
		if saturatedRound(r, sc) {
			sw.Saturated = true
		}
	}
	for i := range rounds {
		next := i + 1
		bad := next < len(rounds) && (rounds[next].Latency.P99Ms > 2*rounds[i].Latency.P99Ms ||
			rounds[next].CommitRatio < sustainedRatioMin || !rounds[next].GeneratorValid)
		if rounds[i].CommitRatio < sustainedRatioMin {
			break
		}
		sw.KneePerS, sw.KneeRound = rounds[i].CommittedPerS, rounds[i].Index
		if bad {
			break
		}
	}
}
