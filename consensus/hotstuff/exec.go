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
	if height >= execKeptMax {
		delete(e.localHash, height-execKeptMax)
		delete(e.claims, height-execKeptMax)
	}
}

// forProposal picks the (height, hash) a new block on parent carries: this
// validator's latest, but no higher than parent.Height-2, unless execution
// lags behind what the parent already says. The cap is what the voters have
// had a whole view to execute: a block at parent.Height+1 commits parent.Height-1
// on arrival, while parent.Height-2 committed a view earlier, when the parent
// arrived. A voter waits to execute the claimed height before it votes (see
// tryVote), so a claim any higher would cost it a second synced write per block.
func (e *execTracker) forProposal(parent *Block) (uint64, Hash) {
	h := e.lastHeight
	if parent.Height < 2 {
		h = 0
	} else {
		h = min(h, parent.Height-2)
	}
	if h > parent.ExecHeight {
		if hash, ok := e.localHash[h]; ok {
			return h, hash
		}
	}
	return parent.ExecHeight, parent.ExecStateHash
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
