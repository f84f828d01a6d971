package sim

import (
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"settle/consensus/cluster"
	"settle/consensus/transport"
	"settle/engine/devnet"
)

// uniformRTT is an n × n matrix of one round trip.
func uniformRTT(n int, rttMs float64) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			if i != j {
				m[i][j] = rttMs
			}
		}
	}
	return m
}

// freeCosts are costs that take no time: latency is the network's and the
// product's timers alone.
func freeCosts() WANCosts { return WANCosts{DiskBytesPerS: 1e12} }

// someCosts are the order of the reference machine's.
func someCosts() WANCosts {
	return WANCosts{VerifyTxUs: 18, SigUs: 37, ClientTxUs: 8, GossipTxUs: 4, ProposalTxUs: 2, ExecTxUs: 14,
		BackgroundTxUs: 6, FrameUs: 15, BlockDriverUs: 300, BlockExecUs: 1200, FsyncMs: 0.34, DiskBytesPerS: 300e6,
		CommitBytesPerTx: 1260, BaseCores: 0.15}
}

// TestWANDefaultsAreTheProducts: the WAN mode's timers and sizes are the
// cluster driver's and the transport's, so that a change there shows here.
func TestWANDefaultsAreTheProducts(t *testing.T) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"tick", WANTickMsDefault, ms(cluster.TickPeriodDefault)},
		{"view timeout ticks", WANViewTimeoutTicksDefault, cluster.ViewTimeoutTicksDefault},
		{"view timeout ticks max", WANViewTimeoutTicksMaxDef, cluster.ViewTimeoutTicksMaxDefault},
		{"gossip interval", WANGossipIntervalMsDefault, ms(cluster.GossipIntervalDefault)},
		{"gossip frame txs", WANGossipFrameTxMaxDefault, cluster.GossipFrameTxMaxDefault},
		{"empty block delay", WANEmptyBlockDelayMsDefault, ms(cluster.EmptyBlockDelayDefault)},
		{"compress above", WANCompressMinBytesDefault, transport.CompressMinBytesDefault},
		// A dev-chain payment without memo: 109 + chain id + 96 (docs/protocol.md §2).
		{"payment bytes", WANTxBytesDefault, float64(109 + len(devnet.ChainID) + 96)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: the WAN mode has %g, the product %g", tc.name, tc.got, tc.want)
		}
	}
}

func TestWANLinkArithmetic(t *testing.T) {
	for _, tc := range []struct {
		name          string
		bitsPerS      float64
		rttMs         float64
		windowBytes   float64
		bytes         [2]float64 // two messages sent at once on one link
		wantArrivalUs [2]float64
	}{
		// 100 Mbit/s = 12.5 bytes/µs: 125,000 bytes take 10 ms, the second
		// waits for the first (FIFO), then each crosses half the round trip.
		{"bandwidth and queueing", 100e6, 20, 0, [2]float64{125_000, 12_500}, [2]float64{10_000 + 10_000, 11_000 + 10_000}},
		{"unlimited: propagation only", 0, 228, 0, [2]float64{1e6, 1e6}, [2]float64{114_000, 114_000}},
		{"no delay, no cap: at once", 0, 0, 0, [2]float64{1e6, 1}, [2]float64{0, 0}},
		// A 64 KiB window per 100 ms round trip caps a gigabit link at 0.655
		// bytes/µs (5.2 Mbit/s): ten windows take a second; an empty message
		// right behind arrives with it.
		{"TCP window", 1e9, 100, 65536, [2]float64{655_360, 0}, [2]float64{1e6 + 50_000, 1e6 + 50_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultWANOptions(2)
			o.RTTMs, o.LinkBitsPerS, o.TCPWindowBytes = uniformRTT(2, tc.rttMs), tc.bitsPerS, tc.windowBytes
			clock := &wanClock{}
			net := newWANNet(clock, rand.New(rand.NewSource(1)), &o)
			var got [2]float64
			for k, b := range tc.bytes {
				net.sendTimed(0, []int{1}, b, classConsensus, func(_ int, atUs float64) { got[k] = atUs }, nil)
			}
			for k := range got {
				if math.Abs(got[k]-tc.wantArrivalUs[k]) > 1e-6 {
					t.Errorf("message %d arrives at %.3f µs, want %.3f", k, got[k], tc.wantArrivalUs[k])
				}
			}
		})
	}
}

func TestWANUplinkSharing(t *testing.T) {
	// A 100 Mbit/s uplink (12.5 bytes/µs): a broadcast of 12,500 bytes to 4
	// peers is 50,000 bytes, shared fairly: every copy leaves at 4 ms. A gossip
	// frame sent at the same time waits for the consensus frames.
	o := DefaultWANOptions(5)
	o.UplinkBitsPerS = 100e6
	clock := &wanClock{}
	net := newWANNet(clock, rand.New(rand.NewSource(1)), &o)
	arrivals := map[string][]float64{}
	record := func(kind string) func(int, float64) {
		return func(_ int, atUs float64) { arrivals[kind] = append(arrivals[kind], atUs) }
	}
	net.sendTimed(0, []int{1, 2, 3, 4}, 12_500, classConsensus, record("proposal"), nil)
	net.sendTimed(0, []int{1, 2, 3, 4}, 1_250, classGossip, record("gossip"), nil)
	clock.runUntil(1e6, nil)
	for _, at := range arrivals["proposal"] {
		if math.Abs(at-4000) > 1e-3 {
			t.Errorf("proposal copy arrives at %.3f µs, want 4000 (fair share of the uplink)", at)
		}
	}
	for _, at := range arrivals["gossip"] {
		if math.Abs(at-4400) > 1e-3 {
			t.Errorf("gossip copy arrives at %.3f µs, want 4400 (after the consensus frames)", at)
		}
	}
	if len(arrivals["proposal"]) != 4 || len(arrivals["gossip"]) != 4 {
		t.Fatalf("arrivals %v", arrivals)
	}
}

func TestShareCores(t *testing.T) {
	for _, tc := range []struct {
		cores float64
		caps  []float64
		want  []float64
	}{
		{4, []float64{1, 4, 4}, []float64{1, 1.5, 1.5}},
		{0.5, []float64{0.5, 0.5}, []float64{0.25, 0.25}},
		{8, []float64{1, 1}, []float64{1, 1}},
	} {
		var lanes []*cpuLane
		for _, c := range tc.caps {
			lanes = append(lanes, &cpuLane{capCores: c})
		}
		in := append([]*cpuLane(nil), lanes...)
		shareCores(in, tc.cores)
		for i, l := range lanes {
			if math.Abs(l.rate-tc.want[i]) > 1e-9 {
				t.Errorf("cores %g caps %v: lane %d gets %g, want %g", tc.cores, tc.caps, i, l.rate, tc.want[i])
			}
		}
	}
}

func TestCPULaneQueues(t *testing.T) {
	// One core, two lanes: a 100 µs task on each at once share the core
	// (both end at 200 µs); a third task queued behind the first runs alone
	// after it, then waits 50 µs blocked before its step runs.
	clock := &wanClock{}
	h := newCPUHost(clock, 1)
	a, b := h.newLane(0), h.newLane(0)
	var ends []float64
	done := func() []laneStep { ends = append(ends, clock.nowUs); return nil }
	a.submit(&cpuTask{phases: []cpuPhase{{workUs: 100}}, run: done}, false)
	b.submit(&cpuTask{phases: []cpuPhase{{workUs: 100}}, run: done}, false)
	a.submit(&cpuTask{phases: []cpuPhase{{workUs: 100}}, run: func() []laneStep {
		return []laneStep{{waitUs: 50, fn: func() { ends = append(ends, clock.nowUs) }}}
	}}, false)
	clock.runUntil(1e6, nil)
	want := []float64{200, 200, 300 + 50}
	if len(ends) != len(want) {
		t.Fatalf("ends %v, want %v", ends, want)
	}
	for i := range want {
		if math.Abs(ends[i]-want[i]) > 1e-6 {
			t.Errorf("task %d ends at %g µs, want %g", i, ends[i], want[i])
		}
	}
}

// TestWANCommitLatencyIsAFewRoundTrips: with nothing but delays (no CPU,
// free disk, unlimited links), a transaction reaches the leader in half a
// round trip (gossip), is proposed within a view or two (T = block delay + R;
// a leader that found nothing ready proposes an empty block when its block
// delay ends, as cluster.startAssembly does, so a transaction arriving during
// that wait goes in the next view), and commits when the block after its own
// is certified: a round trip R to certify its block, then a view T for the
// next. So its latency lies between 1.5R + T and 1.5R + 3T, plus the
// client's and the gossip's windows (5 ms each) and an admission slot.
func TestWANCommitLatencyIsAFewRoundTrips(t *testing.T) {
	for _, rttMs := range []float64{0, 12, 100, 228} {
		o := DefaultWANOptions(4)
		o.RTTMs, o.Costs, o.CoresPerValidator = uniformRTT(4, rttMs), freeCosts(), 4
		o.OfferedPerS, o.DurationMs, o.WarmupMs, o.TailMs = 400, 6000, 1000, 1500
		r, err := RunWAN(o)
		if err != nil {
			t.Fatal(err)
		}
		viewMs := o.BlockDelayMs + rttMs
		t.Logf("RTT %g ms: p50 %.1f ms, p99 %.1f ms, %.1f blocks/s", rttMs, r.P50Ms, r.P99Ms, r.BlocksPerS)
		lo, hi := 1.5*rttMs+viewMs-1, 1.5*rttMs+3*viewMs+o.ClientBatchMs+o.GossipIntervalMs+2
		if r.CommitRatio < 0.999 || r.P50Ms < lo || r.P99Ms > hi || r.ViewChanges != 0 || r.Violation != "" {
			t.Errorf("RTT %g ms: commit ratio %.3f, p50 %.1f ms, p99 %.1f ms, %d view changes, violation %q; want p50 ≥ %.1f, p99 ≤ %.1f, none",
				rttMs, r.CommitRatio, r.P50Ms, r.P99Ms, r.ViewChanges, r.Violation, lo, hi)
		}
	}
}

// TestWANBandwidthBoundsThroughput: with the CPU free and the links capped,
// a saturated closed loop commits what the leader's links carry; halving
// the bandwidth lowers it.
func TestWANBandwidthBoundsThroughput(t *testing.T) {
	rate := func(mbit float64) *WANResult {
		o := DefaultWANOptions(4)
		o.RTTMs, o.Costs, o.CoresPerValidator = uniformRTT(4, 50), freeCosts(), 4
		o.LinkBitsPerS, o.ClosedK = mbit*1e6, 20_000
		o.DurationMs, o.WarmupMs, o.TailMs = 8000, 2000, 0
		r, err := RunWAN(o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Violation != "" {
			t.Fatal(r.Violation)
		}
		return r
	}
	full, half := rate(20), rate(10)
	t.Logf("20 Mbit/s: %.0f tx/s, proposals on the wire %.0f%% of the time; 10 Mbit/s: %.0f tx/s, %.0f%%",
		full.SteadyPerS, 100*full.ProposalSendShare, half.SteadyPerS, 100*half.ProposalSendShare)
	if !(half.SteadyPerS < 0.8*full.SteadyPerS) || full.ProposalSendShare < 0.5 {
		t.Errorf("20 Mbit/s: %.0f tx/s (proposals on the wire %.0f%% of the time); 10 Mbit/s: %.0f tx/s: want the halved links clearly slower",
			full.SteadyPerS, 100*full.ProposalSendShare, half.SteadyPerS)
	}
}

// TestWANCPUBoundsThroughput: with unlimited links, halving the cores
// roughly halves a CPU-bound cluster's saturation.
func TestWANCPUBoundsThroughput(t *testing.T) {
	rate := func(cores float64) float64 {
		o := DefaultWANOptions(4)
		o.Costs, o.CoresPerValidator, o.ClosedK = someCosts(), cores, 20_000
		o.DurationMs, o.WarmupMs, o.TailMs = 8000, 3000, 0
		r, err := RunWAN(o)
		if err != nil {
			t.Fatal(err)
		}
		return r.SteadyPerS
	}
	two, one := rate(2), rate(1)
	t.Logf("2 cores: %.0f tx/s, 1 core: %.0f tx/s", two, one)
	if ratio := one / two; ratio < 0.35 || ratio > 0.65 {
		t.Errorf("2 cores: %.0f tx/s, 1 core: %.0f tx/s (ratio %.2f), want about half", two, one, ratio)
	}
}

func TestWANDeterministic(t *testing.T) {
	o := DefaultWANOptions(7)
	o.RTTMs, o.JitterMs, o.Costs, o.CoresPerValidator = uniformRTT(7, 40), 5, someCosts(), 2
	o.LinkBitsPerS, o.OfferedPerS, o.DurationMs, o.WarmupMs, o.TailMs = 100e6, 2000, 4000, 1000, 1000
	a, err := RunWAN(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RunWAN(o)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different results:\n%+v\n%+v", a, b)
	}
	if a.Committed == 0 || a.Violation != "" {
		t.Errorf("nothing committed or a violation: %+v", a)
	}
	o.Seed = 2
	if c, _ := RunWAN(o); reflect.DeepEqual(a, c) {
		t.Error("another seed (jitter, timer phases) gave the very same result")
	}
}

func TestWANSharedHost(t *testing.T) {
	// Four validators sharing 2 cores commit about what four with half a
	// core each do (both CPU-bound).
	run := func(shared bool) float64 {
		o := DefaultWANOptions(4)
		o.Costs, o.ClosedK = someCosts(), 20_000
		o.CoresPerValidator = 0.5
		if shared {
			o.SharedCores = 2
		}
		o.DurationMs, o.WarmupMs, o.TailMs = 8000, 3000, 0
		r, err := RunWAN(o)
		if err != nil {
			t.Fatal(err)
		}
		return r.SteadyPerS
	}
	fixed, shared := run(false), run(true)
	if ratio := shared / fixed; ratio < 0.8 || ratio > 1.3 {
		t.Errorf("fixed half cores: %.0f tx/s, shared 2 cores: %.0f tx/s: want them close", fixed, shared)
	}
}

func TestWANOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *WANOptions)
		want   string
	}{
		{"one validator", func(o *WANOptions) { o.Validators = 0 }, "validators must be"},
		{"matrix size", func(o *WANOptions) { o.RTTMs = uniformRTT(3, 10) }, "3 rows for 4 validators"},
		{"asymmetric", func(o *WANOptions) { o.RTTMs[0][1] = 7 }, "not symmetric"},
		{"self", func(o *WANOptions) { o.RTTMs[2][2] = 1 }, "to itself"},
		{"negative RTT", func(o *WANOptions) { o.RTTMs[0][1], o.RTTMs[1][0] = -1, -1 }, "finite number ≥ 0"},
		{"no cores", func(o *WANOptions) { o.CoresPerValidator = 0 }, "cores per validator"},
		{"negative bandwidth", func(o *WANOptions) { o.LinkBitsPerS = -1 }, "must not be negative"},
		{"block too big", func(o *WANOptions) { o.BlockTxMax = 9000 }, "block tx max"},
		{"rate and closed loop", func(o *WANOptions) { o.OfferedPerS, o.ClosedK = 10, 10 }, "not both"},
		{"window too short", func(o *WANOptions) { o.WarmupMs = o.DurationMs }, "shorter than the duration"},
		{"bad compression", func(o *WANOptions) { o.CompressRatio = 1.5 }, "compression ratio"},
		{"negative cost", func(o *WANOptions) { o.Costs.ExecTxUs = -1 }, "exec_tx_us"},
		{"no disk", func(o *WANOptions) { o.Costs.DiskBytesPerS = 0 }, "disk_bytes_per_s"},
		{"timeouts", func(o *WANOptions) { o.ViewTimeoutTicksMax = 1 }, "view timeouts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultWANOptions(4)
			o.Costs = someCosts()
			tc.change(&o)
			_, err := RunWAN(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWANHistogram(t *testing.T) {
	h := newWANHist()
	for i := 1; i <= 100; i++ {
		h.add(float64(i), 1)
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 50}, {0.99, 99}} {
		if got := h.quantile(tc.q); math.Abs(got-tc.want)/tc.want > 0.011 {
			t.Errorf("quantile %g = %g, want %g within a bucket (1%%)", tc.q, got, tc.want)
		}
	}
	if math.Abs(h.mean()-50.5) > 1e-9 {
		t.Errorf("mean %g, want 50.5", h.mean())
	}
}
