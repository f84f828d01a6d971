package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"settle/consensus/sim"
)

// Model predicts a deployment the reference machine cannot hold: for each
// validator count it runs the real HotStuff core in the WAN simulator
// (consensus/sim, RunWAN) with a latency matrix, a bandwidth per link, CPU
// costs per transaction and per message, and the product's timers, finds the
// highest offered load the cluster sustains (bisection on the offered rate),
// and measures finality at a fraction of it. docs/bench.md, "model".
//
// Deterministic: the same options give the same result.

// ModelOptions are the inputs of a prediction.
type ModelOptions struct {
	Validators []int `json:"validators"` // validator counts to predict, each ≥ 2

	// The network: a uniform round trip, or a site set (validators spread
	// over its sites round-robin), each pair scaled by RTTScale.
	RTTMs    float64  `json:"rtt_ms"`
	Sites    *SiteSet `json:"-"`
	RTTScale float64  `json:"rtt_scale"`
	JitterMs float64  `json:"jitter_ms"`
	// BandwidthMbit caps each direction of each validator pair (as the
	// Toxiproxy WAN does); UplinkMbit each validator's egress over all its
	// links (its NIC or site link); TCPWindowKiB each link at one window per
	// round trip. 0: unlimited.
	BandwidthMbit float64 `json:"bandwidth_mbit"`
	UplinkMbit    float64 `json:"uplink_mbit"`
	TCPWindowKiB  float64 `json:"tcp_window_kib"`

	// CPU: each validator on a host of CoresPerValidator cores; or all of
	// them on one machine of MachineCores cores, each with MachineCores/n
	// (SharedCPU: the validators share the machine's cores as they come
	// instead of a fixed share each).
	CoresPerValidator float64 `json:"cores_per_validator"`
	MachineCores      float64 `json:"machine_cores"`
	SharedCPU         bool    `json:"shared_cpu"`

	// Costs: ReferenceCosts scaled to Calibration's machine (when given),
	// then Costs replaces them whole (when given).
	Calibration *Calibration  `json:"-"`
	Costs       *sim.WANCosts `json:"-"`

	BlockTxMax    int     `json:"block_tx_max"`
	BlockDelayMs  float64 `json:"block_delay_ms"`
	ViewTimeoutMs float64 `json:"view_timeout_ms"`

	// RatePerS > 0 predicts finality at that offered load only. 0 predicts
	// saturation as bench wan measures it (a closed loop of ClosedK in
	// flight: the committed rate), the highest sustainable open-loop rate
	// (bisection), and finality at LoadFraction of the saturation.
	RatePerS     float64 `json:"rate_per_s"`
	ClosedK      int     `json:"closed_k"`
	LoadFraction float64 `json:"load_fraction"`
	// NoSearch skips the open-loop search for the highest sustainable rate
	// (it takes most of a prediction's time).
	NoSearch bool `json:"no_search"`
	// SatSeeds is how many closed-loop runs (seeds Seed, Seed+1, …) the
	// saturation is the median of: at saturation views run close to their
	// timeout, and which views time out varies from seed to seed.
	SatSeeds int `json:"sat_seeds"`
	// P99MaxMs is the sustainability bound on p99 (see sustainable).
	P99MaxMs  float64 `json:"p99_max_ms"`
	DurationS float64 `json:"duration_s"` // virtual time per run
	WarmupS   float64 `json:"warmup_s"`
	Seed      int64   `json:"seed"`

	Logf func(format string, args ...any) `json:"-"`
}

// Model defaults: the four scenario's block limits (bench/scenarios/four.json),
// the product's view timeout, an 8-core validator host.
const (
	ModelBlockTxMaxDefault        = 4096
	ModelBlockDelayMsDefault      = 20
	ModelViewTimeoutMsDefault     = 500
	ModelCoresPerValidatorDefault = 8
	ModelClosedKDefault           = 32768 // bench/scenarios/wan-sat.json
	ModelSatSeedsDefault          = 3
	ModelLoadFractionDefault      = 0.5
	ModelP99MaxMsDefault          = 2500 // 10 × the four scenario's SLO, bench sweep's saturation rule
	ModelDurationSDefault         = 10
	ModelWarmupSDefault           = 2
	modelValidatorsMax            = 200
	modelProbesMax                = 8
	modelPrecision                = 0.03 // bisection stops when the bracket is within 3%
)

func (o *ModelOptions) withDefaults() {
	if o.RTTScale == 0 {
		o.RTTScale = 1
	}
	if o.CoresPerValidator == 0 && o.MachineCores == 0 {
		o.CoresPerValidator = ModelCoresPerValidatorDefault
	}
	setDefault(&o.BlockTxMax, ModelBlockTxMaxDefault)
	setDefault(&o.ClosedK, ModelClosedKDefault)
	setDefault(&o.SatSeeds, ModelSatSeedsDefault)
	setDefaultF(&o.BlockDelayMs, ModelBlockDelayMsDefault)
	setDefaultF(&o.ViewTimeoutMs, ModelViewTimeoutMsDefault)
	setDefaultF(&o.LoadFraction, ModelLoadFractionDefault)
	setDefaultF(&o.P99MaxMs, ModelP99MaxMsDefault)
	setDefaultF(&o.DurationS, ModelDurationSDefault)
	setDefaultF(&o.WarmupS, ModelWarmupSDefault)
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

func setDefault(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func setDefaultF(v *float64, d float64) {
	if *v == 0 {
		*v = d
	}
}

// Validate reports the first bad input in a sentence (after defaults).
func (o *ModelOptions) Validate() error {
	o.withDefaults()
	bad := func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) || x < 0 }
	switch {
	case len(o.Validators) == 0:
		return errors.New("give at least one validator count")
	case o.Sites != nil && o.RTTMs != 0:
		return errors.New("give a uniform round trip or a site set, not both")
	case bad(o.RTTMs) || o.RTTMs > siteRTTMsMax:
		return fmt.Errorf("the round trip must be 0 to %d ms, got %g", siteRTTMsMax, o.RTTMs)
	case bad(o.RTTScale) || o.RTTScale == 0:
		return fmt.Errorf("the RTT scale must be positive, got %g", o.RTTScale)
	case bad(o.JitterMs):
		return fmt.Errorf("the jitter must be ≥ 0 ms, got %g", o.JitterMs)
	case bad(o.BandwidthMbit) || bad(o.UplinkMbit) || bad(o.TCPWindowKiB):
		return errors.New("bandwidths and the TCP window must be ≥ 0 (0: unlimited)")
	case bad(o.CoresPerValidator) || bad(o.MachineCores) || (o.CoresPerValidator > 0) == (o.MachineCores > 0):
		return errors.New("give either cores per validator or machine cores, a positive number")
	case o.SharedCPU && o.MachineCores == 0:
		return errors.New("a shared CPU needs machine cores (all validators on one machine)")
	case o.BlockTxMax < 1 || o.BlockTxMax > 8192:
		return fmt.Errorf("the block tx max must be 1 to 8192, got %d", o.BlockTxMax)
	case bad(o.BlockDelayMs) || o.BlockDelayMs == 0:
		return fmt.Errorf("the block delay must be positive, got %g ms", o.BlockDelayMs)
	case bad(o.ViewTimeoutMs) || o.ViewTimeoutMs < sim.WANTickMsDefault:
		return fmt.Errorf("the view timeout must be at least one tick (%d ms), got %g ms", sim.WANTickMsDefault, o.ViewTimeoutMs)
	case bad(o.RatePerS):
		return fmt.Errorf("the rate must be ≥ 0 tx/s, got %g", o.RatePerS)
	case o.ClosedK < 1:
		return fmt.Errorf("the closed loop's in-flight count must be positive, got %d", o.ClosedK)
	case o.SatSeeds < 1 || o.SatSeeds > 15:
		return fmt.Errorf("the saturation seeds must be 1 to 15, got %d", o.SatSeeds)
	case bad(o.LoadFraction) || o.LoadFraction == 0 || o.LoadFraction > 1:
		return fmt.Errorf("the load fraction must be in (0, 1], got %g", o.LoadFraction)
	case bad(o.P99MaxMs) || o.P99MaxMs == 0:
		return fmt.Errorf("the p99 bound must be positive, got %g ms", o.P99MaxMs)
	case bad(o.DurationS) || bad(o.WarmupS) || o.WarmupS+o.P99MaxMs/1000 >= o.DurationS:
		return fmt.Errorf("the duration (%g s) must exceed the warm-up (%g s) plus the p99 bound (%g s)", o.DurationS, o.WarmupS, o.P99MaxMs/1000)
	}
	for _, n := range o.Validators {
		if n < 2 || n > modelValidatorsMax {
			return fmt.Errorf("validator counts must be 2 to %d (one validator runs chain.Solo, not HotStuff), got %d", modelValidatorsMax, n)
		}
	}
	if o.Costs != nil {
		if err := o.Costs.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Reference machine: the 2-core AMD EPYC VM of results/ (README "Results").
const (
	refVerifyBatchPerCorePerS  = 55_118 // 110,237 sigs/s batch on 2 cores
	refVerifySinglePerCorePerS = 26_966 // results/2026-12-03-four-sweep calibration
	refFsyncP50Ms              = 0.34
	refDiskBytesPerS           = 308e6 // Pebble synced batches of 1000 × 250 B at 1.23 M records/s
)

// ReferenceCosts are the CPU and disk costs of the reference machine. The
// signature rates and the disk are its calibration; the rest was fitted to
// its measured four-validator runs on loopback (results/2026-12-03-four-sweep
// and -four-saturation, per-second CPU samples of nodes.json against
// committed transactions and blocks): at saturation a validator used 0.45
// cores for 6,108 tx/s, about 65 µs per transaction once frames and blocks
// are counted, split by the four-validator CPU profile
// (results/2026-12-03-four-profile: execution and its synced batch about a
// third, verification a fifth to a third, flushes a sixth, gossip admission
// and HTTP ingress a few percent each). Below saturation the same samples
// show 0.17 cores a loaded validator burns whatever its rate (the runtime's
// spinning and wake-ups); that yields to work on a busy machine (seven
// validators sharing 2 cores committed thousands of tx/s on 0.15–0.22 cores
// each), so it is not charged: BaseCores is only the idle 0.02.
func ReferenceCosts() sim.WANCosts {
	return sim.WANCosts{
		VerifyTxUs:       1e6 / refVerifyBatchPerCorePerS,
		SigUs:            1e6 / refVerifySinglePerCorePerS,
		ClientTxUs:       10,
		GossipTxUs:       6,
		ProposalTxUs:     3,
		ExecTxUs:         22,
		BackgroundTxUs:   15,
		FrameUs:          15,
		BlockDriverUs:    300,
		BlockExecUs:      1200,
		FsyncMs:          refFsyncP50Ms,
		DiskBytesPerS:    refDiskBytesPerS,
		CommitBytesPerTx: 1260, // WAL per committed transaction per validator, measured at 4,000 tx/s
		BaseCores:        0.02,
	}
}

// CostsFromCalibration scales the reference costs to a calibrated machine:
// its own signature rates, fsync and disk; every other CPU cost in
// proportion to its batch verification speed (a core twice as fast at
// verifying is taken to be twice as fast at everything).
func CostsFromCalibration(c *Calibration) sim.WANCosts {
	costs := ReferenceCosts()
	if c == nil {
		return costs
	}
	if c.VerifyBatchPerCorePerS > 0 {
		slow := refVerifyBatchPerCorePerS / c.VerifyBatchPerCorePerS
		costs.VerifyTxUs = 1e6 / c.VerifyBatchPerCorePerS
		for _, v := range []*float64{&costs.ClientTxUs, &costs.GossipTxUs, &costs.ProposalTxUs, &costs.ExecTxUs,
			&costs.BackgroundTxUs, &costs.FrameUs, &costs.BlockDriverUs, &costs.BlockExecUs, &costs.BaseCores} {
			*v *= slow
		}
	}
	if c.VerifySinglePerCorePerS > 0 {
		costs.SigUs = 1e6 / c.VerifySinglePerCorePerS
	}
	if c.FsyncP50Ms > 0 {
		costs.FsyncMs = c.FsyncP50Ms
	}
	if c.PebbleRecordsPerS > 0 {
		costs.DiskBytesPerS = c.PebbleRecordsPerS * calibRecordBytes
	}
	return costs
}

// LoadCalibration reads `bench calibrate -json` output, or the calibration
// inside a result's summary.json.
func LoadCalibration(path string) (*Calibration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read calibration: %w", err)
	}
	var wrapped struct {
		Calibration *Calibration `json:"calibration"`
	}
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Calibration != nil {
		return wrapped.Calibration, nil
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("calibration %s: %w", path, err)
	}
	if c.VerifyBatchPerCorePerS <= 0 {
		return nil, fmt.Errorf("calibration %s has no verify_batch_per_core_per_s: not a `bench calibrate -json` file", path)
	}
	return &c, nil
}

// LoadCosts reads a JSON file of sim.WANCosts (every field; see ReferenceCosts).
func LoadCosts(path string) (*sim.WANCosts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read costs: %w", err)
	}
	c := ReferenceCosts()
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("costs %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("costs %s: %w", path, err)
	}
	return &c, nil
}

// ModelResult is a prediction for every validator count.
type ModelResult struct {
	Options     ModelOptions `json:"options"`
	Network     string       `json:"network"`
	SiteSet     string       `json:"site_set,omitempty"`
	Costs       sim.WANCosts `json:"costs"`
	CostsSource string       `json:"costs_source"`
	Criterion   string       `json:"criterion"`
	Points      []ModelPoint `json:"points"`
	TookS       float64      `json:"took_s"`
}

// ModelPoint is the prediction for one validator count.
type ModelPoint struct {
	Validators        int     `json:"validators"`
	CoresPerValidator float64 `json:"cores_per_validator"`
	MedianRTTMs       float64 `json:"median_rtt_ms"` // over validator pairs
	QuorumRTTMs       float64 `json:"quorum_rtt_ms"` // the median over validators of the round trip to their (q−1)-th nearest peer

	// SaturationPerS is the committed rate of a closed loop of ClosedK in
	// flight (bench wan's saturation; 0 with a fixed rate), AtSaturation
	// that run, BoundBy the resource it found nearest its limit.
	SaturationPerS float64        `json:"saturation_per_s"`
	SaturationMin  float64        `json:"saturation_min_per_s"` // over the seeds
	SaturationMax  float64        `json:"saturation_max_per_s"`
	BoundBy        string         `json:"bound_by,omitempty"`
	AtSaturation   *sim.WANResult `json:"at_saturation,omitempty"` // the median run
	// MaxSustainablePerS is the highest open-loop rate that met the
	// criterion (bisection; Probes are its runs).
	MaxSustainablePerS float64      `json:"max_sustainable_per_s"`
	Probes             []ModelProbe `json:"probes,omitempty"`

	// The run at LoadPerS (LoadFraction of saturation, or the given rate).
	LoadPerS    float64        `json:"load_per_s"`
	Sustainable bool           `json:"sustainable"`
	Why         string         `json:"why,omitempty"` // when not sustainable
	AtLoad      *sim.WANResult `json:"at_load"`
	RealS       float64        `json:"real_s"` // wall time this point took
}

// ModelProbe is one run of the saturation search.
type ModelProbe struct {
	OfferedPerS   float64 `json:"offered_per_s"`
	CommittedPerS float64 `json:"committed_per_s"`
	P99Ms         float64 `json:"p99_ms"`
	Sustainable   bool    `json:"sustainable"`
	Why           string  `json:"why,omitempty"`
}

// Model runs the prediction for every validator count.
func Model(o ModelOptions) (*ModelResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res := &ModelResult{Options: o, Network: o.networkText(), Criterion: criterionText(o.P99MaxMs, o.ClosedK)}
	res.Costs, res.CostsSource = o.costs()
	if o.Sites != nil {
		res.SiteSet = o.Sites.Name
	}
	for _, n := range o.Validators {
		p, err := o.point(n, res.Costs)
		if err != nil {
			return res, fmt.Errorf("model n=%d: %w", n, err)
		}
		res.Points = append(res.Points, *p)
	}
	res.TookS = time.Since(t0).Seconds()
	return res, nil
}

func (o *ModelOptions) costs() (sim.WANCosts, string) {
	switch {
	case o.Costs != nil:
		return *o.Costs, "given costs file"
	case o.Calibration != nil:
		return CostsFromCalibration(o.Calibration), fmt.Sprintf("reference costs scaled to the calibration (%.0f batch sigs/s per core, fsync p50 %.2f ms)",
			o.Calibration.VerifyBatchPerCorePerS, o.Calibration.FsyncP50Ms)
	}
	return ReferenceCosts(), "reference machine (2-core AMD EPYC VM of results/), built in"
}

func (o *ModelOptions) networkText() string {
	s := fmt.Sprintf("uniform RTT %g ms", o.RTTMs)
	if o.Sites != nil {
		s = fmt.Sprintf("site set %s (%d sites, validators round-robin)", o.Sites.Name, len(o.Sites.Sites))
	}
	if o.RTTScale != 1 {
		s += fmt.Sprintf(", every RTT × %g", o.RTTScale)
	}
	if o.JitterMs > 0 {
		s += fmt.Sprintf(", jitter ±%g ms", o.JitterMs)
	}
	bw := func(v float64) string {
		if v == 0 {
			return "unlimited"
		}
		return fmt.Sprintf("%g Mbit/s", v)
	}
	s += ", links " + bw(o.BandwidthMbit) + " per direction, uplinks " + bw(o.UplinkMbit)
	if o.TCPWindowKiB > 0 {
		s += fmt.Sprintf(", TCP window %g KiB", o.TCPWindowKiB)
	}
	return s
}

func criterionText(p99MaxMs float64, closedK int) string {
	return fmt.Sprintf("saturation: the committed rate of a closed loop with %d in flight, as bench wan measures it; max sustainable: the highest open-loop rate (bisection to within %.0f%%) with ≥ 99%% of the offered transactions committed by the end of the run, p99 ≤ %g ms, and the last quarter's mean latency ≤ 1.25 × the first quarter's + 50 ms (no growing backlog)",
		closedK, modelPrecision*100, p99MaxMs)
}

// cores is what one validator has at n validators.
func (o *ModelOptions) cores(n int) float64 {
	if o.MachineCores > 0 {
		return o.MachineCores / float64(n)
	}
	return o.CoresPerValidator
}

func (o *ModelOptions) rttMatrix(n int) [][]float64 {
	if o.Sites != nil {
		return o.Sites.ValidatorRTTMs(n, o.RTTScale)
	}
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			if i != j {
				m[i][j] = o.RTTMs * o.RTTScale
			}
		}
	}
	return m
}

// wanOptions is one simulator run of n validators at rate, or with closedK
// in flight.
func (o *ModelOptions) wanOptions(n int, costs sim.WANCosts, rate float64, closedK int) sim.WANOptions {
	w := sim.DefaultWANOptions(n)
	w.RTTMs = o.rttMatrix(n)
	w.JitterMs = o.JitterMs
	w.LinkBitsPerS, w.UplinkBitsPerS = o.BandwidthMbit*1e6, o.UplinkMbit*1e6
	w.TCPWindowBytes = o.TCPWindowKiB * 1024
	w.CoresPerValidator = o.cores(n)
	if o.SharedCPU {
		w.SharedCores = o.MachineCores
	}
	w.Costs = costs
	w.BlockTxMax, w.BlockDelayMs = o.BlockTxMax, o.BlockDelayMs
	w.ViewTimeoutTicks = int(math.Ceil(o.ViewTimeoutMs / w.TickMs))
	w.ViewTimeoutTicksMax = max(w.ViewTimeoutTicksMax, w.ViewTimeoutTicks)
	w.OfferedPerS, w.ClosedK = rate, closedK
	w.DurationMs, w.WarmupMs, w.TailMs = o.DurationS*1000, o.WarmupS*1000, o.P99MaxMs
	w.Seed = o.Seed
	if closedK > 0 {
		// A saturated closed loop makes few, full blocks: twice the time
		// (bench wan's closed-loop rounds are 20 s) to count enough of them.
		w.DurationMs, w.WarmupMs = 2*w.DurationMs, 2*w.WarmupMs
		return w
	}
	// A backlog past what the p99 bound allows already decides the run.
	backlogMax := rate * (2*o.P99MaxMs/1000 + 1)
	w.StopWhen = func(p *sim.WANProgress) bool {
		return p.NowMs > w.WarmupMs && float64(p.OfferedTxs-p.AnnouncedTx) > backlogMax
	}
	return w
}

// point predicts one validator count.
func (o *ModelOptions) point(n int, costs sim.WANCosts) (*ModelPoint, error) {
	t0 := time.Now()
	p := &ModelPoint{Validators: n, CoresPerValidator: o.cores(n)}
	p.MedianRTTMs, p.QuorumRTTMs = rttFigures(o.rttMatrix(n))
	p.LoadPerS = o.RatePerS
	if o.RatePerS == 0 {
		if err := o.saturation(p, costs); err != nil {
			return nil, err
		}
		if !o.NoSearch {
			if err := o.bisect(p, costs); err != nil {
				return nil, err
			}
		}
		p.LoadPerS = math.Round(o.LoadFraction * p.SaturationPerS)
	}
	if p.LoadPerS > 0 {
		r, err := runChecked(o.wanOptions(n, costs, p.LoadPerS, 0))
		if err != nil {
			return nil, err
		}
		p.AtLoad = r
		p.Sustainable, p.Why = sustainable(r, o.P99MaxMs)
		if o.RatePerS > 0 {
			p.BoundBy = boundBy(r, o.BlockTxMax)
		}
	}
	p.RealS = time.Since(t0).Seconds()
	o.Logf("n=%d: saturation %.0f tx/s (%s), max sustainable %.0f tx/s, at %.0f tx/s p50 %.0f ms p99 %.0f ms (%.1f s)",
		n, p.SaturationPerS, p.BoundBy, p.MaxSustainablePerS, p.LoadPerS, pick(p.AtLoad, func(r *sim.WANResult) float64 { return r.P50Ms }),
		pick(p.AtLoad, func(r *sim.WANResult) float64 { return r.P99Ms }), p.RealS)
	return p, nil
}

func pick(r *sim.WANResult, f func(*sim.WANResult) float64) float64 {
	if r == nil {
		return 0
	}
	return f(r)
}

// saturation runs the closed loop with SatSeeds seeds and keeps the median.
func (o *ModelOptions) saturation(p *ModelPoint, costs sim.WANCosts) error {
	var runs []*sim.WANResult
	for k := range o.SatSeeds {
		w := o.wanOptions(p.Validators, costs, 0, o.ClosedK)
		w.Seed = o.Seed + int64(k)
		r, err := runChecked(w)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].SteadyPerS < runs[j].SteadyPerS })
	med := runs[len(runs)/2]
	p.AtSaturation, p.SaturationPerS = med, med.SteadyPerS
	p.SaturationMin, p.SaturationMax = runs[0].SteadyPerS, runs[len(runs)-1].SteadyPerS
	p.BoundBy = boundBy(med, o.BlockTxMax)
	return nil
}

// runChecked runs the simulator; a violation is a bug in it, never a
// prediction.
func runChecked(w sim.WANOptions) (*sim.WANResult, error) {
	r, err := sim.RunWAN(w)
	if err != nil {
		return nil, err
	}
	if r.Violation != "" {
		return nil, fmt.Errorf("the simulator found a violation (a bug, not a prediction): %s", r.Violation)
	}
	return r, nil
}

// bisect searches the offered rate for the highest sustainable one,
// starting just under the closed loop's saturation.
func (o *ModelOptions) bisect(p *ModelPoint, costs sim.WANCosts) error {
	n := p.Validators
	rate := 0.97 * p.SaturationPerS
	if rate < 1 {
		rate = o.capacityEstimate(n, costs)
	}
	lo, hi := 0.0, math.Inf(1)
	for range modelProbesMax {
		r, err := runChecked(o.wanOptions(n, costs, rate, 0))
		if err != nil {
			return err
		}
		ok, why := sustainable(r, o.P99MaxMs)
		p.Probes = append(p.Probes, ModelProbe{OfferedPerS: rate, CommittedPerS: r.CommittedPerS, P99Ms: r.P99Ms, Sustainable: ok, Why: why})
		if ok {
			lo = rate
		} else {
			hi = rate
		}
		switch {
		case math.IsInf(hi, 1):
			rate *= 1.2
		case lo == 0:
			rate /= 1.2
		case (hi-lo)/hi <= modelPrecision:
			rate = 0
		default:
			rate = (lo + hi) / 2
		}
		if rate == 0 || (lo == 0 && rate < 1) {
			break
		}
	}
	p.MaxSustainablePerS = lo
	return nil
}

// sustainable is the saturation criterion (criterionText).
func sustainable(r *sim.WANResult, p99MaxMs float64) (bool, string) {
	switch {
	case r.Offered == 0:
		return false, "nothing was offered in the measured window"
	case r.CommitRatio < 0.99:
		return false, fmt.Sprintf("committed %.1f%% of the offered", 100*r.CommitRatio)
	case r.P99Ms > p99MaxMs:
		return false, fmt.Sprintf("p99 %.0f ms over %g ms", r.P99Ms, p99MaxMs)
	case r.LateMeanMs > 1.25*r.EarlyMeanMs+50:
		return false, fmt.Sprintf("latency grew from %.0f to %.0f ms over the run (a backlog)", r.EarlyMeanMs, r.LateMeanMs)
	}
	return true, ""
}

// boundBy names the resource that bounds a run: the cores or the execution
// goroutine when 80% busy or more, the network when leaders spent half the
// run or more getting proposals onto the wire (on their links or uplinks:
// that time is on every view's critical path, so it is the largest part of
// the view time). When none does, the view time is the bound: with full
// blocks the block limit per view (a latency-bound pipeline), else the
// consensus pipeline's latency; the busiest resource is named beside it.
func boundBy(r *sim.WANResult, blockTxMax int) string {
	network := "link bandwidth"
	if r.UplinkUtilMax > 0 {
		network = "uplink bandwidth"
	}
	// The execution goroutine is a bound of its own only while the cores
	// are not all busy (below one core, it is the cores).
	exec := r.ExecLaneUtilMax
	if r.CPUUtilMax >= 0.9 {
		exec = 0
	}
	cands := []struct {
		name      string
		util, min float64
	}{
		{"CPU", r.CPUUtilMax, 0.8},
		{"CPU: the execution goroutine", exec, 0.8},
		{network, math.Max(r.ProposalSendShare, math.Max(r.LinkUtilMax, r.UplinkUtilMax)), 0.5},
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.util/c.min > best.util/best.min {
			best = c
		}
	}
	fill := r.TxsPerBlock / float64(blockTxMax)
	busiest := fmt.Sprintf("%s %.0f%%", best.name, 100*best.util)
	switch {
	case best.util >= best.min:
		return fmt.Sprintf("%s (%.0f%%)", best.name, 100*best.util)
	case fill >= 0.9:
		return fmt.Sprintf("block limit: tx max per view, the view time bounds it (blocks %.0f%% full; busiest: %s)", 100*fill, busiest)
	}
	return fmt.Sprintf("consensus pipeline: view latency (busiest: %s)", busiest)
}

// capacityEstimate is a first guess of saturation, the lowest of the CPU,
// block-per-view and bandwidth bounds, for the search to start from.
func (o *ModelOptions) capacityEstimate(n int, c sim.WANCosts) float64 {
	nf := float64(n)
	cores := o.cores(n)
	if o.SharedCPU {
		cores = o.MachineCores / nf
	}
	perTxUs := c.VerifyTxUs + (c.ClientTxUs+(nf-1)*c.GossipTxUs)/nf + c.ProposalTxUs + c.ExecTxUs + c.BackgroundTxUs
	cpu := math.Max(cores-c.BaseCores, 0.01) / (perTxUs / 1e6)
	cpu = math.Min(cpu, 1e6/(c.ExecTxUs+1e-3))
	_, quorumRTT := rttFigures(o.rttMatrix(n))
	viewMs := o.BlockDelayMs + quorumRTT + 4*c.FsyncMs
	pipeline := float64(o.BlockTxMax) / (viewMs / 1000)
	est := math.Min(cpu, pipeline)
	if o.BandwidthMbit > 0 {
		txBits := float64(sim.WANTxBytesDefault+2) * 8 * sim.WANCompressRatioDefault
		est = math.Min(est, o.BandwidthMbit*1e6/txBits)
	}
	if o.UplinkMbit > 0 {
		txBits := float64(sim.WANTxBytesDefault+2) * 8 * sim.WANCompressRatioDefault
		est = math.Min(est, o.UplinkMbit*1e6/(txBits*(nf-1)))
	}
	return math.Max(est, 10)
}

// rttFigures are the median round trip over pairs, and the median over
// validators of the round trip to the peer it needs last for a quorum (its
// (q−1)-th nearest, q = n − f).
func rttFigures(m [][]float64) (median, quorum float64) {
	n := len(m)
	var all, perNode []float64
	q := n - (n-1)/3
	for i := range m {
		var row []float64
		for j := range m[i] {
			if i != j {
				row = append(row, m[i][j])
				if j > i {
					all = append(all, m[i][j])
				}
			}
		}
		sort.Float64s(row)
		if q-2 >= 0 && q-2 < len(row) {
			perNode = append(perNode, row[q-2])
		}
	}
	return medianOf(all), medianOf(perNode)
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
