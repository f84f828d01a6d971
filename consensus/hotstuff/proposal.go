package hotstuff

import (
	"errors"
	"fmt"
	"slices"
)

// errParked means a block waits for its parent; not an error for the sender.
var errParked = errors.New("hotstuff: block parked until its parent arrives")

// Propose answers a NeedPayload: it builds, signs and broadcasts the block for
// view on the parent the request named, and votes for it. Errors: ErrNoPending
// when no payload was asked for this view (or the view has passed, or the high
// QC moved to another block since the request: the payload was chosen for the
// old parent's chain, and a new NeedPayload names the new parent),
// ErrInvalidPayload when the payload is too large.
func (c *Core) Propose(req PayloadRequest, payload []byte) error {
	c.assertNotReadyOut()
	view := req.View
	if view != c.pm.view || c.payloadView != view || req.Parent != c.payloadParent {
		return fmt.Errorf("propose view %d on %s (current view %d): %w", view, req.Parent, c.pm.view, ErrNoPending)
	}
	if len(payload) > c.cfg.PayloadBytesMax {
		return fmt.Errorf("propose view %d: payload of %d bytes exceeds %d: %w", view, len(payload), c.cfg.PayloadBytesMax, ErrInvalidPayload)
	}
	c.payloadView = 0
	hq := c.safety.HighQC
	// INVARIANT: the block extends the parent its payload was chosen for: a
	// payload selected against another chain could carry its transactions again.
	if hq.BlockHash != c.payloadParent {
		panic("hotstuff: the high QC moved without a new payload request")
	}
	parent, ok := c.forks.get(hq.BlockHash)
	if !ok {
		panic("hotstuff: NeedPayload was emitted without the parent block")
	}
	execHeight, execHash := c.exec.forProposal(parent, c.forks.provenCommitted(parent))
	b := &Block{
		Parent: parent.Hash(), View: view, Height: parent.Height + 1, QC: hq,
		Proposer: c.self, Payload: payload, ExecHeight: execHeight, ExecStateHash: execHash,
	}
	b.Signature = c.cfg.Signer.Sign(proposalSignBytes(c.cfg.ChainID, b.Hash()))
	p := &Proposal{Block: b}
	if hq.View+1 != view {
		p.TC = c.safety.HighTC
	}
	// The proposal leaves only if this validator accepts its own block, and
	// before the vote for it that accepting queues.
	at := len(c.ready.Messages)
	if err := c.acceptProposal(c.self, p); err != nil {
		return fmt.Errorf("propose view %d: own block rejected: %w", view, err)
	}
	c.ready.Messages = slices.Insert(c.ready.Messages, at, Envelope{Broadcast: true, Msg: p})
	// INVARIANT: a leader proposes at most once per view, even across a restart.
	if c.safety.LastVotedView < view {
		c.safety.LastVotedView = view
		c.markSafetyDirty()
	}
	return nil
}

func (c *Core) onProposal(from ValidatorIndex, p *Proposal) error {
	if p.Block == nil {
		return fmt.Errorf("%w: proposal without a block", ErrMalformed)
	}
	return c.acceptProposal(from, p)
}

// acceptProposal verifies a proposal, detects equivocation, processes its
// certificates, inserts its block and votes if the safety rules allow.
func (c *Core) acceptProposal(from ValidatorIndex, p *Proposal) error {
	b := p.Block
	if err := c.verifyBlock(b, p.TC, true); err != nil {
		return fmt.Errorf("block view %d: %w", b.View, err)
	}
	if prev, ok := c.seenProposals[b.View]; ok && prev.Hash() != b.Hash() {
		c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: EquivocatingProposal, Validator: b.Proposer,
			View: b.View, First: &Proposal{Block: prev}, Second: p})
		return fmt.Errorf("block view %d: %w: second proposal %s after %s", b.View, ErrEquivocation, b.Hash(), prev.Hash())
	} else if !ok && b.View+uint64(c.cfg.ViewsAheadMax) >= c.pm.view {
		c.seenProposals[b.View] = b
	}
	if _, ok := c.forks.get(b.Hash()); ok {
		return fmt.Errorf("block view %d: %w", b.View, ErrDuplicate)
	}
	c.processQC(&b.QC, from)
	if p.TC != nil {
		c.processTC(p.TC, from)
	}
	c.noteRecovery(b.Proposer, b.View)
	if b.Height > c.sync.known {
		c.sync.known, c.sync.hint = b.Height, from
	}
	return c.insertBlock(pendingBlock{block: b, tc: p.TC, from: from})
}

// verifyBlock checks a block's shape, signature and certificates. Proposals must
// prove their view: a QC for the previous view, or a TC for it (withTC).
func (c *Core) verifyBlock(b *Block, tc *TC, withTC bool) error {
	switch {
	case !c.vals.valid(b.Proposer):
		return fmt.Errorf("proposer %d: %w", b.Proposer, ErrUnknownValidator)
	case c.vals.leader(b.View) != b.Proposer:
		return fmt.Errorf("proposer %d, leader %d: %w", b.Proposer, c.vals.leader(b.View), ErrWrongLeader)
	case b.Parent != b.QC.BlockHash || b.QC.View >= b.View || b.Height == 0:
		return fmt.Errorf("%w: parent, QC or height inconsistent", ErrInvalidBlock)
	case len(b.Payload) > c.cfg.PayloadBytesMax:
		return fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrInvalidBlock, len(b.Payload), c.cfg.PayloadBytesMax)
	}
	if withTC && (b.QC.View+1 == b.View) != (tc == nil) {
		return fmt.Errorf("%w: a TC is required exactly when the QC is not for the previous view", ErrInvalidBlock)
	}
	if tc != nil && tc.View+1 != b.View {
		return fmt.Errorf("%w: TC of view %d for block of view %d", ErrInvalidBlock, tc.View, b.View)
	}
	if !c.cfg.Verify(c.vals.keys[b.Proposer], proposalSignBytes(c.cfg.ChainID, b.Hash()), b.Signature) {
		return fmt.Errorf("block by %d: %w", b.Proposer, ErrBadSignature)
	}
	if err := c.cert.verifyQC(&b.QC); err != nil {
		return err
	}
	if tc != nil {
		return c.cert.verifyTC(tc)
	}
	return nil
}

// insertBlock adds a verified block whose parent is known, or parks it and
// fetches the parent; then it inserts any parked descendants.
func (c *Core) insertBlock(first pendingBlock) error {
	queue := []pendingBlock{first}
	var firstErr error
	for len(queue) > 0 {
		pb := queue[0]
		queue = queue[1:]
		err := c.insertOne(pb)
		if err == nil {
			queue = append(queue, c.forks.unpark(pb.block.Hash())...)
		} else if firstErr == nil && err != errParked {
			firstErr = err
		}
	}
	c.maybeRequestPayload()
	return firstErr
}

func (c *Core) insertOne(pb pendingBlock) error {
	b := pb.block
	if b.Height <= c.forks.root.Height {
		return fmt.Errorf("block height %d at or below committed %d: %w", b.Height, c.forks.root.Height, ErrStale)
	}
	parent, ok := c.forks.get(b.Parent)
	if !ok {
		if b.Height > c.forks.root.Height+c.window() {
			c.requestRanges() // far behind: the ranges bring it, in order
			return errParked
		}
		if !c.forks.park(pb) {
			return fmt.Errorf("parking block %s: %w", b.Hash(), ErrFull)
		}
		if b.Height > c.forks.root.Height+uint64(c.cfg.SyncBlocksMax) || len(c.sync.inflight) > 0 {
			c.requestRanges()
		} else {
			c.fetch(b.Parent, pb.from, &b.QC)
		}
		return errParked
	}
	if err := c.validateBlock(b, parent, pb.certified); err != nil {
		return fmt.Errorf("block %s view %d: %w", b.Hash(), b.View, err)
	}
	c.forks.add(b)
	c.ready.Blocks = append(c.ready.Blocks, b)
	c.commitFor(parent)
	if c.safety.HighQC.BlockHash == b.Hash() {
		c.commitFor(b)
	}
	c.tryVote(b, pb.tc)
	return nil
}

// validateBlock checks a block against its parent, the execution record and the
// payload hook (skipped for a block a verified QC certifies).
func (c *Core) validateBlock(b, parent *Block, certified bool) error {
	switch {
	case b.Height != parent.Height+1:
		return fmt.Errorf("%w: height %d on parent height %d", ErrInvalidBlock, b.Height, parent.Height)
	case b.View <= parent.View:
		return fmt.Errorf("%w: view %d on parent view %d", ErrInvalidBlock, b.View, parent.View)
	case b.ExecHeight > parent.Height:
		return fmt.Errorf("%w: exec height %d above the parent's height %d", ErrInvalidBlock, b.ExecHeight, parent.Height)
	case b.ExecHeight == parent.ExecHeight && b.ExecStateHash != parent.ExecStateHash:
		return fmt.Errorf("%w: exec state hash changed without a new exec height", ErrInvalidBlock)
	}
	if local, ok := c.exec.local(b.ExecHeight); ok && local != b.ExecStateHash {
		c.ready.Evidence = append(c.ready.Evidence, Evidence{Kind: StateDivergence, Validator: b.Proposer, View: b.View, Height: b.ExecHeight})
		return fmt.Errorf("%w: state hash at height %d differs from ours", ErrInvalidBlock, b.ExecHeight)
	}
	if c.cfg.ValidatePayload != nil && !certified {
		if err := c.cfg.ValidatePayload(b.Payload); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
		}
	}
	return nil
}

// pendingVote is a vote held back until this validator's execution catches up.
type pendingVote struct {
	block *Block
	tc    *TC
}

// tryVote votes for b if it is in the current view and the safety rules allow.
// INVARIANT: LastVotedView is raised (and so persisted in this Ready) before the
// vote is queued.
//
// A validator votes only for a block whose state claim it has checked against
// its own execution: a QC then proves the claim to a light client, because at
// least f+1 of its signers are honest and executed that height to that hash
// (docs/consensus.md, "Execution state hashes"). A block whose ExecHeight this
// validator has not executed yet waits in awaitingExec until ExecutedState
// reaches it or the view moves on.
func (c *Core) tryVote(b *Block, tc *TC) {
	if b.View != c.pm.view || c.recovery != nil || !c.safety.safeToVote(b, tc) {
		return
	}
	local, ok := c.exec.local(b.ExecHeight)
	if !ok {
		c.awaitingExec = &pendingVote{block: b, tc: tc}
		if b.ExecHeight <= c.exec.lastHeight {
			c.ready.ExecLookup = b.ExecHeight // executed, but forgotten
		}
		return
	}
	if local != b.ExecStateHash { // INVARIANT: validateBlock refused such a block
		panic("hotstuff: voting for a block whose state claim differs from ours")
	}
	c.safety.LastVotedView = b.View
	c.markSafetyDirty()
	v := &Vote{View: b.View, BlockHash: b.Hash(), Voter: c.self}
	v.Signature = c.cfg.Signer.Sign(voteSignBytes(c.cfg.ChainID, v.View, v.BlockHash))
	next := c.vals.leader(b.View + 1)
	c.send(next, v)
	// A dead next leader would waste this block: its votes reach nobody who
	// can form the QC. The leader after it collects them too; it then enters
	// the next view with the QC, that view times out fast (its leader is
	// unreachable), and the block survives into the view after.
	if c.unreachable.Has(next) {
		if after := c.vals.leader(b.View + 2); after != next {
			c.send(after, v)
		}
	}
}
