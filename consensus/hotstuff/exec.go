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
// validator's latest, unless execution lags behind what the parent already says.
func (e *execTracker) forProposal(parent *Block) (uint64, Hash) {
	if e.lastHeight > parent.ExecHeight && e.lastHeight <= parent.Height {
		return e.lastHeight, e.lastHash
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
