package hotstuff

// processQC takes a verified QC: it may raise the high QC (the lock), commit
// blocks, and move the pacemaker to the QC's view + 1.
func (c *Core) processQC(q *QC, from ValidatorIndex) {
	if q.View > c.safety.HighQC.View {
		c.safety.HighQC = *q
		c.markSafetyDirty()
		if c.payloadView == c.pm.view && c.payloadParent != q.BlockHash {
			// The leader's block must extend the new high QC's block, and the
			// payload being assembled was chosen for the old parent's chain.
			c.payloadView = 0
			defer c.maybeRequestPayload()
		}
	}
	if b1, ok := c.forks.get(q.BlockHash); ok {
		c.commitFor(b1)
	} else if q.View > c.forks.root.View {
		c.fetch(q.BlockHash, from, q)
	}
	c.advance(q.View + 1)
}

// processTC takes a verified TC and moves the pacemaker past its view.
func (c *Core) processTC(t *TC, from ValidatorIndex) {
	if c.safety.HighTC == nil || t.View > c.safety.HighTC.View {
		c.safety.HighTC = t
		c.markSafetyDirty()
	}
	c.processQC(&t.HighQC, from)
	c.advance(t.View + 1)
}

// advance enters view if it is higher than the current one.
func (c *Core) advance(view uint64) {
	if view <= c.pm.view {
		return
	}
	c.pm.enter(view, c.safety.HighQC.View)
	c.votes.prune(view - 1)
	c.timeouts.prune(view)
	for v := range c.seenProposals {
		if v+uint64(c.cfg.ViewsAheadMax) < view {
			delete(c.seenProposals, v)
		}
	}
	c.maybeRequestPayload()
}

// commitFor applies the commit rule to certified block b1 and emits the commits.
func (c *Core) commitFor(b1 *Block) {
	chain := c.forks.toCommit(b1)
	if len(chain) == 0 {
		return
	}
	for _, b := range chain {
		// INVARIANT: commits are emitted in height order, each extending the last.
		if b.Height != c.forks.root.Height+1 || b.Parent != c.forks.root.Hash() {
			panic("hotstuff: committed chain is not contiguous")
		}
		c.forks.commit(b)
		c.ready.Committed = append(c.ready.Committed, b)
		c.checkExecClaim(b)
	}
}

// maybeRequestPayload asks the driver for a payload when this validator leads the
// current view, may still propose in it, and knows the block it must extend.
func (c *Core) maybeRequestPayload() {
	view := c.pm.view
	if c.vals.leader(view) != c.self || c.payloadView == view || c.recovery != nil {
		return
	}
	if view <= max(c.safety.LastVotedView, c.safety.LastTimeoutView) {
		return
	}
	hq := c.safety.HighQC
	if hq.View+1 != view && (c.safety.HighTC == nil || c.safety.HighTC.View+1 != view) {
		return // INVARIANT: views are entered through a QC or TC of the view before
	}
	parent, ok := c.forks.get(hq.BlockHash)
	if !ok {
		c.fetch(hq.BlockHash, c.self, &hq)
		return
	}
	c.payloadView, c.payloadParent = view, parent.Hash()
	c.ready.NeedPayload = &PayloadRequest{View: view, Height: parent.Height + 1, Parent: parent.Hash()}
}

// fetch asks a peer for a missing block, at most once per base timeout per hash.
// The peer is from, or, when from is this validator, a signer of q.
func (c *Core) fetch(h Hash, from ValidatorIndex, q *QC) {
	if c.forks.isParked(h) || c.farBehind() {
		// Far behind, the block is near the others' tip: the ranges bring it in
		// order, and an answer walking back from it would be verified only to be
		// dropped (outside the parking window).
		return
	}
	if last, ok := c.fetching[h]; ok && c.ticks-last < uint64(c.cfg.ViewTimeoutTicks) {
		return
	}
	if from == c.self {
		from = c.otherSigner(q)
	}
	if len(c.fetching) >= c.cfg.PendingBlocksMax {
		clear(c.fetching) // bounded; forgetting only allows an early re-ask
	}
	c.fetching[h] = c.ticks
	c.ready.Fetches = append(c.ready.Fetches, Fetch{From: from, Hash: h, CountMax: uint16(c.cfg.SyncBlocksMax)})
}

func (c *Core) otherSigner(q *QC) ValidatorIndex {
	// Rotate through the candidates on every re-ask, so that one silent peer
	// cannot stall sync.
	var cands []ValidatorIndex
	if q != nil {
		for _, i := range q.Signers.Indices() {
			if i != c.self {
				cands = append(cands, i)
			}
		}
	}
	if len(cands) == 0 {
		for i := 0; i < c.vals.n(); i++ {
			if ValidatorIndex(i) != c.self {
				cands = append(cands, ValidatorIndex(i))
			}
		}
	}
	if len(cands) == 0 {
		return c.self
	}
	return cands[int(c.ticks/uint64(c.cfg.ViewTimeoutTicks))%len(cands)]
}
