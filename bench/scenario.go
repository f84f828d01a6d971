package bench

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"settle/loadgen"
)

//go:embed scenarios/*.json
var builtinScenarios embed.FS

// Scenario is one benchmark, read from a JSON file in bench/scenarios/ (or any
// path). Durations are Go duration strings ("20s"); rates are transactions/s.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	Validators int `json:"validators"` // local validators to start (ignored against a cluster file)
	Accounts   int `json:"accounts"`   // demo accounts funded at genesis and used by the workload
	GoMaxProcs int `json:"gomaxprocs,omitempty"`

	Block    BlockLimits  `json:"block"`
	Workload WorkloadSpec `json:"workload"`
	// ReplicaTLS sets every local validator's "replica_tls" (nil: the validators'
	// default, TLS on); false runs the replica links in plaintext, to measure what
	// encryption costs. Ignored with one validator and against a cluster file.
	ReplicaTLS *bool `json:"replica_tls,omitempty"`
	// StateRoot false runs every local validator without the state tree
	// ("bench_state_root_off"), to measure what maintaining it costs; nil or
	// true: the product's behaviour.
	StateRoot *bool `json:"state_root,omitempty"`
	// WAN shapes every link between local validators (latency, jitter,
	// bandwidth) through Toxiproxy; nil leaves them on plain loopback. Ignored
	// against a cluster file.
	WAN *WANSpec `json:"wan,omitempty"`
	// ViewTimeoutMs is every local validator's view timeout (0: the default,
	// 500 ms); at long round trips it must exceed a few of them.
	ViewTimeoutMs int `json:"view_timeout_ms,omitempty"`

	Schedule   string `json:"schedule,omitempty"`       // loadgen syntax: constant:R@D, step:R1,R2@S, ramp:A..B@D
	ClosedK    int    `json:"closed_k,omitempty"`       // closed loop with K in flight instead of a schedule
	Count      int    `json:"count,omitempty"`          // closed loop: transactions to pre-sign (loadgen's default 100 000)
	Duration   string `json:"duration,omitempty"`       // closed loop: the timed phase
	Repeats    int    `json:"repeats,omitempty"`        // rounds of the same load on the same cluster (noise estimate)
	SLOP99Ms   int    `json:"slo_p99_ms"`               // submit→commit p99 a round must meet
	CommitWait string `json:"commit_timeout,omitempty"` // loadgen's commit timeout (default 30s)

	Sweep  *SweepSpec `json:"sweep,omitempty"`
	Checks *Checks    `json:"checks,omitempty"`
}

// BlockLimits are written into every validator's config file; zero keeps the
// node's default.
type BlockLimits struct {
	TxMax        int `json:"tx_max,omitempty"`
	BytesMax     int `json:"bytes_max,omitempty"`
	DelayMs      int `json:"delay_ms,omitempty"`
	MempoolTxMax int `json:"mempool_tx_max,omitempty"`
}

// WorkloadSpec selects loadgen's payments workload, or a named mix.
type WorkloadSpec struct {
	// Mix, when set, runs a named loadgen mix (payments, multi-asset, conditional,
	// interbank) on that mix's genesis (loadgen.MixGenesisFor, passed to settled
	// with -genesis); Dist and Accounts are then unused.
	Mix string `json:"mix,omitempty"`
	// Baseline, with Mix, is another mix on the same genesis (the interbank mix's
	// is "payments") run before every round of Mix on the same cluster; the result
	// states Mix's goodput as a ratio of Baseline's.
	Baseline       string  `json:"baseline,omitempty"`
	FinishLag      int     `json:"finish_lag,omitempty"` // with Mix: transactions between an escrow's create and finish (keep it above closed_k)
	Dist           string  `json:"dist"`                 // uniform, zipf, interbank
	ZipfS          float64 `json:"zipf_s,omitempty"`
	InterbankLarge int     `json:"interbank_large,omitempty"`
	InterbankShare float64 `json:"interbank_share,omitempty"`
	Seed           uint64  `json:"seed,omitempty"`
}

// ReplicaLinks describes the replica links the scenario runs, for reports.
func (s *Scenario) ReplicaLinks() string {
	switch {
	case s.ReplicaTLS == nil:
		return "TLS 1.3 (default)"
	case *s.ReplicaTLS:
		return "TLS 1.3"
	}
	return "plaintext (replica_tls false)"
}

// SweepSpec is the geometric ladder of offered rates `bench sweep` climbs.
type SweepSpec struct {
	StartPerS    float64 `json:"start_per_s"`
	Factor       float64 `json:"factor"`
	Steps        int     `json:"steps"`
	StepDuration string  `json:"step_duration"`
}

// Checks are extra pass/fail rules (the overload scenario's).
type Checks struct {
	RSSMBMax           float64 `json:"rss_mb_max,omitempty"`          // peak resident memory of any validator
	RSSGrowthPctMax    float64 `json:"rss_growth_pct_max,omitempty"`  // last third's mean RSS over the middle third's
	ExpectBackpressure bool    `json:"expect_backpressure,omitempty"` // some transactions must be refused with a backpressure code: 429/503 or fee_too_low (escalated minimum fee)
	BaselineRatioMin   float64 `json:"baseline_ratio_min,omitempty"`  // the mix's goodput ÷ the baseline's must reach this (0.8 = 80%)
}

// Limits on scenario values; beyond them a file is almost certainly a typo.
const (
	validatorsMax    = 64
	accountsMax      = 1_000_000
	repeatsMax       = 20
	sweepStepsMax    = 30
	viewTimeoutMsMax = 60_000
)

// ErrScenario marks every scenario validation error.
var ErrScenario = errors.New("invalid scenario")

// LoadScenario reads a scenario by built-in name ("quick", "single", ...) or path.
func LoadScenario(nameOrPath string) (*Scenario, error) {
	var b []byte
	var err error
	if strings.ContainsAny(nameOrPath, "/\\") || strings.HasSuffix(nameOrPath, ".json") {
		b, err = os.ReadFile(nameOrPath)
	} else {
		b, err = builtinScenarios.ReadFile(path.Join("scenarios", nameOrPath+".json"))
		if err != nil {
			return nil, fmt.Errorf("%w: there is no built-in scenario %q (built in: %s); give a file path for your own", ErrScenario, nameOrPath, strings.Join(BuiltinScenarios(), ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading scenario: %w", err)
	}
	return ParseScenario(b)
}

// BuiltinScenarios lists the embedded scenario names.
func BuiltinScenarios() []string {
	entries, _ := builtinScenarios.ReadDir("scenarios") // INVARIANT: the embedded dir exists
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// ParseScenario decodes a scenario (unknown fields are errors), fills defaults and
// validates it.
func ParseScenario(b []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: the file is not valid scenario JSON: %v", ErrScenario, err)
	}
	s.fillDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Scenario) fillDefaults() {
	if s.Validators == 0 {
		s.Validators = 1
	}
	if s.Accounts == 0 {
		s.Accounts = 10_000
	}
	if s.Repeats == 0 {
		s.Repeats = 1
	}
	if s.Workload.Dist == "" {
		s.Workload.Dist = loadgen.DistUniform
	}
	if s.Workload.Seed == 0 {
		s.Workload.Seed = 1
	}
}

// Validate explains the first problem in one plain sentence.
func (s *Scenario) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("%w %q: %s", ErrScenario, s.Name, err.Error())
	}
	return nil
}

func (s *Scenario) validate() error {
	switch {
	case s.Name == "":
		return errors.New("the scenario needs a name")
	case strings.ContainsAny(s.Name, "/\\ "):
		return errors.New("the name must not contain slashes or spaces, since it names the results directory")
	case s.Validators < 1 || s.Validators > validatorsMax:
		return fmt.Errorf("validators must be 1 to %d, got %d", validatorsMax, s.Validators)
	case s.Accounts < 2 || s.Accounts > accountsMax:
		return fmt.Errorf("accounts must be 2 to %d, got %d", accountsMax, s.Accounts)
	case s.GoMaxProcs < 0:
		return errors.New("gomaxprocs must not be negative")
	case s.Block.TxMax < 0 || s.Block.BytesMax < 0 || s.Block.DelayMs < 0 || s.Block.MempoolTxMax < 0:
		return errors.New("block limits must not be negative (0 keeps the node's default)")
	case s.Schedule == "" && s.ClosedK == 0:
		return errors.New("give either a rate schedule (open loop) or closed_k (closed loop)")
	case s.Schedule != "" && s.ClosedK != 0:
		return errors.New("give either a rate schedule or closed_k, not both")
	case s.ClosedK < 0 || s.Count < 0 || s.Workload.FinishLag < 0:
		return errors.New("closed_k, count and finish_lag must not be negative")
	case s.ClosedK < 0:
		return errors.New("closed_k must not be negative")
	case s.Repeats < 1 || s.Repeats > repeatsMax:
		return fmt.Errorf("repeats must be 1 to %d, got %d", repeatsMax, s.Repeats)
	case s.SLOP99Ms <= 0:
		return errors.New("slo_p99_ms, the latency objective, must be positive")
	}
	if err := s.validateWorkload(); err != nil {
		return err
	}
	if s.WAN != nil {
		if err := s.WAN.validate(s.Validators); err != nil {
			return err
		}
	}
	if s.ViewTimeoutMs < 0 || s.ViewTimeoutMs > viewTimeoutMsMax {
		return fmt.Errorf("view_timeout_ms must be 0 (the default) to %d, got %d", viewTimeoutMsMax, s.ViewTimeoutMs)
	}
	if s.Schedule != "" {
		if _, err := s.LoadSchedule(); err != nil {
			return err
		}
	}
	if s.ClosedK > 0 {
		if d, err := time.ParseDuration(s.Duration); err != nil || d <= 0 {
			return fmt.Errorf("a closed-loop scenario needs a positive duration, got %q", s.Duration)
		}
	}
	if s.CommitWait != "" {
		if d, err := time.ParseDuration(s.CommitWait); err != nil || d <= 0 {
			return fmt.Errorf("commit_timeout %q is not a positive duration", s.CommitWait)
		}
	}
	if s.Sweep != nil {
		return s.Sweep.validate()
	}
	return nil
}

func (s *Scenario) validateWorkload() error {
	w := s.Workload
	if err := s.validateMix(); err != nil {
		return err
	}
	switch w.Dist {
	case loadgen.DistUniform, loadgen.DistZipf:
	case loadgen.DistInterbank:
		if w.InterbankLarge < 0 || w.InterbankLarge >= s.Accounts {
			return fmt.Errorf("interbank_large must be below the %d accounts, got %d", s.Accounts, w.InterbankLarge)
		}
		if w.InterbankShare < 0 || w.InterbankShare >= 1 {
			return fmt.Errorf("interbank_share must lie between 0 and 1, got %g", w.InterbankShare)
		}
	default:
		return fmt.Errorf("workload dist %q is not one of uniform, zipf, interbank", w.Dist)
	}
	if w.ZipfS < 0 {
		return fmt.Errorf("zipf_s must not be negative, got %g", w.ZipfS)
	}
	return nil
}

func (s *Scenario) validateMix() error {
	w := s.Workload
	if w.Mix == "" {
		switch {
		case w.Baseline != "":
			return errors.New("a baseline is compared with a mix: set workload.mix too")
		case s.Checks != nil && s.Checks.BaselineRatioMin > 0:
			return errors.New("baseline_ratio_min needs workload.mix and workload.baseline")
		}
		return nil
	}
	spec, err := loadgen.MixSpecFor(w.Mix, 1, 1, 1)
	if err != nil {
		return err
	}
	if w.Baseline == "" {
		if s.Checks != nil && s.Checks.BaselineRatioMin > 0 {
			return errors.New("baseline_ratio_min needs workload.baseline")
		}
		return nil
	}
	base, err := loadgen.MixSpecFor(w.Baseline, 1, 1, 1)
	if err != nil {
		return fmt.Errorf("baseline: %v", err)
	}
	if base.Banks != spec.Banks || strings.Join(base.Assets, ",") != strings.Join(spec.Assets, ",") {
		return fmt.Errorf("the baseline %s and the mix %s need different geneses (banks or assets differ)", w.Baseline, w.Mix)
	}
	return nil
}

// MixGenesisFile writes the genesis of the scenario's mix into dir and returns its
// path ("" when the scenario runs plain payments on the dev genesis).
func (s *Scenario) MixGenesisFile(dir, chainID string) (string, error) {
	if s.Workload.Mix == "" {
		return "", nil
	}
	if chainID == "" {
		chainID = loadgen.ChainIDDefault
	}
	g, err := loadgen.MixGenesisFor(s.Workload.Mix, chainID, loadgen.BaseFeeDefault)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "mix-genesis.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write the mix genesis: %w", err)
	}
	return path, nil
}

func (w *SweepSpec) validate() error {
	d, err := time.ParseDuration(w.StepDuration)
	switch {
	case w.StartPerS <= 0:
		return errors.New("the sweep's start_per_s must be positive")
	case w.Factor <= 1:
		return fmt.Errorf("the sweep's factor must exceed 1, got %g", w.Factor)
	case w.Steps < 2 || w.Steps > sweepStepsMax:
		return fmt.Errorf("the sweep needs 2 to %d steps, got %d", sweepStepsMax, w.Steps)
	case err != nil || d <= 0:
		return fmt.Errorf("the sweep's step_duration %q is not a positive duration", w.StepDuration)
	}
	return nil
}

// LoadSchedule parses the open-loop schedule.
func (s *Scenario) LoadSchedule() (loadgen.Schedule, error) {
	sch, err := loadgen.ParseSchedule(s.Schedule, 0)
	if err != nil {
		return nil, fmt.Errorf("the schedule is not valid: %v", err)
	}
	return sch, nil
}

// ClosedDuration is the closed-loop timed phase (0 for open loop).
func (s *Scenario) ClosedDuration() time.Duration {
	d, _ := time.ParseDuration(s.Duration) // INVARIANT: checked by Validate when ClosedK > 0
	return d
}

// CommitTimeout is loadgen's commit timeout for this scenario.
func (s *Scenario) CommitTimeout() time.Duration {
	d, _ := time.ParseDuration(s.CommitWait) // INVARIANT: empty or checked by Validate
	return d
}

// SweepOrDefault returns the scenario's sweep, or a default ladder.
func (s *Scenario) SweepOrDefault() SweepSpec {
	if s.Sweep != nil {
		return *s.Sweep
	}
	return SweepSpec{StartPerS: 500, Factor: 1.5, Steps: 8, StepDuration: "8s"}
}

// WithRate returns a copy whose schedule is a constant rate for the same length.
func (s *Scenario) WithRate(ratePerS float64, d time.Duration) *Scenario {
	c := *s
	c.ClosedK, c.Duration = 0, ""
	c.Schedule = fmt.Sprintf("constant:%g@%s", ratePerS, d)
	return &c
}

// TimedLength is how long one round's timed phase lasts.
func (s *Scenario) TimedLength() time.Duration {
	if s.ClosedK > 0 {
		return s.ClosedDuration()
	}
	sch, err := s.LoadSchedule()
	if err != nil {
		return 0
	}
	return sch.Duration()
}
