package rtgsday

import "slices"

// Result is a scenario's outcome: result.json, and what report.md shows.
type Result struct {
	Params          Params    `json:"params"`
	Levels          []float64 `json:"levels"`
	Modes           []Mode    `json:"modes"`
	EndBlocks       int       `json:"end_blocks"`
	SearchTolerance float64   `json:"search_tolerance"`
	StateRoot       bool      `json:"state_root"`
	// GridlockRoundsMax and ReleaseAttemptsMax are the queue bounds the
	// genesis set (0: the ledger's defaults).
	GridlockRoundsMax  int            `json:"gridlock_rounds_max,omitempty"`
	ReleaseAttemptsMax int            `json:"release_attempts_max,omitempty"`
	Day                DaySummary     `json:"day"`
	UpperTotalMinor    uint64         `json:"upper_total_minor"`
	LowerTotalMinor    uint64         `json:"lower_total_minor"`
	Banks              []BankFigures  `json:"banks"`
	Runs               []RunSummary   `json:"runs"`
	Minimum            []Minimum      `json:"minimum"`
	Savings            []Saving       `json:"savings"`
	Anomalies          []string       `json:"anomalies,omitempty"`
	Seeds              []SeedResult   `json:"seeds,omitempty"`
	SavingSpreads      []SavingSpread `json:"saving_spreads,omitempty"`
	Machine            *Machine       `json:"machine,omitempty"`
	ElapsedS           float64        `json:"elapsed_s"`
}

// Machine is where the scenario ran, as the caller describes it (cmd/bench
// fills it from bench.DescribeMachine; this package stays free of the
// harness's dependencies, the node among them).
type Machine struct {
	Hostname   string  `json:"hostname"`
	CPUModel   string  `json:"cpu_model"`
	Cores      int     `json:"cores"`
	MemoryGiB  float64 `json:"memory_gib"`
	OS         string  `json:"os"`
	Kernel     string  `json:"kernel,omitempty"`
	GoVersion  string  `json:"go_version"`
	GitCommit  string  `json:"git_commit,omitempty"`
	GitDirty   bool    `json:"git_dirty"`
	LoadAvg    string  `json:"load_avg_at_start,omitempty"`
	MeasuredAt string  `json:"measured_at"`
}

// Saving compares an LSM mode's minimum liquidity with plain RTGS's.
type Saving struct {
	Mode string `json:"mode"`
	// Saving is 1 − L_LSM / L_plain over the banks' total liquidity.
	Saving float64 `json:"saving"`
	// SavingOfUB is (L_plain − L_LSM) / the upper bound's total.
	SavingOfUB float64 `json:"saving_of_upper"`
	// VsImmediate is 1 − L_LSM / L_immediate: against gross settlement
	// without a queue (ModeImmediate), which needs the upper bound.
	VsImmediate float64 `json:"saving_vs_immediate"`
}

// savings compares every LSM mode's minimum with plain RTGS's (Minimum[0])
// and, when it ran, with immediate gross settlement's (the mode named
// ModeImmediate().Name).
func savings(mins []Minimum, upper uint64) []Saving {
	if len(mins) == 0 || !mins[0].Found {
		return nil
	}
	plain := float64(mins[0].LiquidityMinor)
	immediate := 0.0
	for _, m := range mins {
		if m.Mode == ModeImmediate().Name && m.Found {
			immediate = float64(m.LiquidityMinor)
		}
	}
	var out []Saving
	for _, m := range mins[1:] {
		if !m.Found || m.Mode == ModeImmediate().Name {
			continue
		}
		s := Saving{Mode: m.Mode}
		if immediate > 0 {
			s.VsImmediate = 1 - float64(m.LiquidityMinor)/immediate
		}
		if plain > 0 {
			s.Saving = 1 - float64(m.LiquidityMinor)/plain
		}
		if upper > 0 {
			s.SavingOfUB = (plain - float64(m.LiquidityMinor)) / float64(upper)
		}
		out = append(out, s)
	}
	return out
}

// RunsOf returns the sweep of one mode, in level order.
func (r *Result) RunsOf(mode string) []RunSummary {
	var out []RunSummary
	for _, s := range r.Runs {
		if s.Mode == mode {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b RunSummary) int {
		switch {
		case a.Level < b.Level:
			return -1
		case a.Level > b.Level:
			return 1
		}
		return 0
	})
	return out
}
