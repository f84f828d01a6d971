package sim

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"

	"settle/consensus/hotstuff"
	"settle/engine/txn"
)

// wanSim is one WAN run: the validators, the network, the load and what is
// measured.
type wanSim struct {
	o     WANOptions
	rng   *rand.Rand
	clock *wanClock
	net   *wanNet
	nodes []*wanNode

	groups   []wanGroup
	payloads map[uint64]*wanPayload // proposal token → what it stands for
	nextTok  uint64

	warmupUs, endUs, countToUs float64
	slotUs                     float64 // gossipSlotUs(validators)

	commits   map[uint64][32]byte // height → block committed (safety check)
	states    map[uint64][32]byte // height → state hash after it
	announced map[uint64]bool     // heights some validator announced
	violation error

	timeoutViews map[uint64]bool // views some validator timed out in, after warm-up
	hist         *wanHist
	offered      int64 // intended in the counted window
	committed    int64 // of those, announced
	offeredAll   int64
	announcedAll int64
	winTxs       int64 // announced within [warm-up, end]
	winBlocks    int
	// The first and last announcements in the window, and the transactions
	// announced after the first (SteadyPerS).
	firstUs, lastUs float64
	afterFirstTxs   int64
	proposalSendUs  float64 // time leaders spent getting proposals onto the wire, in the window
	early, late     struct{ sumMs, n float64 }

	base wanSnapshot // counters at the end of the warm-up
}

// wanGroup is the transactions one client batch brought to one validator:
// they travel together (gossip frames hold whole groups) and blocks take
// each group's transactions in order, so what a chain carries of a group is a
// prefix [0, to).
type wanGroup struct {
	origin         int
	count          int32
	committedTo    int32   // [0, committedTo) are committed
	startUs, endUs float64 // intended send times of the first and the last
	counted        bool    // intended inside the measured window
}

// wanRange is the transactions [from, to) of group g.
type wanRange struct{ g, from, to int32 }

// wanPayload is what a proposal's token stands for.
type wanPayload struct {
	ranges []wanRange
	txs    int
}

// wanTokenBytes is the size of the token a proposal carries instead of its
// transactions.
const wanTokenBytes = 8

// txnBatchHeaderBytes is the fixed part of a payload and of a gossip frame
// (magic and count).
const txnBatchHeaderBytes = float64(txn.BatchHeader)

// tlsRecordBytes is TLS 1.3's per-record overhead with AES-GCM (header,
// content type, tag); records carry at most 16 KiB.
const (
	tlsRecordBytes    = 22
	tlsRecordDataMax  = 16384
	frameHeaderBytes  = 5 // transport frame: u32 length, flag
	frameKindBytes    = 1 // cluster frame kind: consensus or gossip
	wanStopCheckEvery = 1024
)

func (w *wanSim) token(p *wanPayload) []byte {
	w.nextTok++
	w.payloads[w.nextTok] = p
	return binary.BigEndian.AppendUint64(nil, w.nextTok)
}

// payloadOf is the payload a block's token stands for (nil: an empty block).
func (w *wanSim) payloadOf(b *hotstuff.Block) *wanPayload {
	if len(b.Payload) != wanTokenBytes {
		return nil
	}
	return w.payloads[binary.BigEndian.Uint64(b.Payload)]
}

// txWireBytes is one transaction in a batch: its u16 length and its bytes.
func (w *wanSim) txWireBytes() float64 { return float64(w.o.TxBytes + 2) }

// payloadBytes is the real size of a block's payload (txn.EncodeBatch).
func (w *wanSim) payloadBytes(p *wanPayload) float64 {
	if p == nil || p.txs == 0 {
		return 0
	}
	return txnBatchHeaderBytes + float64(p.txs)*w.txWireBytes()
}

// messageBytes is a consensus message's real encoding (raw) and how much of
// it is transaction bytes (which compression shrinks), given its encoding
// with tokens.
func (w *wanSim) messageBytes(m hotstuff.Message, encLen int) (raw, txBytes float64) {
	raw = float64(encLen)
	var blocks []*hotstuff.Block
	switch m := m.(type) {
	case *hotstuff.Proposal:
		blocks = []*hotstuff.Block{m.Block}
	case *hotstuff.SyncResponse:
		blocks = m.Blocks
	}
	for _, b := range blocks {
		if p := w.payloadOf(b); p != nil {
			raw += w.payloadBytes(p) - float64(len(b.Payload))
			txBytes += float64(p.txs) * w.txWireBytes()
		}
	}
	return raw, txBytes
}

// wireBytes is what a frame of raw bytes (txBytes of them transactions)
// costs on a link: the frame kind and header, compression above the
// threshold, and TLS records.
func (w *wanSim) wireBytes(raw, txBytes float64) float64 {
	b := frameKindBytes + raw
	if b > float64(w.o.CompressMinBytes) {
		b -= txBytes * (1 - w.o.CompressRatio)
	}
	b += frameHeaderBytes
	return b + tlsRecordBytes*math.Ceil(b/tlsRecordDataMax)
}

// blockStoredBytes is what persisting a block writes (its whole encoding).
func (w *wanSim) blockStoredBytes(b *hotstuff.Block) float64 {
	raw, _ := w.messageBytes(&hotstuff.Proposal{Block: b}, len(hotstuff.EncodeBlock(b)))
	return raw
}

func (w *wanSim) violate(err error) {
	if w.violation == nil {
		w.violation = err
	}
}

func (w *wanSim) stopped() bool {
	if w.violation != nil {
		return true
	}
	if w.o.StopWhen == nil || w.clock.ran%wanStopCheckEvery != 0 {
		return false
	}
	return w.o.StopWhen(&WANProgress{NowMs: w.clock.nowUs / 1000, OfferedTxs: w.offeredAll, AnnouncedTx: w.announcedAll})
}

// start boots every validator, the load generator and the gossip timers.
func (w *wanSim) start() error {
	keys := make([][]byte, len(w.nodes))
	for i, n := range w.nodes {
		keys[i] = n.signer.Key[:]
	}
	for _, n := range w.nodes {
		if err := n.boot(keys); err != nil {
			return err
		}
	}
	batchUs := w.o.ClientBatchMs * 1000
	gossipUs := w.o.GossipIntervalMs * 1000
	tickUs := w.o.TickMs * 1000
	for _, n := range w.nodes {
		n := n
		w.every(w.rng.Float64()*tickUs, tickUs, n.tick)
		w.every(w.rng.Float64()*gossipUs, gossipUs, n.gossipOut)
		if w.o.OfferedPerS > 0 || w.o.ClosedK > 0 {
			w.every(w.rng.Float64()*batchUs, batchUs, n.clientBatch)
		}
	}
	return nil
}

// every runs fn at firstUs and then every periodUs.
func (w *wanSim) every(firstUs, periodUs float64, fn func()) {
	var tick func()
	tick = func() {
		fn()
		w.clock.after(periodUs, tick)
	}
	w.clock.at(firstUs, tick)
}

// newGroup records a client batch sent at nowUs (its transactions were due
// over the window before).
func (w *wanSim) newGroup(origin, count int) int32 {
	batchUs := w.o.ClientBatchMs * 1000
	g := wanGroup{origin: origin, count: int32(count), startUs: w.clock.nowUs - batchUs, endUs: w.clock.nowUs}
	mid := (g.startUs + g.endUs) / 2
	g.counted = mid >= w.warmupUs && mid < w.countToUs
	w.offeredAll += int64(count)
	if g.counted {
		w.offered += int64(count)
	}
	w.groups = append(w.groups, g)
	return int32(len(w.groups) - 1)
}

// committedBlock records that a block committed (first time anywhere): its
// transactions are committed for every later proposal.
func (w *wanSim) committedBlock(p *wanPayload) {
	if p == nil {
		return
	}
	for _, r := range p.ranges {
		g := &w.groups[r.g]
		g.committedTo = max(g.committedTo, r.to)
	}
}

// announce is a validator's commit notice for an executed block: the first
// one for a height is when the load generator sees its transactions commit.
func (w *wanSim) announce(b *hotstuff.Block) {
	if w.announced[b.Height] {
		return
	}
	w.announced[b.Height] = true
	now := w.clock.nowUs + w.o.ClientOneWayMs*1000
	p := w.payloadOf(b)
	inWindow := now >= w.warmupUs && now <= w.endUs
	if inWindow {
		w.winBlocks++
	}
	if p == nil {
		return
	}
	w.announcedAll += int64(p.txs)
	if inWindow {
		w.winTxs += int64(p.txs)
		if w.firstUs == 0 {
			w.firstUs = now
		} else {
			w.afterFirstTxs += int64(p.txs)
		}
		w.lastUs = now
	}
	for _, r := range p.ranges {
		w.nodes[w.groups[r.g].origin].inFlight -= int(r.to - r.from)
		w.recordLatency(r, now)
	}
}

// latencyPiecesMax splits a range's latencies into up to this many samples:
// its transactions were due spread over the client's batch window.
const latencyPiecesMax = 4

func (w *wanSim) recordLatency(r wanRange, atUs float64) {
	g := &w.groups[r.g]
	if !g.counted {
		return
	}
	w.committed += int64(r.to - r.from)
	span := g.endUs - g.startUs
	n := int32(min(latencyPiecesMax, int(r.to-r.from)))
	quarter := (w.countToUs - w.warmupUs) / 4
	mid := (g.startUs + g.endUs) / 2
	for k := int32(0); k < n; k++ {
		from := r.from + (r.to-r.from)*k/n
		to := r.from + (r.to-r.from)*(k+1)/n
		due := g.startUs + span*(float64(from+to)/2)/float64(g.count)
		ms := (atUs - due) / 1000
		weight := float64(to - from)
		w.hist.add(ms, weight)
		switch {
		case mid < w.warmupUs+quarter:
			w.early.sumMs += ms * weight
			w.early.n += weight
		case mid >= w.countToUs-quarter:
			w.late.sumMs += ms * weight
			w.late.n += weight
		}
	}
}

// proposalSent returns the hook that accounts a proposal's time from its
// send to its last byte leaving (queueing and serialization on the leader's
// links or uplink).
func (w *wanSim) proposalSent(startUs float64) func(float64) {
	return func(lastByteUs float64) {
		from, to := math.Max(startUs, w.warmupUs), math.Min(lastByteUs, w.endUs)
		if to > from {
			w.proposalSendUs += to - from
		}
	}
}

// checkCommit holds safety across the validators: one block per height.
func (w *wanSim) checkCommit(n *wanNode, b *hotstuff.Block) {
	h := b.Hash()
	if prev, ok := w.commits[b.Height]; ok && prev != h {
		w.violate(fmt.Errorf("safety: validator %d committed %s at height %d, another committed %x", n.idx, h, b.Height, prev[:4]))
	}
	w.commits[b.Height] = h
}

func (w *wanSim) checkState(n *wanNode, height uint64, state [32]byte) {
	if prev, ok := w.states[height]; ok && prev != state {
		w.violate(fmt.Errorf("state: validator %d has state %x at height %d, another has %x", n.idx, state[:4], height, prev[:4]))
	}
	w.states[height] = state
}

// wanSnapshot holds the counters at the start of the measured window.
type wanSnapshot struct {
	work, execBusy, driverBusy []float64
	linkBusy                   [][]float64
	uplinkBusy                 []float64
	hostUsed                   float64
	bytes                      float64
}

func (w *wanSim) takeSnapshot() wanSnapshot {
	s := wanSnapshot{}
	for _, n := range w.nodes {
		s.work = append(s.work, n.workUs())
		b, _ := n.execLane.stats()
		s.execBusy = append(s.execBusy, b)
		b, _ = n.driver.stats()
		s.driverBusy = append(s.driverBusy, b)
	}
	for _, row := range w.net.links {
		r := make([]float64, len(row))
		for j, l := range row {
			if l != nil {
				r[j] = l.busyUs
				s.bytes += l.bytes
			}
		}
		s.linkBusy = append(s.linkBusy, r)
	}
	for _, u := range w.net.uplinks {
		u.advance()
		s.uplinkBusy = append(s.uplinkBusy, u.busyUs)
	}
	if w.o.SharedCores > 0 {
		w.nodes[0].host.advance()
		s.hostUsed = w.nodes[0].host.usedUs
	}
	return s
}

func (w *wanSim) snapshot() { w.base = w.takeSnapshot() }

// result turns the counters into figures over the window.
func (w *wanSim) result() *WANResult {
	end := w.takeSnapshot()
	winUs := w.endUs - w.warmupUs
	winS := winUs / 1e6
	r := &WANResult{OfferedPerS: w.o.OfferedPerS, Offered: w.offered, Committed: w.committed, EventsRun: w.clock.ran}
	if winS > 0 {
		r.CommittedPerS = float64(w.winTxs) / winS
		r.BlocksPerS = float64(w.winBlocks) / winS
	}
	if w.lastUs > w.firstUs {
		r.SteadyPerS = float64(w.afterFirstTxs) / ((w.lastUs - w.firstUs) / 1e6)
	}
	if w.offered > 0 {
		r.CommitRatio = float64(w.committed) / float64(w.offered)
	}
	r.P50Ms, r.P90Ms, r.P99Ms = w.hist.quantile(0.50), w.hist.quantile(0.90), w.hist.quantile(0.99)
	r.MeanMs, r.MaxMs = w.hist.mean(), w.hist.maxMs
	if w.early.n > 0 {
		r.EarlyMeanMs = w.early.sumMs / w.early.n
	}
	if w.late.n > 0 {
		r.LateMeanMs = w.late.sumMs / w.late.n
	}
	r.Blocks = w.winBlocks
	if w.winBlocks > 0 {
		r.TxsPerBlock = float64(w.winTxs) / float64(w.winBlocks)
	}
	r.ViewChanges = len(w.timeoutViews)
	w.utilisation(r, end, winUs)
	if w.violation != nil {
		r.Violation = w.violation.Error()
	}
	return r
}

func (w *wanSim) utilisation(r *WANResult, end wanSnapshot, winUs float64) {
	sum := 0.0
	for i, n := range w.nodes {
		cores := n.host.cores
		if w.o.SharedCores > 0 {
			cores /= float64(len(w.nodes))
		}
		u := (end.work[i] - w.base.work[i]) / (winUs * cores)
		sum += u
		r.CPUUtilMax = math.Max(r.CPUUtilMax, u)
		r.ExecLaneUtilMax = math.Max(r.ExecLaneUtilMax, (end.execBusy[i]-w.base.execBusy[i])/winUs)
		r.DriverLaneUtilMax = math.Max(r.DriverLaneUtilMax, (end.driverBusy[i]-w.base.driverBusy[i])/winUs)
	}
	r.CPUUtilMean = sum / float64(len(w.nodes))
	if w.o.SharedCores > 0 {
		// One host: its cores are the resource, whichever validator used them.
		r.CPUUtilMax = (end.hostUsed - w.base.hostUsed) / (winUs * w.nodes[0].host.cores)
	}
	for i, row := range end.linkBusy {
		for j := range row {
			r.LinkUtilMax = math.Max(r.LinkUtilMax, (row[j]-w.base.linkBusy[i][j])/winUs)
		}
	}
	for i := range end.uplinkBusy {
		r.UplinkUtilMax = math.Max(r.UplinkUtilMax, (end.uplinkBusy[i]-w.base.uplinkBusy[i])/winUs)
	}
	r.WireMbitPerS = (end.bytes - w.base.bytes) * 8 / winUs
	r.ProposalSendShare = w.proposalSendUs / winUs
}

// wanHist is a latency histogram with 1% buckets, weighted.
type wanHist struct {
	counts       []float64
	total, sumMs float64
	maxMs        float64
}

const (
	histMinMs  = 0.01
	histGrowth = 1.01
)

func newWANHist() *wanHist { return &wanHist{} }

func (h *wanHist) add(ms, weight float64) {
	ms = math.Max(ms, histMinMs)
	i := int(math.Log(ms/histMinMs) / math.Log(histGrowth))
	for len(h.counts) <= i {
		h.counts = append(h.counts, 0)
	}
	h.counts[i] += weight
	h.total += weight
	h.sumMs += ms * weight
	h.maxMs = math.Max(h.maxMs, ms)
}

// quantile is the upper edge of the bucket holding quantile q (0 when empty).
func (h *wanHist) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	acc := 0.0
	for i, c := range h.counts {
		acc += c
		if acc >= q*h.total {
			return math.Min(histMinMs*math.Pow(histGrowth, float64(i+1)), h.maxMs)
		}
	}
	return h.maxMs
}

func (h *wanHist) mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sumMs / h.total
}
