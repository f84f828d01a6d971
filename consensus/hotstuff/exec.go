package hotstuff

// execTracker remembers this validator's own state hashes and the hashes that
// committed blocks claim, so that a divergence is reported whichever comes first.
// Both maps are bounded by execKeptMax heights.
type execTracker struct {
	lastHeight uint64
	lastHash   Hash
	localHash  map[uint64]Hash
	claims     map[uint64]claim
}

type claim struct {
	hash     Hash
	proposer ValidatorIndex
	view     uint64
}

const execKeptMax = 1024

func newExecTracker(genesis Hash) execTracker {
	return execTracker{lastHash: genesis, localHash: map[uint64]Hash{0: genesis}, claims: map[uint64]claim{}}
}

func (e *execTracker) local(height uint64) (Hash, bool) {
	h, ok := e.localHash[height]
	return h, ok
}

func (e *execTracker) recordLocal(height uint64, h Hash) {
	if height >= e.lastHeight {
		e.lastHeight, e.lastHash = height, h
	}
	e.localHash[height] = h
	if height > execKeptMax { // the genesis (0) stays: a claim of it is always checkable
		delete(e.localHash, height-execKeptMax)
		delete(e.claims, height-execKeptMax)
	}
}

// forProposal picks the (height, hash) a new block on parent carries: this
// validator's latest executed height, capped twice. proven is the highest
// height the new block's own chain proves committed (forks.provenCommitted):
// a voter validating that chain commits it too, so it can execute and check
// the claim. A height committed only through a fork that lost (a crash, a
// partition) would be a claim some honest voters can never check, and with
// f faulty ones that stalls the chain. And parent.Height-2: the height that
// committed a whole view before the voters see the block, so they have
// normally executed it already; a claim any higher would make them wait
// for their execution and cost a second synced write per block.
//
// Claims need not grow along a chain: a lower claim a voter can check is
// worth more than a higher one it cannot.
func (e *execTracker) forProposal(parent *Block, proven uint64) (uint64, Hash) {
	h := min(e.lastHeight, proven)
	if parent.Height < 2 {
		h = 0
	} else {
		h = min(h, parent.Height-2)
	}
	if h == parent.ExecHeight {
		return parent.ExecHeight, parent.ExecStateHash
	}
	if hash, ok := e.localHash[h]; ok {
		return h, hash
	}
	return 0, e.localHash[0] // the genesis, which every validator knows
}

// ExecutedState tells the core the state hash after executing committed block
// height. A mismatch with what a committed block claimed is StateDivergence.
func (c *Core) ExecutedState(height uint64, stateHash Hash) {
	c.assertNotReadyOut()
	c.exec.recordLocal(height, stateHash)
	if cl, ok := c.exec.claims[height]; ok && cl.hash != stateHash {
		c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: StateDivergence, Validator: cl.proposer, View: cl.view, Height: height})
	}
	if p := c.awaitingExec; p != nil && p.block.ExecHeight <= c.exec.lastHeight {
		c.awaitingExec = nil
		if p.block.ExecHeight == height && stateHash != p.block.ExecStateHash {
			c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: StateDivergence, Validator: p.block.Proposer, View: p.block.View, Height: height})
			return
		}
		c.tryVote(p.block, p.tc)
	}
}

// checkExecClaim compares a committed block's state hash claim with ours.
func (c *Core) checkExecClaim(b *Block) {
	if local, ok := c.exec.local(b.ExecHeight); ok {
		if local != b.ExecStateHash {
			c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: StateDivergence, Validator: b.Proposer, View: b.View, Height: b.ExecHeight})
		}
		return
	}
	c.exec.claims[b.ExecHeight] = claim{hash: b.ExecStateHash, proposer: b.Proposer, view: b.View}
}
