package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"settle/loadgen"
)

// Result is one `bench run` or `bench sweep`: its rounds (repeats or sweep steps)
// with the machine, calibration and node statistics. It is summary.json at the
// top of a result directory; each round's loadgen outputs are in round-NN/.
type Result struct {
	Kind        string       `json:"kind"` // "run" or "sweep"
	Scenario    *Scenario    `json:"scenario"`
	Machine     Machine      `json:"machine"`
	Calibration *Calibration `json:"calibration,omitempty"`
	Targets     []string     `json:"targets"`
	Local       bool         `json:"local"`      // validators started by the harness on this machine
	Validators  int          `json:"validators"` // validators loaded
	GoMaxProcs  int          `json:"gomaxprocs,omitempty"`
	StartTime   string       `json:"start_time"`
	TookS       float64      `json:"took_s"`
	Dir         string       `json:"-"` // where the result was written

	Rounds []Round      `json:"rounds"`
	Nodes  []NodeStats  `json:"nodes"`
	Sweep  *SweepResult `json:"sweep,omitempty"`
	Checks []Check      `json:"checks"`

	// Baseline compares a mix with its baseline mix (scenarios with workload.baseline).
	Baseline *BaselineComparison `json:"baseline,omitempty"`
	// Queue is what the RTGS queue settled (mixes of queued payments).
	Queue *QueueSummary `json:"queue,omitempty"`

	// Headline figures over the rounds (for sweeps: the max sustainable round).
	CommittedPerS      Stat    `json:"committed_per_s"`
	P99Ms              Stat    `json:"p99_ms"`
	Efficiency         float64 `json:"efficiency"`               // mean committed/s ÷ verification ceiling
	EfficiencyCeilingS float64 `json:"efficiency_ceiling_per_s"` // that ceiling
	// CPU-normalised figures, from the validators' own CPU time (the load
	// generator's cores do not count against them): CPU per committed
	// transaction summed over the validators, and the share of one validator's
	// CPU per transaction that its one batch verification costs
	// (1 / calibrated batch rate on one core ÷ mean validator CPU per tx).
	ValidatorCPUUsPerTx float64 `json:"validator_cpu_us_per_tx,omitempty"`
	CPUEfficiency       float64 `json:"cpu_efficiency,omitempty"`
	// What one validator's Pebble wrote per committed transaction (mean over
	// the validators): its WAL, and the tables of its flushes and compactions.
	WALBytesPerTx   float64 `json:"wal_bytes_per_tx,omitempty"`
	TableBytesPerTx float64 `json:"table_bytes_per_tx,omitempty"`
	Passed          bool    `json:"passed"`
}

// BaselineComparison is a mix's goodput against its baseline's, measured in
// alternating rounds on the same cluster.
type BaselineComparison struct {
	Mix                 string  `json:"mix"`
	Baseline            string  `json:"baseline"`
	MixGoodputPerS      Stat    `json:"mix_goodput_per_s"`
	BaselineGoodputPerS Stat    `json:"baseline_goodput_per_s"`
	Ratio               float64 `json:"ratio"` // mean mix goodput ÷ mean baseline goodput
}

// Round is one loadgen run inside a result.
type Round struct {
	Index    int     `json:"index"`
	Label    string  `json:"label"`
	Workload string  `json:"workload,omitempty"` // loadgen's workload name ("payments/uniform", "mix/interbank")
	Dir      string  `json:"dir"`                // relative to the result directory
	RatePerS float64 `json:"nominal_rate_per_s,omitempty"`

	Offered    int64            `json:"offered"`
	Sent       int64            `json:"sent"`
	Accepted   int64            `json:"accepted"`
	Rejected   int64            `json:"rejected"`
	RejectedBy map[string]int64 `json:"rejected_by_code"`
	Committed  int64            `json:"committed"`        // in a block, any result
	Queued     int64            `json:"queued,omitempty"` // committed as "queued": waiting in the RTGS queue, not failed
	Failed     int64            `json:"failed"`           // committed with a result other than success or queued
	FailedBy   map[string]int64 `json:"failed_by_code"`
	TimedOut   int64            `json:"timed_out"`

	OfferedPerS   float64 `json:"offered_per_s"`
	CommittedPerS float64 `json:"committed_per_s"` // throughput
	GoodputPerS   float64 `json:"goodput_per_s"`   // committed with success (or queued), per second
	CommitRatio   float64 `json:"commit_ratio"`    // committed ÷ offered

	Latency         loadgen.LatencyStats `json:"committed_latency"`
	AcceptedLatency loadgen.LatencyStats `json:"accepted_latency"`

	GeneratorValid   bool     `json:"generator_valid"`
	GeneratorReasons []string `json:"generator_reasons,omitempty"`
	// Degraded: refusals broke senders' sequences in this round (loadgen's
	// degraded_reasons); its figures hold for the load that arrived.
	Degraded  []string `json:"degraded,omitempty"`
	MeetsSLO  bool     `json:"meets_slo"` // p99 ≤ SLO
	Sustained bool     `json:"sustained"` // committed ≥ 99% of offered, p99 ≤ SLO, generator valid
}

// Stat is a mean with its spread over repeated rounds.
type Stat struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"` // sample standard deviation (0 for one round)
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Check is one pass/fail rule of a result.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// sustainedRatioMin is the share of the offered load that must commit for a round
// to count as sustained (docs/bench.md).
const sustainedRatioMin = 0.99

// newRound condenses a loadgen summary.
func newRound(i int, label string, rate float64, s *loadgen.Summary, sloMs float64) Round {
	c := s.Counts
	r := Round{Index: i, Label: label, Workload: s.Workload, Dir: fmt.Sprintf("round-%02d", i), RatePerS: rate,
		Offered: c.Offered, Sent: c.Sent, Accepted: c.Accepted, Rejected: c.Rejected, RejectedBy: c.RejectedByCode,
		Committed: c.Committed, Queued: c.Queued, Failed: c.Failed, FailedBy: c.FailedByCode, TimedOut: c.TimedOut,
		OfferedPerS: s.Rates.OfferedPerS, CommittedPerS: s.Rates.CommittedPerS,
		Latency: s.Committed, AcceptedLatency: s.Accepted, GeneratorValid: s.Valid, GeneratorReasons: s.InvalidReasons,
		Degraded: s.DegradedReasons}
	if r.OfferedPerS == 0 && s.TimedS > 0 { // closed loop: offered is what was dispatched
		r.OfferedPerS = float64(c.Offered) / s.TimedS
	}
	if c.Committed > 0 {
		r.GoodputPerS = r.CommittedPerS * float64(c.Committed-c.Failed) / float64(c.Committed)
	}
	if c.Offered > 0 {
		r.CommitRatio = float64(c.Committed) / float64(c.Offered)
	}
	r.MeetsSLO = c.Committed > 0 && r.Latency.P99Ms <= sloMs
	r.Sustained = r.MeetsSLO && r.CommitRatio >= sustainedRatioMin && r.GeneratorValid
	return r
}

func statOf(xs []float64) Stat {
	s := Stat{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	s.Min, s.Max = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		s.Mean += x
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.StdDev = math.Sqrt(ss / float64(len(xs)-1))
	}
	return s
}

// headline fills the figures over rounds (the chosen rounds for a sweep).
func (r *Result) headline(rounds []Round) {
	var thr, p99 []float64
	for _, rd := range rounds {
		thr = append(thr, rd.CommittedPerS)
		p99 = append(p99, rd.Latency.P99Ms)
	}
	r.CommittedPerS, r.P99Ms = statOf(thr), statOf(p99)
	if r.Calibration != nil && r.Local {
		r.EfficiencyCeilingS = r.Calibration.VerifyBatchAllCoresPerS / float64(max(1, r.Validators))
		r.Efficiency = r.Calibration.Efficiency(r.CommittedPerS.Mean, r.Validators)
	}
	r.cpuFigures()
	r.Passed = true
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.Passed
	}
}

// cpuFigures fills the CPU-normalised figures from the node statistics.
func (r *Result) cpuFigures() {
	var cpu, txs float64
	for _, n := range r.Nodes {
		cpu += n.CPUSeconds
		txs = math.Max(txs, n.TxsCommitted) // every validator commits the same chain
	}
	if cpu <= 0 || txs <= 0 || len(r.Nodes) == 0 {
		return
	}
	r.ValidatorCPUUsPerTx = 1e6 * cpu / txs
	for _, n := range r.Nodes {
		r.WALBytesPerTx += n.WALBytesPerTx / float64(len(r.Nodes))
		r.TableBytesPerTx += n.TableBytesPerTx / float64(len(r.Nodes))
	}
	if r.Calibration != nil && r.Calibration.VerifyBatchPerCorePerS > 0 {
		verifyUs := 1e6 / r.Calibration.VerifyBatchPerCorePerS
		r.CPUEfficiency = verifyUs / (r.ValidatorCPUUsPerTx / float64(len(r.Nodes)))
	}
}

// File names inside a result directory.
const (
	FileResult   = "summary.json"
	FileMachine  = "machine.json"
	FileScenario = "scenario.json"
	FileNodes    = "nodes.json"
	FileReport   = "report.md"
)

// WriteResult writes summary.json, machine.json and scenario.json into dir.
func WriteResult(dir string, r *Result) error {
	files := map[string]any{FileResult: r, FileMachine: r.Machine, FileScenario: r.Scenario}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeJSON(filepath.Join(dir, n), files[n]); err != nil {
			return err
		}
	}
	return nil
}

// ReadResult reads a result directory's summary.json.
func ReadResult(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileResult))
	if err != nil {
		return nil, fmt.Errorf("%s is not a bench result directory: %w", dir, err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, FileResult), err)
	}
	return &r, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
