package sim

import (
	"math"

	"settle/consensus/hotstuff"
)

// The WAN mode's transaction path: a client batch reaches one validator,
// which verifies and admits it and gossips it to every other validator; each
// of them verifies and admits it too; leaders assemble blocks from what they
// have admitted.

// clientBatch is the load generator's window at this validator: what came
// due is sent as one request (loadgen routes by sender, so each validator
// gets 1/n of the load).
func (n *wanNode) clientBatch() {
	w := n.w
	k := n.dueTxs()
	if k == 0 {
		return
	}
	n.inFlight += k
	g := w.newGroup(n.idx, k)
	c := &w.o.Costs
	work := float64(k)*(c.VerifyTxUs+c.ClientTxUs) + c.FrameUs
	w.clock.after(w.o.ClientOneWayMs*1000, func() {
		n.pool.submit(&cpuTask{phases: []cpuPhase{{workUs: work, parallel: n.cores()}},
			run: func() []laneStep { n.admit(g); return nil }}, false)
	})
}

// dueTxs is what the client sends this window: its share of the rate
// (fractions carried over), or in a closed loop what tops its share of the
// in-flight count up again.
func (n *wanNode) dueTxs() int {
	w := n.w
	nv := len(w.nodes)
	if w.o.ClosedK > 0 {
		share := w.o.ClosedK / nv
		if n.idx < w.o.ClosedK%nv {
			share++
		}
		return max(share-n.inFlight, 0)
	}
	n.clientAcc += w.o.OfferedPerS / float64(nv) * w.o.ClientBatchMs / 1000
	k := int(n.clientAcc)
	n.clientAcc -= float64(k)
	return k
}

// admit puts a verified group in the mempool; the validator a client sent
// it to also queues it for gossip.
func (n *wanNode) admit(g int32) {
	grp := &n.w.groups[g]
	n.markSeen(g)
	if grp.committedTo >= grp.count {
		return // a block carried it already: the mempool refuses it
	}
	n.mempool = append(n.mempool, g)
	if grp.origin == n.idx {
		n.gossipBuf = append(n.gossipBuf, g)
	}
	n.admitted(int(grp.count - grp.committedTo))
}

// gossipOut is the gossip timer: what this validator's clients brought since
// the last one goes to every other validator, in frames of at most
// GossipFrameTxMax transactions (whole groups).
func (n *wanNode) gossipOut() {
	if len(n.gossipBuf) == 0 || len(n.w.nodes) < 2 {
		return
	}
	buf := n.gossipBuf
	n.gossipBuf = nil
	for len(buf) > 0 {
		k, txs := 0, 0
		for k < len(buf) && (k == 0 || txs+int(n.w.groups[buf[k]].count) <= WANGossipFrameTxMaxDefault) {
			txs += int(n.w.groups[buf[k]].count)
			k++
		}
		n.sendGossip(buf[:k:k], txs)
		buf = buf[k:]
	}
}

func (n *wanNode) sendGossip(frame []int32, txs int) {
	w := n.w
	dests := n.others
	txBytes := float64(txs) * w.txWireBytes()
	n.background(w.o.Costs.FrameUs * float64(len(dests)))
	w.net.sendTimed(n.idx, dests, w.wireBytes(txnBatchHeaderBytes+txBytes, txBytes), classGossip,
		func(to int, atUs float64) { w.nodes[to].gossipArrived(frame, atUs) }, nil)
}

// gossipSlotUs is how often a validator admits the gossip frames that
// arrived: 1 ms up to 20 validators, growing to 5 ms at 100 and more. One
// admission task per slot instead of one per frame keeps large clusters
// cheap to simulate (a hundred validators send each other 2 million frames a
// second); it delays admission by half a slot on average, against views of
// hundreds of milliseconds at that size.
func gossipSlotUs(validators int) float64 {
	return 1000 * min(max(float64(validators)/20, 1), 5)
}

// gossipArrived files a frame arriving at atUs for admission at the end of
// its slot.
func (n *wanNode) gossipArrived(frame []int32, atUs float64) {
	slotUs := n.w.slotUs
	slot := int64(atUs/slotUs) + 1
	if n.inbox.add(slot, frame) {
		n.w.clock.at(float64(slot)*slotUs, func() { n.admitSlot(slot) })
	}
}

// slotRing files gossip frames by admission slot: a ring indexed by slot,
// since arrivals fall within a window of slots ahead of now (a map's lookup
// per arrival was a third of a 100-validator run). It grows when a slot lies
// beyond it.
type slotRing struct {
	slots  []int64 // the slot each entry holds; valid where frames is non-nil
	frames [][][]int32
	spare  [][][]int32 // emptied frame lists, reused
}

// add files frame under slot and reports whether the slot is new.
func (r *slotRing) add(slot int64, frame []int32) bool {
	if len(r.slots) == 0 {
		r.grow(256)
	}
	i := int(slot % int64(len(r.slots)))
	if r.frames[i] != nil && r.slots[i] != slot {
		r.grow(2 * len(r.slots))
		return r.add(slot, frame)
	}
	fresh := r.frames[i] == nil
	if fresh {
		r.slots[i] = slot
		if k := len(r.spare); k > 0 {
			r.frames[i], r.spare = r.spare[k-1][:0], r.spare[:k-1]
		} else {
			r.frames[i] = make([][]int32, 0, 16)
		}
	}
	r.frames[i] = append(r.frames[i], frame)
	return fresh
}

func (r *slotRing) grow(size int) {
	old, oldFrames := r.slots, r.frames
	r.slots, r.frames = make([]int64, size), make([][][]int32, size)
	for k, f := range oldFrames {
		if f != nil {
			i := int(old[k] % int64(size))
			r.slots[i], r.frames[i] = old[k], f
		}
	}
}

// take removes and returns a slot's frames.
func (r *slotRing) take(slot int64) [][]int32 {
	i := int(slot % int64(len(r.slots)))
	f := r.frames[i]
	r.frames[i] = nil
	return f
}

// recycle gives back a frame list once its admission ran.
func (r *slotRing) recycle(f [][]int32) { r.spare = append(r.spare, f) }

func (n *wanNode) admitSlot(slot int64) {
	frames := n.inbox.take(slot)
	c := &n.w.o.Costs
	work := c.FrameUs * float64(len(frames))
	for _, f := range frames {
		for _, g := range f {
			grp := &n.w.groups[g]
			work += float64(grp.count) * c.GossipTxUs
			if !n.hasSeen(g) && grp.committedTo < grp.count {
				work += float64(grp.count) * c.VerifyTxUs
			}
		}
	}
	n.pool.submit(&cpuTask{phases: []cpuPhase{{workUs: work, parallel: n.cores()}}, run: func() []laneStep {
		for _, f := range frames {
			for _, g := range f {
				n.admit(g)
			}
		}
		n.inbox.recycle(frames)
		return nil
	}}, false)
}

// wanAssembly is a leader's block assembly under way (mempool.NextBatch):
// it closes on a full block, or the block delay after it first saw a ready
// transaction; with nothing ready, an idle leader proposes an empty block
// after its idle delay, and a quiet one waits.
type wanAssembly struct {
	req          hotstuff.PayloadRequest
	chain        map[int32]int32 // group → what the chain from the parent carries of it
	avail        int
	waitingFirst bool
}

// startAssembly answers the core's NeedPayload as cluster.startAssembly
// does.
func (n *wanNode) startAssembly(req hotstuff.PayloadRequest) {
	w := n.w
	a := &wanAssembly{req: req} // replaces any assembly under way: its timers see n.asm changed
	var carries bool
	a.chain, carries = n.chainFrom(req.Parent)
	a.avail = n.countAvail(a.chain, w.o.BlockTxMax)
	n.asm = a
	delayUs := w.o.BlockDelayMs * 1000
	idleUs := math.Max(w.o.EmptyBlockDelayMs, w.o.BlockDelayMs) * 1000
	switch {
	case carries:
		idleUs = delayUs
	case n.core.Committed().ExecHeight >= n.lastTxHeight:
		idleUs = 0 // quiet: wait for a transaction, however long
	}
	switch {
	case a.avail >= w.o.BlockTxMax:
		n.reap(a)
		return
	case a.avail > 0:
		n.reapAfter(a, delayUs)
	default:
		a.waitingFirst = true
	}
	if idleUs > 0 {
		// The assembler's context: when it ends first, NextBatch gives up and
		// the block goes out empty. (With the block delay as the idle delay both
		// timers end together; the mempool's, started later, is measured to win
		// nearly always, so the reap above is scheduled first and wins here.)
		w.clock.after(idleUs, func() {
			if n.asm == a {
				n.asm = nil
				n.propose(a.req, nil)
			}
		})
	}
}

func (n *wanNode) reapAfter(a *wanAssembly, delayUs float64) {
	n.w.clock.after(delayUs, func() {
		if n.asm == a {
			n.reap(a)
		}
	})
}

// admitted tells an assembly under way that count transactions became ready.
func (n *wanNode) admitted(count int) {
	a := n.asm
	if a == nil || count <= 0 {
		return
	}
	a.avail += count
	if a.waitingFirst {
		a.waitingFirst = false
		n.reapAfter(a, n.w.o.BlockDelayMs*1000)
	}
	if a.avail >= n.w.o.BlockTxMax {
		n.reap(a)
	}
}

// chainFrom is what the blocks from parent down to the committed root carry
// of each group, and whether they carry anything.
func (n *wanNode) chainFrom(parent hotstuff.Hash) (map[int32]int32, bool) {
	chain := map[int32]int32{}
	carries := false
	root := n.core.Committed().Height
	for h := parent; ; {
		b, ok := n.disk.blocks[h]
		if !ok || b.Height <= root {
			break
		}
		if p := n.w.payloadOf(b); p != nil && p.txs > 0 {
			carries = true
			for _, r := range p.ranges {
				chain[r.g] = max(chain[r.g], r.to)
			}
		}
		h = b.Parent
	}
	return chain, carries
}

// next is where a group's transactions not yet carried begin, on a chain.
func (n *wanNode) next(chain map[int32]int32, g int32) int32 {
	return max(n.w.groups[g].committedTo, chain[g])
}

// countAvail counts ready transactions (admitted, not carried by the chain
// or committed), up to limit.
func (n *wanNode) countAvail(chain map[int32]int32, limit int) int {
	n.skipCommitted()
	avail := 0
	for i := n.memHead; i < len(n.mempool) && avail < limit; i++ {
		g := n.mempool[i]
		avail += int(max(n.w.groups[g].count-n.next(chain, g), 0))
	}
	return avail
}

// skipCommitted moves past committed groups at the head, and now and then
// drops committed groups further in.
func (n *wanNode) skipCommitted() {
	gs := n.w.groups
	for n.memHead < len(n.mempool) && gs[n.mempool[n.memHead]].committedTo >= gs[n.mempool[n.memHead]].count {
		n.memHead++
	}
	n.reaps++
	if n.reaps%64 != 0 && n.memHead < 4096 {
		return
	}
	kept := n.mempool[:0]
	for _, g := range n.mempool[n.memHead:] {
		if gs[g].committedTo < gs[g].count {
			kept = append(kept, g)
		}
	}
	n.mempool, n.memHead = kept, 0
}

// reap takes up to a block of ready transactions, oldest first, and
// proposes them.
func (n *wanNode) reap(a *wanAssembly) {
	n.asm = nil
	limit := int32(n.w.o.BlockTxMax)
	p := &wanPayload{}
	for i := n.memHead; i < len(n.mempool) && int32(p.txs) < limit; i++ {
		g := n.mempool[i]
		from := n.next(a.chain, g)
		take := min(n.w.groups[g].count-from, limit-int32(p.txs))
		if take > 0 {
			p.ranges = append(p.ranges, wanRange{g: g, from: from, to: from + take})
			p.txs += int(take)
		}
	}
	var payload []byte
	if p.txs > 0 {
		payload = n.w.token(p)
	}
	n.propose(a.req, payload)
}

// propose hands the payload to the core on the core goroutine, after the
// leader's CPU for selecting, encoding and compressing it.
func (n *wanNode) propose(req hotstuff.PayloadRequest, payload []byte) {
	c := &n.w.o.Costs
	work := c.BlockDriverUs
	if p := n.w.payloadOfBytes(payload); p != nil {
		work += float64(p.txs) * c.ProposalTxUs
	}
	n.driver.submit(&cpuTask{phases: []cpuPhase{{workUs: work}}, run: func() []laneStep {
		_ = n.core.Propose(req, payload) // ErrNoPending: the view moved on; the transactions stay ready
		return n.drain()
	}}, false)
}

func (w *wanSim) payloadOfBytes(payload []byte) *wanPayload {
	return w.payloadOf(&hotstuff.Block{Payload: payload})
}
