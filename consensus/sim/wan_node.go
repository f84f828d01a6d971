package sim

import (
	"fmt"

	"settle/consensus/hotstuff"
)

// wanNode is one validator in WAN mode: the real core, driven as the cluster
// driver drives it (one goroutine: inputs one at a time, ticks first, a
// synced write before anything a Ready covers leaves), an assembler that
// waits for a full block or the block delay, a mempool of the transaction
// groups it has admitted, and an execution goroutine.
type wanNode struct {
	w      *wanSim
	idx    int
	signer FakeSigner
	core   *hotstuff.Core
	disk   *disk
	exec   Executor
	host   *cpuHost

	driver   *cpuLane // the core goroutine
	pool     *cpuLane // admission: client batches and gossip, batch-verified on all cores
	execLane *cpuLane // execution and the block's synced batch
	bg       *cpuLane // off the critical path: frames out, flushes, event streams

	mempool   []int32 // admitted groups, in admission order
	memHead   int     // every group before it is committed
	seen      []uint64
	gossipBuf []int32
	inbox     slotRing // gossip frames by the slot they are admitted in
	others    []int    // every other validator, the recipients of a broadcast

	asm          *wanAssembly
	lastTxHeight uint64 // highest committed height whose block carried transactions
	committedH   uint64
	qcSeen       uint64 // highest QC view whose signatures this validator checked or formed
	clientAcc    float64
	inFlight     int // sent by this validator's clients, not yet announced
	reaps        int
}

func newWANNode(w *wanSim, i int, host *cpuHost) *wanNode {
	var k [32]byte
	k[0], k[1], k[2] = byte(i), byte(i>>8), 0x77
	n := &wanNode{w: w, idx: i, signer: FakeSigner{Key: k}, disk: newDisk(), exec: NewHashChain(), host: host}
	for j := range w.o.Validators {
		if j != i {
			n.others = append(n.others, j)
		}
	}
	n.driver, n.pool, n.execLane, n.bg = host.newLane(i), host.newLane(i), host.newLane(i), host.newLane(i)
	return n
}

func (n *wanNode) boot(keys [][]byte) error {
	o := &n.w.o
	cfg := hotstuff.DefaultConfig()
	cfg.ChainID = "settle-sim"
	cfg.Validators = keys
	cfg.Signer = n.signer
	cfg.Verify = FakeVerify
	cfg.Storage = n.disk
	cfg.ViewTimeoutTicks, cfg.ViewTimeoutTicksMax = o.ViewTimeoutTicks, o.ViewTimeoutTicksMax
	cfg.FastTimeoutTicks = min(cfg.FastTimeoutTicks, cfg.ViewTimeoutTicks)
	st, err := n.disk.start(false)
	if err != nil {
		return err
	}
	if n.core, err = hotstuff.New(cfg, st); err != nil {
		return fmt.Errorf("wan: start validator %d: %w", n.idx, err)
	}
	n.driver.submit(&cpuTask{run: n.drain}, false)
	return nil
}

// workUs is the CPU this validator used so far.
func (n *wanNode) workUs() float64 {
	sum := 0.0
	for _, l := range []*cpuLane{n.driver, n.pool, n.execLane, n.bg} {
		_, w := l.stats()
		sum += w
	}
	return sum
}

func (n *wanNode) cores() float64 { return n.host.cores }

// background charges CPU that delays nothing on the critical path.
func (n *wanNode) background(workUs float64) {
	if workUs > 0 {
		n.bg.submit(&cpuTask{phases: []cpuPhase{{workUs: workUs}}}, false)
	}
}

// tick is the driver's ticker, serviced before other inputs.
func (n *wanNode) tick() {
	n.driver.submit(&cpuTask{phases: []cpuPhase{{workUs: 2}}, run: func() []laneStep {
		n.core.Tick()
		return n.drain()
	}}, true)
}

// drain performs every Ready the core has, in the core's order: the synced
// write first (the lane waits for it), then what it covers.
func (n *wanNode) drain() []laneStep {
	var steps []laneStep
	for n.core.HasReady() {
		rd := n.core.Ready()
		fx := &wanEffects{n: n}
		if err := hotstuff.Perform(&rd, fx); err != nil {
			n.w.violate(fmt.Errorf("validator %d: perform: %w", n.idx, err))
			return steps
		}
		n.core.Advance()
		if fx.lookup != 0 {
			if hash, ok := n.disk.execHashes[fx.lookup]; ok {
				n.core.ExecutedState(fx.lookup, hash)
			}
		}
		steps = append(steps, laneStep{waitUs: fx.persistUs, fn: fx.after})
	}
	n.qcSeen = max(n.qcSeen, n.core.Safety().HighQC.View)
	return steps
}

// wanEffects collects one Ready's actions; after performs them once the
// synced write is done.
type wanEffects struct {
	n         *wanNode
	persistUs float64
	sends     []hotstuff.Envelope
	commits   []*hotstuff.Block
	need      *hotstuff.PayloadRequest
	lookup    uint64
}

var _ hotstuff.Effects = (*wanEffects)(nil)

func (fx *wanEffects) Persist(safety *hotstuff.SafetyState, blocks []*hotstuff.Block) error {
	n := fx.n
	n.disk.persist(safety, blocks)
	bytes := 128.0 // the safety state and the batch's own records
	for _, b := range blocks {
		bytes += n.w.blockStoredBytes(b)
	}
	fx.persistUs = n.w.o.Costs.FsyncMs*1000 + bytes/(n.w.o.Costs.DiskBytesPerS/1e6)
	return nil
}

func (fx *wanEffects) Send(env hotstuff.Envelope) { fx.sends = append(fx.sends, env) }

func (fx *wanEffects) Commit(blocks []*hotstuff.Block) error {
	fx.commits = append(fx.commits, blocks...)
	return nil
}

func (fx *wanEffects) NeedPayload(req hotstuff.PayloadRequest) { fx.need = &req }
func (fx *wanEffects) Evidence(hotstuff.Evidence)              {}
func (fx *wanEffects) LookupExecuted(height uint64)            { fx.lookup = height }

func (fx *wanEffects) after() {
	for _, env := range fx.sends {
		fx.n.send(env)
	}
	for _, b := range fx.commits {
		fx.n.commit(b)
	}
	if fx.need != nil {
		fx.n.startAssembly(*fx.need)
	}
}

// send puts a consensus message on the wire to its recipients.
func (n *wanNode) send(env hotstuff.Envelope) {
	w := n.w
	var dests []int
	for j := range w.nodes {
		if j != n.idx && (env.Broadcast || hotstuff.ValidatorIndex(j) == env.To) {
			dests = append(dests, j)
		}
	}
	if len(dests) == 0 {
		return
	}
	if t, ok := env.Msg.(*hotstuff.Timeout); ok && w.clock.nowUs >= w.warmupUs {
		w.timeoutViews[t.View] = true
	}
	enc := hotstuff.EncodeMessage(env.Msg)
	raw, txBytes := w.messageBytes(env.Msg, len(enc))
	n.background(w.o.Costs.FrameUs * float64(len(dests)))
	from := n.idx
	var sent func(float64)
	if _, ok := env.Msg.(*hotstuff.Proposal); ok {
		sent = w.proposalSent(w.clock.nowUs)
	}
	w.net.send(from, dests, w.wireBytes(raw, txBytes), classConsensus, func(to int) { w.nodes[to].receive(from, enc) }, sent)
}

// receive queues a consensus message for the core goroutine, with the CPU
// its handling takes: decoding, the signatures not checked before, and the
// transaction signatures of a proposal this validator has not verified.
func (n *wanNode) receive(from int, enc []byte) {
	if n.w.violation != nil {
		return
	}
	m, err := hotstuff.DecodeMessage(enc)
	if err != nil {
		n.w.violate(fmt.Errorf("wan: a sent message does not decode: %w", err))
		return
	}
	serial, parallel := n.handlingCost(m)
	n.driver.submit(&cpuTask{phases: []cpuPhase{{workUs: serial}, {workUs: parallel, parallel: n.cores()}},
		run: func() []laneStep {
			_ = n.core.Step(hotstuff.ValidatorIndex(from), m) // refusals (stale, duplicate) are harmless
			return n.drain()
		}}, false)
}

// handlingCost is a message's CPU on its receiver: serial on the core
// goroutine, and parallel (batch verification of transactions it has not
// seen) on the verification pool.
func (n *wanNode) handlingCost(m hotstuff.Message) (serialUs, parallelUs float64) {
	c := &n.w.o.Costs
	serialUs = c.FrameUs
	qcSigs := func(q *hotstuff.QC) float64 {
		if q.View <= n.qcSeen {
			return 0 // verified before: the core caches QCs it checked
		}
		return float64(len(q.Sigs))
	}
	tcSigs := func(t *hotstuff.TC) float64 {
		if t == nil {
			return 0
		}
		return float64(len(t.Sigs)) + qcSigs(&t.HighQC)
	}
	blockCost := func(b *hotstuff.Block) {
		serialUs += c.BlockDriverUs + c.SigUs*(1+qcSigs(&b.QC))
		if p := n.w.payloadOf(b); p != nil {
			serialUs += float64(p.txs) * c.ProposalTxUs
			parallelUs += n.unseenTxs(p) * c.VerifyTxUs
		}
	}
	switch m := m.(type) {
	case *hotstuff.Proposal:
		blockCost(m.Block)
		serialUs += c.SigUs * tcSigs(m.TC)
	case *hotstuff.Vote:
		serialUs += c.SigUs
	case *hotstuff.Timeout:
		serialUs += c.SigUs * (1 + qcSigs(&m.HighQC) + tcSigs(m.LastTC))
	case *hotstuff.SyncResponse:
		for _, b := range m.Blocks {
			blockCost(b)
		}
	}
	return serialUs, parallelUs
}

// unseenTxs counts a payload's transactions this validator has not verified,
// and marks them verified (the node caches a validated payload's
// transactions).
func (n *wanNode) unseenTxs(p *wanPayload) float64 {
	unseen := 0.0
	for _, r := range p.ranges {
		if !n.hasSeen(r.g) {
			unseen += float64(r.to - r.from)
			n.markSeen(r.g)
		}
	}
	return unseen
}

func (n *wanNode) hasSeen(g int32) bool {
	i := int(g) / 64
	return i < len(n.seen) && n.seen[i]&(1<<(uint(g)%64)) != 0
}

func (n *wanNode) markSeen(g int32) {
	i := int(g) / 64
	for len(n.seen) <= i {
		n.seen = append(n.seen, 0)
	}
	n.seen[i] |= 1 << (uint(g) % 64)
}

// commit hands a committed block to execution: the executor applies it, the
// block's synced batch is written, then the validator announces it and tells
// the core its state.
func (n *wanNode) commit(b *hotstuff.Block) {
	w := n.w
	if b.Height != n.committedH+1 {
		w.violate(fmt.Errorf("validator %d committed height %d after %d", n.idx, b.Height, n.committedH))
	}
	n.committedH = b.Height
	n.disk.committed[b.Height] = b
	w.checkCommit(n, b)
	p := w.payloadOf(b)
	w.committedBlock(p)
	txs := 0.0
	if p != nil && p.txs > 0 {
		txs = float64(p.txs)
		n.lastTxHeight = b.Height
	}
	c := &w.o.Costs
	n.execLane.submit(&cpuTask{phases: []cpuPhase{{workUs: txs*c.ExecTxUs + c.BlockExecUs}}, run: func() []laneStep {
		writeUs := c.FsyncMs*1000 + (txs*c.CommitBytesPerTx+512)/(c.DiskBytesPerS/1e6)
		return []laneStep{{waitUs: writeUs, fn: func() { n.executed(b) }}}
	}}, false)
	n.background(txs * c.BackgroundTxUs)
}

// executed: the block is durable in the ledger; the node announces it and
// reports its state to the core.
func (n *wanNode) executed(b *hotstuff.Block) {
	state := n.exec.Execute(b)
	n.disk.root = b
	n.disk.execHeight, n.disk.execHash = b.Height, state
	n.disk.execHashes[b.Height] = state
	n.w.checkState(n, b.Height, state)
	if err := n.exec.CheckInvariants(); err != nil {
		n.w.violate(fmt.Errorf("validator %d at height %d: %w", n.idx, b.Height, err))
	}
	n.w.announce(b)
	n.driver.submit(&cpuTask{phases: []cpuPhase{{workUs: 2}}, run: func() []laneStep {
		n.core.ExecutedState(b.Height, state)
		return n.drain()
	}}, false)
}
