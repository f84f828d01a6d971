package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
)

// WAN mode: the real core on every validator, on a virtual clock in
// microseconds, with a network of per-link delays and bandwidths, per-validator
// CPU queues, and a load generator in front, to predict throughput and
// finality of deployments this machine cannot hold (docs/bench.md, "model").
//
// What travels is what the product sends (consensus/cluster): a client's
// batch goes to one validator, which verifies it and gossips it every
// GossipIntervalMs to every other validator directly; each validator
// verifies each signature once; a leader proposes whole transactions
// (payload.go: inline, not digests); votes go to the next leader. Proposals
// carry an 8-byte token in place of their transactions, so that the core
// hashes and stores little, but every size on the wire, on disk and in the
// CPU model is the real one: the token stands for TxBytes + 2 bytes per
// transaction and the batch header, compressed by CompressRatio in frames
// above CompressMinBytes as the transport's S2 does.

// WANCosts are CPU and disk costs per unit of work. CPU costs are
// microseconds of one core.
type WANCosts struct {
	VerifyTxUs       float64 `json:"verify_tx_us"`        // one transaction signature, batch-verified
	SigUs            float64 `json:"sig_us"`              // one consensus signature (block, vote, QC or TC entry), verified singly
	ClientTxUs       float64 `json:"client_tx_us"`        // per tx on the validator a client sent it to, besides verifying
	GossipTxUs       float64 `json:"gossip_tx_us"`        // per tx on every validator it is gossiped to, besides verifying
	ProposalTxUs     float64 `json:"proposal_tx_us"`      // per tx of a proposal: the leader selects, encodes, compresses; a follower decodes
	ExecTxUs         float64 `json:"exec_tx_us"`          // per tx executing and committing a block (one goroutine)
	BackgroundTxUs   float64 `json:"background_tx_us"`    // per committed tx off the critical path (flushes, GC, event streams)
	FrameUs          float64 `json:"frame_us"`            // per frame received or sent on a replica link, and per client request
	BlockDriverUs    float64 `json:"block_driver_us"`     // per block in the consensus driver
	BlockExecUs      float64 `json:"block_exec_us"`       // per block in execution (state root, receipts, the batch)
	FsyncMs          float64 `json:"fsync_ms"`            // one synced write, before anything it covers leaves
	DiskBytesPerS    float64 `json:"disk_bytes_per_s"`    // write throughput of a synced batch
	CommitBytesPerTx float64 `json:"commit_bytes_per_tx"` // bytes a committed tx writes in its block's synced batch
	// BaseCores is CPU a loaded validator uses whatever its rate (the Go
	// runtime's scheduling and GC workers, timers, metrics): not available
	// to the work above.
	BaseCores float64 `json:"base_cores"`
}

// Validate reports the first negative or missing cost.
func (c WANCosts) Validate() error {
	vals := []struct {
		name string
		v    float64
	}{{"verify_tx_us", c.VerifyTxUs}, {"sig_us", c.SigUs}, {"client_tx_us", c.ClientTxUs}, {"gossip_tx_us", c.GossipTxUs},
		{"proposal_tx_us", c.ProposalTxUs}, {"exec_tx_us", c.ExecTxUs}, {"background_tx_us", c.BackgroundTxUs},
		{"frame_us", c.FrameUs}, {"block_driver_us", c.BlockDriverUs}, {"block_exec_us", c.BlockExecUs},
		{"fsync_ms", c.FsyncMs}, {"commit_bytes_per_tx", c.CommitBytesPerTx}, {"base_cores", c.BaseCores}}
	for _, x := range vals {
		if x.v < 0 || math.IsNaN(x.v) || math.IsInf(x.v, 0) {
			return fmt.Errorf("cost %s must be a finite number ≥ 0, got %g", x.name, x.v)
		}
	}
	if !(c.DiskBytesPerS > 0) || math.IsInf(c.DiskBytesPerS, 0) {
		return fmt.Errorf("cost disk_bytes_per_s must be positive, got %g", c.DiskBytesPerS)
	}
	return nil
}

// WANOptions describe one WAN run.
type WANOptions struct {
	Validators int
	// RTTMs[i][j] is the round-trip time between validators i and j:
	// symmetric, zero diagonal. Each direction gets half.
	RTTMs          [][]float64
	JitterMs       float64 // each message's one-way delay ± up to this, uniformly (FIFO kept)
	LinkBitsPerS   float64 // each direction of each validator pair; 0: unlimited
	UplinkBitsPerS float64 // each validator's egress over all its links; 0: unlimited
	TCPWindowBytes float64 // > 0 caps each link at one window per round trip

	CoresPerValidator float64 // cores of each validator's own host
	SharedCores       float64 // > 0: every validator on one host with this many cores instead

	Costs WANCosts

	BlockTxMax          int
	BlockDelayMs        float64 // the assembler waits this long for a full block
	EmptyBlockDelayMs   float64 // an idle leader proposes an empty block after this
	TickMs              float64 // the pacemaker's tick (cluster.TickPeriodDefault)
	ViewTimeoutTicks    int
	ViewTimeoutTicksMax int
	GossipIntervalMs    float64
	ClientBatchMs       float64 // the load generator sends what came due once per window, to each validator
	ClientOneWayMs      float64 // client to validator, and the commit notice back
	TxBytes             int     // one signed transaction's encoding
	CompressRatio       float64 // wire ÷ raw for transaction bytes in compressed frames; 1: no compression
	CompressMinBytes    int     // frames larger than this are compressed

	OfferedPerS float64 // spread evenly over the validators, as loadgen routes by sender
	// ClosedK > 0 replaces the offered rate by a closed loop: ClosedK
	// transactions in flight over all validators (each keeps its share full,
	// topping it up every client batch window), as bench wan measures
	// saturation.
	ClosedK    int
	DurationMs float64 // virtual time simulated
	WarmupMs   float64 // not measured
	TailMs     float64 // transactions offered in the last TailMs are not counted: they had no time to commit
	Seed       int64
	// StopWhen, if set, is polled between events; true ends the run early
	// (the caller has seen enough, say a backlog past its bound).
	StopWhen func(w *WANProgress) bool
}

// WANProgress is what StopWhen sees.
type WANProgress struct {
	NowMs       float64
	OfferedTxs  int64 // so far, all of the run
	AnnouncedTx int64 // committed and announced by a validator so far
}

// Product defaults (consensus/cluster and the bench's four scenario).
const (
	WANTickMsDefault            = 20  // cluster.TickPeriodDefault
	WANViewTimeoutTicksDefault  = 25  // cluster.ViewTimeoutTicksDefault: 500 ms
	WANViewTimeoutTicksMaxDef   = 400 // cluster.ViewTimeoutTicksMaxDefault: 8 s
	WANGossipIntervalMsDefault  = 5   // cluster.GossipIntervalDefault
	WANGossipFrameTxMaxDefault  = 2048
	WANEmptyBlockDelayMsDefault = 100 // cluster.EmptyBlockDelayDefault
	WANClientBatchMsDefault     = 5   // loadgen's default batch window
	// WANTxBytesDefault is a signed payment on the dev chain ("settle-dev",
	// no memo): 109 + 10 + 96 bytes (docs/protocol.md §2).
	WANTxBytesDefault = 215
	// WANCompressRatioDefault is S2 on batches of such payments between
	// 10,000 uniformly drawn accounts: 0.68–0.71 for batches of 20 to 4,096.
	WANCompressRatioDefault    = 0.69
	WANCompressMinBytesDefault = 4096 // transport.CompressMinBytesDefault
)

// DefaultWANOptions are the product's settings on a uniform 0-RTT network
// of n validators; the caller sets the load and the costs.
func DefaultWANOptions(n int) WANOptions {
	rtt := make([][]float64, n)
	for i := range rtt {
		rtt[i] = make([]float64, n)
	}
	return WANOptions{Validators: n, RTTMs: rtt, CoresPerValidator: 1,
		BlockTxMax: 4096, BlockDelayMs: 20, EmptyBlockDelayMs: WANEmptyBlockDelayMsDefault,
		TickMs: WANTickMsDefault, ViewTimeoutTicks: WANViewTimeoutTicksDefault, ViewTimeoutTicksMax: WANViewTimeoutTicksMaxDef,
		GossipIntervalMs: WANGossipIntervalMsDefault, ClientBatchMs: WANClientBatchMsDefault,
		TxBytes: WANTxBytesDefault, CompressRatio: WANCompressRatioDefault, CompressMinBytes: WANCompressMinBytesDefault,
		DurationMs: 10_000, WarmupMs: 2_000, TailMs: 2_000, Seed: 1}
}

// wanValidatorsMax bounds n: a QC of more signers than this makes each run
// slower than the model is meant to be.
const wanValidatorsMax = 256

// Validate reports the first bad option, in a sentence.
func (o *WANOptions) Validate() error {
	n := o.Validators
	switch {
	case n < 1 || n > wanValidatorsMax:
		return fmt.Errorf("wan: validators must be 1 to %d, got %d", wanValidatorsMax, n)
	case len(o.RTTMs) != n:
		return fmt.Errorf("wan: the RTT matrix has %d rows for %d validators", len(o.RTTMs), n)
	case o.JitterMs < 0 || o.LinkBitsPerS < 0 || o.UplinkBitsPerS < 0 || o.TCPWindowBytes < 0:
		return errors.New("wan: jitter, bandwidths and the TCP window must not be negative")
	case o.SharedCores < 0 || (o.SharedCores == 0 && !(o.CoresPerValidator > 0)):
		return fmt.Errorf("wan: cores per validator must be positive, got %g", o.CoresPerValidator)
	case o.BlockTxMax < 1 || o.BlockTxMax > 8192:
		return fmt.Errorf("wan: block tx max must be 1 to 8192, got %d", o.BlockTxMax)
	case !(o.BlockDelayMs > 0) || !(o.TickMs > 0) || !(o.GossipIntervalMs > 0) || !(o.ClientBatchMs > 0):
		return errors.New("wan: the block delay, tick, gossip interval and client batch window must be positive")
	case o.ViewTimeoutTicks < 1 || o.ViewTimeoutTicksMax < o.ViewTimeoutTicks:
		return fmt.Errorf("wan: view timeouts must satisfy 1 ≤ base (%d) ≤ max (%d) ticks", o.ViewTimeoutTicks, o.ViewTimeoutTicksMax)
	case o.TxBytes < 1 || !(o.CompressRatio > 0) || o.CompressRatio > 1:
		return fmt.Errorf("wan: tx bytes must be positive and the compression ratio in (0, 1], got %d and %g", o.TxBytes, o.CompressRatio)
	case o.OfferedPerS < 0 || math.IsInf(o.OfferedPerS, 0) || math.IsNaN(o.OfferedPerS):
		return fmt.Errorf("wan: the offered load must be a rate ≥ 0, got %g", o.OfferedPerS)
	case o.ClosedK < 0 || (o.ClosedK > 0 && o.OfferedPerS > 0):
		return fmt.Errorf("wan: give an offered rate or a closed loop's in-flight count (≥ 0), not both (%g, %d)", o.OfferedPerS, o.ClosedK)
	case !(o.DurationMs > 0) || o.WarmupMs < 0 || o.TailMs < 0 || o.WarmupMs+o.TailMs >= o.DurationMs:
		return fmt.Errorf("wan: warm-up (%g ms) plus tail (%g ms) must be shorter than the duration (%g ms)", o.WarmupMs, o.TailMs, o.DurationMs)
	}
	for i, row := range o.RTTMs {
		if len(row) != n {
			return fmt.Errorf("wan: RTT matrix row %d has %d entries for %d validators", i, len(row), n)
		}
		for j, v := range row {
			switch {
			case i == j && v != 0:
				return fmt.Errorf("wan: RTT[%d][%d] is a validator to itself and must be 0, got %g", i, j, v)
			case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
				return fmt.Errorf("wan: RTT[%d][%d] must be a finite number ≥ 0, got %g", i, j, v)
			case v != o.RTTMs[j][i]:
				return fmt.Errorf("wan: the RTT matrix is not symmetric at [%d][%d]", i, j)
			}
		}
	}
	return o.Costs.Validate()
}

// WANResult is what one run measured, over the window from WarmupMs to
// DurationMs (offered and latency: transactions intended in the window less
// its tail).
type WANResult struct {
	OfferedPerS   float64 `json:"offered_per_s"`
	CommittedPerS float64 `json:"committed_per_s"` // announced in the window ÷ its length
	// SteadyPerS is the rate between the first and the last block announced
	// in the window (the first one's transactions not counted): with few,
	// large blocks (a saturated closed loop) the window's edges would
	// otherwise quantise the rate by a block.
	SteadyPerS  float64 `json:"steady_per_s"`
	Offered     int64   `json:"offered"`   // intended in the window less the tail
	Committed   int64   `json:"committed"` // of those, announced by the end
	CommitRatio float64 `json:"commit_ratio"`

	// Submit→commit latency (the intended send time to the first validator's
	// announcement, as loadgen measures), ms.
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
	// Mean latency of the first and the last quarter of the window: a backlog
	// that grows shows as late ≫ early.
	EarlyMeanMs float64 `json:"early_mean_ms"`
	LateMeanMs  float64 `json:"late_mean_ms"`

	Blocks      int     `json:"blocks"` // committed in the window
	TxsPerBlock float64 `json:"txs_per_block"`
	BlocksPerS  float64 `json:"blocks_per_s"`
	ViewChanges int     `json:"view_changes"` // views some validator timed out in, in the window

	// Utilisation over the window, 0–1.
	CPUUtilMax        float64 `json:"cpu_util_max"`         // the busiest validator's cores
	CPUUtilMean       float64 `json:"cpu_util_mean"`        // over validators
	ExecLaneUtilMax   float64 `json:"exec_lane_util_max"`   // the execution goroutine, busiest validator
	DriverLaneUtilMax float64 `json:"driver_lane_util_max"` // the consensus goroutine (CPU or synced writes), busiest validator
	LinkUtilMax       float64 `json:"link_util_max"`        // the busiest link direction's serialization time
	UplinkUtilMax     float64 `json:"uplink_util_max"`      // the busiest uplink (0 without uplinks)
	// ProposalSendShare is the share of the window leaders spent getting
	// their proposals onto the wire (queueing and serialization until the
	// last byte of the last copy left): near 1, bandwidth bounds throughput,
	// whatever a single link's average use (each leads 1/n of the views).
	ProposalSendShare float64 `json:"proposal_send_share"`
	WireMbitPerS      float64 `json:"wire_mbit_per_s"` // all links together

	EventsRun int    `json:"events_run"`
	Violation string `json:"violation,omitempty"` // a safety or state check failed: a bug, never a prediction
}

// RunWAN runs one WAN simulation.
func RunWAN(o WANOptions) (*WANResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	w := newWANSim(o)
	if err := w.start(); err != nil {
		return nil, err
	}
	w.clock.runUntil(w.warmupUs, w.stopped)
	w.snapshot()
	w.clock.runUntil(w.endUs, w.stopped)
	return w.result(), nil
}

// newWANSim builds the validators, their hosts and the network.
func newWANSim(o WANOptions) *wanSim {
	rng := rand.New(rand.NewSource(o.Seed))
	w := &wanSim{o: o, rng: rng, clock: &wanClock{}, payloads: map[uint64]*wanPayload{},
		commits: map[uint64][32]byte{}, states: map[uint64][32]byte{}, announced: map[uint64]bool{},
		timeoutViews: map[uint64]bool{}, hist: newWANHist()}
	w.net = newWANNet(w.clock, rng, &o)
	w.warmupUs, w.endUs = o.WarmupMs*1000, o.DurationMs*1000
	w.countToUs = w.endUs - o.TailMs*1000
	w.slotUs = gossipSlotUs(o.Validators)
	var shared *cpuHost
	if o.SharedCores > 0 {
		shared = newCPUHost(w.clock, math.Max(o.SharedCores-float64(o.Validators)*o.Costs.BaseCores, 1e-3))
	}
	for i := range o.Validators {
		host := shared
		if host == nil {
			host = newCPUHost(w.clock, math.Max(o.CoresPerValidator-o.Costs.BaseCores, 1e-3))
		}
		w.nodes = append(w.nodes, newWANNode(w, i, host))
	}
	return w
}
